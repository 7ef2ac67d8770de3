"""Oversight's lateness of pending sessions, found once per time zone
(`supervision.oversight.rollup._late_before`), against the rule read literally: a moment's
deadline is the write-up (or sign-off) deadline of its local day, late once that deadline
is before today. Every quarter hour over seven weeks around each clock change, in zones
east and west of UTC, with bank holidays and closure days in the way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from supervision.oversight.rollup import _late_before
from supervision.policy import CadencePolicy, sign_off_due_on, write_up_due_on

POLICY = CadencePolicy(
    write_up_working_days=5,
    sign_off_working_days=3,
    # Easter 2026 (Good Friday, Easter Monday) and a closure day the week after.
    closed_days=frozenset({date(2026, 4, 3), date(2026, 4, 6), date(2026, 4, 9)}),
)


def _moments(start: datetime, days: int) -> list[datetime]:
    return [start + timedelta(minutes=15 * n) for n in range(days * 24 * 4)]


@pytest.mark.parametrize(
    "zone",
    # London and Santiago change their clocks; Santiago at midnight, so a local midnight
    # is skipped in spring (September there); None is the UTC fallback of an unknown zone.
    [ZoneInfo("Europe/London"), ZoneInfo("America/Santiago"), ZoneInfo("Asia/Kolkata"), None],
)
@pytest.mark.parametrize(
    "today",
    [date(2026, 4, 13), date(2026, 4, 1), date(2026, 11, 2), date(2026, 9, 10)],
)
@pytest.mark.parametrize("due_on", [write_up_due_on, sign_off_due_on])
def test_one_instant_a_zone_marks_exactly_the_late_moments(
    zone: ZoneInfo | None, today: date, due_on: Callable[[CadencePolicy, date], date]
) -> None:
    deadline = partial(due_on, POLICY)
    cutoff = _late_before(deadline, today, zone)
    start = datetime.combine(today - timedelta(days=40), datetime.min.time(), tzinfo=UTC)
    for at in _moments(start, 45):
        local_day = at.astimezone(zone).date() if zone is not None else at.date()
        assert (at < cutoff) == (deadline(local_day) < today), at
