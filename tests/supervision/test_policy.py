"""The cadence engine at every boundary (pure: dates in, dates out)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from models.directory.staff import Cohort
from models.supervision import SessionKind
from supervision.policy import (
    DEFAULT_POLICY,
    add_months,
    add_working_days,
    cadence,
    counts_toward_cadence,
    days_overdue,
    interval_on,
    merge_spans,
    next_due_on,
)

START = date(2026, 1, 5)  # a Monday


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (START, 7),
        (START + timedelta(days=41), 7),  # last day of week 6
        (START + timedelta(days=42), 14),  # first day after six weeks
        (date(2026, 7, 4), 14),  # the day before six months
        (date(2026, 7, 5), 28),  # six months to the day
        (date(2027, 3, 1), 28),
    ],
)
def test_asye_interval_changes_at_six_weeks_and_six_months(on: date, expected: int) -> None:
    assert interval_on(DEFAULT_POLICY, Cohort.asye, START, on) == expected


@pytest.mark.parametrize(
    ("cohort", "expected"),
    [
        (Cohort.qualified, 28),
        (Cohort.manager, 28),
        (Cohort.student, 7),
        (Cohort.other, 28),
    ],
)
def test_other_cohorts_have_one_interval(cohort: Cohort, expected: int) -> None:
    for on in (START, START + timedelta(days=100), START + timedelta(days=400)):
        assert interval_on(DEFAULT_POLICY, cohort, START, on) == expected


def test_six_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)


def test_interval_in_force_on_the_last_session_date_decides_the_due_date() -> None:
    # Held on the last weekly day: a week later, although fortnightly by then.
    last = START + timedelta(days=41)
    assert next_due_on(DEFAULT_POLICY, Cohort.asye, START, last) == last + timedelta(days=7)
    # Held the next day: fortnightly.
    last = START + timedelta(days=42)
    assert next_due_on(DEFAULT_POLICY, Cohort.asye, START, last) == last + timedelta(days=14)
    # Held the day before six months: still fortnightly; on it: monthly.
    assert next_due_on(DEFAULT_POLICY, Cohort.asye, START, date(2026, 7, 4)) == date(2026, 7, 18)
    assert next_due_on(DEFAULT_POLICY, Cohort.asye, START, date(2026, 7, 5)) == date(2026, 8, 2)


def test_no_counted_session_is_due_interval_days_after_starting() -> None:
    assert next_due_on(DEFAULT_POLICY, Cohort.asye, START, None) == START + timedelta(days=7)
    assert next_due_on(DEFAULT_POLICY, Cohort.qualified, START, None) == START + timedelta(days=28)
    assert next_due_on(DEFAULT_POLICY, Cohort.student, START, None) == START + timedelta(days=7)


def test_absence_inside_the_window_extends_the_due_date_by_its_days() -> None:
    last = date(2026, 3, 2)
    base = last + timedelta(days=28)  # 30 March
    leave = [(date(2026, 3, 9), date(2026, 3, 13))]  # five days
    assert next_due_on(DEFAULT_POLICY, Cohort.qualified, START, last, leave) == base + timedelta(
        days=5
    )


def test_absence_before_the_last_session_or_on_its_day_does_not_count() -> None:
    last = date(2026, 3, 2)
    base = last + timedelta(days=28)
    before = [(date(2026, 2, 20), date(2026, 3, 2))]
    assert next_due_on(DEFAULT_POLICY, Cohort.qualified, START, last, before) == base
    after_due = [(base + timedelta(days=1), base + timedelta(days=10))]
    assert next_due_on(DEFAULT_POLICY, Cohort.qualified, START, last, after_due) == base


def test_absence_starting_on_the_due_date_pushes_it_past_the_whole_absence() -> None:
    last = date(2026, 3, 2)
    base = last + timedelta(days=28)
    leave = [(base, base + timedelta(days=13))]  # two weeks from the due date
    due = next_due_on(DEFAULT_POLICY, Cohort.qualified, START, last, leave)
    assert due == base + timedelta(days=14)


def test_overlapping_absences_count_each_day_once() -> None:
    last = date(2026, 3, 2)
    leave = [(date(2026, 3, 9), date(2026, 3, 13)), (date(2026, 3, 11), date(2026, 3, 16))]
    assert merge_spans(leave) == [(date(2026, 3, 9), date(2026, 3, 16))]
    due = next_due_on(DEFAULT_POLICY, Cohort.qualified, START, last, leave)
    assert due == last + timedelta(days=28 + 8)


def test_absence_without_any_session_counts_from_the_start_date() -> None:
    leave = [(START, START + timedelta(days=2))]
    assert next_due_on(DEFAULT_POLICY, Cohort.qualified, START, None, leave) == START + timedelta(
        days=31
    )


@pytest.mark.parametrize(
    ("kind", "minutes", "counts"),
    [
        (SessionKind.one_to_one, 90, True),
        (SessionKind.one_to_one, 89, False),
        (SessionKind.group, 120, False),
        (SessionKind.case, 120, False),
        (SessionKind.peer, 120, False),
    ],
)
def test_only_long_enough_one_to_ones_count_by_default(
    kind: SessionKind, minutes: int, counts: bool
) -> None:
    assert counts_toward_cadence(DEFAULT_POLICY, kind, minutes) is counts


def test_policy_can_count_group_sessions_and_lower_the_minimum() -> None:
    policy = replace(
        DEFAULT_POLICY,
        counted_kinds=frozenset({SessionKind.one_to_one, SessionKind.group}),
        minimum_minutes=60,
    )
    assert counts_toward_cadence(policy, SessionKind.group, 60)
    assert not counts_toward_cadence(policy, SessionKind.group, 59)


def test_days_overdue_is_never_negative() -> None:
    due = date(2026, 3, 30)
    assert days_overdue(due, date(2026, 3, 29)) == 0
    assert days_overdue(due, due) == 0
    assert days_overdue(due, date(2026, 3, 31)) == 1


def test_working_days_skip_weekends_and_bank_holidays() -> None:
    friday = date(2026, 3, 27)
    assert add_working_days(friday, 1) == date(2026, 3, 30)  # Monday
    assert add_working_days(friday, 5) == date(2026, 4, 3)
    easter = frozenset({date(2026, 4, 3), date(2026, 4, 6)})  # Good Friday, Easter Monday
    assert add_working_days(friday, 5, easter) == date(2026, 4, 7)
    saturday = date(2026, 3, 28)
    assert add_working_days(saturday, 1) == date(2026, 3, 30)
    assert add_working_days(friday, 0) == friday


def test_status_shows_todays_interval_and_leave() -> None:
    leave = [(date(2026, 2, 10), date(2026, 2, 12))]
    result = cadence(
        DEFAULT_POLICY, Cohort.asye, START, date(2026, 2, 13), leave, date(2026, 2, 11)
    )
    # 13 Feb is day 39 after 5 Jan: still the weekly phase. The leave was before it.
    assert result.interval_days == 7
    assert result.next_due_on == date(2026, 2, 20)
    assert result.on_leave is True
    assert result.days_overdue == 0
