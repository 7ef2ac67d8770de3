"""The cadence policy engine: pure date arithmetic, no I/O (Standard 5 for employers).

Everything here takes dates and returns dates, so the rules can be tested at every boundary
and reused by status, oversight and reminders alike.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from models.calendar import DEFAULT_NATION, Nation
from models.directory.staff import Cohort
from models.supervision import SessionKind


@dataclass(frozen=True, slots=True)
class CadencePolicy:
    """An organisation's supervision policy. The defaults are Standard 5's."""

    asye_weekly_weeks: int = 6
    asye_weekly_interval_days: int = 7
    asye_fortnightly_months: int = 6
    asye_fortnightly_interval_days: int = 14
    asye_interval_days: int = 28
    qualified_interval_days: int = 28
    manager_interval_days: int = 28
    student_interval_days: int = 7
    other_interval_days: int = 28
    minimum_minutes: int = 90
    counted_kinds: frozenset[SessionKind] = frozenset({SessionKind.one_to_one})
    write_up_working_days: int = 5
    sign_off_working_days: int = 5
    bank_holidays: frozenset[date] = field(default_factory=frozenset)
    # Group supervision: how many attendees a group session invites.
    group_min_attendees: int = 4
    group_max_attendees: int = 10
    # Supervision agreements: reviewed this many months after a relationship's first
    # agreement starts, then this many months after each later version starts.
    agreement_first_review_months: int = 3
    agreement_review_months: int = 12
    nation: Nation = DEFAULT_NATION
    # Every non-working day besides weekends the deadlines skip: `bank_holidays` plus the
    # nation's bank holidays and the organisation's closure days, loaded by
    # `policy_store.load_policy` (the engine itself stays pure: this set is its input).
    closed_days: frozenset[date] = field(default_factory=frozenset)


DEFAULT_POLICY = CadencePolicy()


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, clamped to the month's last day (31 Aug + 6 = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def agreement_review_due_on(policy: CadencePolicy, starts_on: date, *, first: bool) -> date:
    """When an agreement starting on `starts_on` is due for review: 3 months after the first
    agreement of a relationship starts, then yearly (policy values; month ends clamp)."""
    months = policy.agreement_first_review_months if first else policy.agreement_review_months
    return add_months(starts_on, months)


def interval_on(policy: CadencePolicy, cohort: Cohort, started_on: date, on: date) -> int:
    """The interval (days) in force for someone of `cohort` on `on`.

    ASYE: weekly while `on` is within the first `asye_weekly_weeks` weeks after `started_on`,
    fortnightly until `asye_fortnightly_months` months after it, then the monthly interval.
    """
    if cohort is Cohort.asye:
        if on < started_on + timedelta(weeks=policy.asye_weekly_weeks):
            return policy.asye_weekly_interval_days
        if on < add_months(started_on, policy.asye_fortnightly_months):
            return policy.asye_fortnightly_interval_days
        return policy.asye_interval_days
    if cohort is Cohort.qualified:
        return policy.qualified_interval_days
    if cohort is Cohort.manager:
        return policy.manager_interval_days
    if cohort is Cohort.student:
        return policy.student_interval_days
    return policy.other_interval_days


def counts_toward_cadence(policy: CadencePolicy, kind: SessionKind, held_minutes: int) -> bool:
    """Only held sessions of a counted kind lasting at least the minimum count (caller: held)."""
    return kind in policy.counted_kinds and held_minutes >= policy.minimum_minutes


Span = tuple[date, date]


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching inclusive date spans merged, sorted."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + timedelta(days=1):
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def days_absent(spans: Sequence[Span], start: date, end: date) -> int:
    """How many distinct days in `start`..`end` (inclusive) fall inside `spans` (merged)."""
    total = 0
    for s, e in spans:
        lo, hi = max(s, start), min(e, end)
        if lo <= hi:
            total += (hi - lo).days + 1
    return total


def next_due_on(
    policy: CadencePolicy,
    cohort: Cohort,
    started_on: date,
    last_counted_on: date | None,
    absences: Iterable[Span] = (),
) -> date:
    """When the next counted session is due.

    Last counted session + the interval in force on that date; with none, `started_on` +
    the interval in force on `started_on`. Every day of absence inside the window (the day
    after the last session, or `started_on`, up to the due date) pushes the due date one day
    later; days of absence inside the extension count too, so the result is a fixed point.
    """
    anchor = last_counted_on if last_counted_on is not None else started_on
    base = anchor + timedelta(days=interval_on(policy, cohort, started_on, anchor))
    window_start = anchor + timedelta(days=1) if last_counted_on is not None else started_on
    spans = merge_spans(absences)
    due = base
    while True:
        extended = base + timedelta(days=days_absent(spans, window_start, due))
        if extended == due:
            return due
        due = extended


def absence_window_from(started_on: date, last_counted_on: date | None, today: date) -> date:
    """The earliest day an absence can still matter to `cadence` for one person: one ending
    before their window (the day after their last counted session, or their start) and
    before today changes no due date and no `on_leave`."""
    start = last_counted_on + timedelta(days=1) if last_counted_on is not None else started_on
    return min(start, today)


def days_overdue(next_due: date, today: date) -> int:
    return max(0, (today - next_due).days)


def on_leave(absences: Iterable[Span], today: date) -> bool:
    return any(start <= today <= end for start, end in absences)


@lru_cache(maxsize=4096)
def add_working_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date `days` working days after `start` (weekends and `holidays` skipped).

    Cached: oversight and the sweep ask it for the deadlines of every pending session, and
    a council's sessions fall on a few hundred distinct days."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def non_working(policy: CadencePolicy) -> frozenset[date]:
    """The days besides weekends that are not working days under `policy`."""
    return policy.bank_holidays | policy.closed_days


def write_up_due_on(policy: CadencePolicy, held_on: date) -> date:
    """The last day the record of a session held on `held_on` is on time: `held_on` plus
    the policy's working days, skipping weekends, bank holidays and closure days (5 working
    days after a Friday before a bank holiday Monday is the Monday after next)."""
    return add_working_days(held_on, policy.write_up_working_days, non_working(policy))


def sign_off_due_on(policy: CadencePolicy, recorded_on: date) -> date:
    """The last day a record written on `recorded_on` may be signed on time (the same
    working-day rule)."""
    return add_working_days(recorded_on, policy.sign_off_working_days, non_working(policy))


@dataclass(frozen=True, slots=True)
class Cadence:
    interval_days: int
    last_held_on: date | None
    next_due_on: date
    days_overdue: int
    on_leave: bool


def cadence(
    policy: CadencePolicy,
    cohort: Cohort,
    started_on: date,
    last_counted_on: date | None,
    absences: Sequence[Span],
    today: date,
) -> Cadence:
    """Someone's cadence status on `today` (the interval shown is the one in force today)."""
    due = next_due_on(policy, cohort, started_on, last_counted_on, absences)
    return Cadence(
        interval_days=interval_on(policy, cohort, started_on, today),
        last_held_on=last_counted_on,
        next_due_on=due,
        days_overdue=days_overdue(due, today),
        on_leave=on_leave(absences, today),
    )
