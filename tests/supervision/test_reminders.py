"""Each supervision reminder and the check-in nudge at its boundaries, clock passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from models.notifications.outbox import NotificationKind as K
from supervision.policy import DEFAULT_POLICY, Cadence
from supervision.practice_reminders import agreement_review, group_upcoming
from supervision.reminders import (
    Found,
    action_due,
    cadence_reminders,
    record_not_signed,
    record_not_written,
    upcoming,
)
from wellbeing.nudges import nudge_week

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
KEY = START.isoformat()


def test_upcoming_session_windows() -> None:
    assert upcoming(START, START - timedelta(hours=24, seconds=1)) == []
    assert upcoming(START, START - timedelta(hours=24)) == [Found(K.session_upcoming_24h, KEY)]
    assert upcoming(START, START - timedelta(hours=1, seconds=1)) == [
        Found(K.session_upcoming_24h, KEY)
    ]
    assert upcoming(START, START - timedelta(hours=1)) == [Found(K.session_upcoming_1h, KEY)]
    assert upcoming(START, START - timedelta(seconds=1)) == [Found(K.session_upcoming_1h, KEY)]
    assert upcoming(START, START) == []


def status(due: date, today: date) -> Cadence:
    return Cadence(28, None, due, max(0, (today - due).days), on_leave=False)


def test_cadence_due_soon_overdue_and_escalation() -> None:
    due = date(2026, 12, 1)
    key = due.isoformat()

    def at(days: int) -> dict[str, Found]:
        today = due + timedelta(days=days)
        return cadence_reminders(status(due, today), today)

    assert at(-4) == {}
    assert at(-3) == {"self": Found(K.supervision_due_soon, key)}
    assert at(0) == {"self": Found(K.supervision_due_soon, key)}
    assert at(1) == {
        "self": Found(K.supervision_overdue, key),
        "supervisor": Found(K.supervisee_overdue, key),
    }
    assert "manager" not in at(13)
    assert at(14)["manager"] == Found(K.overdue_escalation, key)


def test_record_deadlines_use_policy_working_days() -> None:
    held = date(2026, 11, 20)  # a Friday: 5 working days later is Friday 27th
    assert record_not_written(DEFAULT_POLICY, held, date(2026, 11, 27)) is None
    assert record_not_written(DEFAULT_POLICY, held, date(2026, 11, 28)) == Found(
        K.record_not_written, "2026-11-27"
    )
    assert record_not_signed(DEFAULT_POLICY, held, date(2026, 11, 27)) is None
    assert record_not_signed(DEFAULT_POLICY, held, date(2026, 11, 30)) == Found(
        K.record_not_signed, "2026-11-27"
    )


def test_action_due_from_its_day() -> None:
    due = date(2026, 11, 23)
    assert action_due(due, date(2026, 11, 22)) is None
    assert action_due(due, due) == Found(K.action_due, "2026-11-23")
    assert action_due(due, date(2026, 11, 30)) == Found(K.action_due, "2026-11-23")


def test_nudge_at_chosen_local_day_and_time() -> None:
    # Friday 14:00 in London; in summer that is 13:00 UTC.
    friday = datetime(2026, 7, 3, 12, 59, tzinfo=UTC)
    assert nudge_week(friday, "Europe/London", 5, time(14, 0)) is None
    due = nudge_week(friday + timedelta(minutes=1), "Europe/London", 5, time(14, 0))
    assert due is not None
    assert due[0] == "2026-W27"
    assert due[1] == datetime(2026, 6, 28, 23, 0, tzinfo=UTC)  # Monday 00:00 BST
    # Still the same occurrence later that week; a new one next week.
    sunday = nudge_week(datetime(2026, 7, 5, 20, 0, tzinfo=UTC), "Europe/London", 5, time(14, 0))
    assert sunday is not None
    assert sunday[0] == "2026-W27"
    assert (
        nudge_week(datetime(2026, 7, 6, 9, 0, tzinfo=UTC), "Europe/London", 5, time(14, 0)) is None
    )
    assert nudge_week(friday, "Europe/London", None, None) is None


def test_nudge_week_is_the_local_week() -> None:
    # Sunday 23:30 UTC is already Monday 08:30 in Auckland: a new week there.
    now = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    due = nudge_week(now, "Pacific/Auckland", 1, time(8, 0))
    assert due is not None
    assert due[0] == "2026-W48"
    # In London it is still Sunday of week 47, whose Monday nudge time has long passed.
    london = nudge_week(now, "Europe/London", 1, time(8, 0))
    assert london is not None
    assert london[0] == "2026-W47"


def test_agreement_review_windows() -> None:
    review = date(2026, 12, 10)
    assert agreement_review(review, date(2026, 11, 25)) is None
    assert agreement_review(review, date(2026, 11, 26)) is K.agreement_review_due  # 14 days
    assert agreement_review(review, review) is K.agreement_review_due
    assert agreement_review(review, date(2026, 12, 11)) is K.agreement_review_overdue
    assert agreement_review(review, date(2027, 6, 1)) is K.agreement_review_overdue


def test_group_session_windows() -> None:
    assert group_upcoming(START, START - timedelta(hours=24, seconds=1)) is None
    assert group_upcoming(START, START - timedelta(hours=24)) is K.group_session_upcoming_24h
    assert group_upcoming(START, START - timedelta(hours=1, seconds=1)) is (
        K.group_session_upcoming_24h
    )
    assert group_upcoming(START, START - timedelta(hours=1)) is K.group_session_upcoming_1h
    assert group_upcoming(START, START - timedelta(seconds=1)) is K.group_session_upcoming_1h
    assert group_upcoming(START, START) is None
