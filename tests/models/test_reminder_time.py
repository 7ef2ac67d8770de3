"""Quiet hours in the recipient's zone, across Europe/London's clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from models.notifications.reminder_time import at_local, deliver_after, in_quiet_hours, on_leave

LONDON = "Europe/London"
QUIET = (time(22, 0), time(8, 0))


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("wall", "quiet"),
    [
        (time(21, 59), False),
        (time(22, 0), True),
        (time(2, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
    ],
)
def test_window_spanning_midnight(wall: time, quiet: bool) -> None:
    assert in_quiet_hours(wall, *QUIET) is quiet


def test_window_within_a_day_and_empty_window() -> None:
    assert in_quiet_hours(time(13, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(14, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(3, 0), time(0, 0), time(0, 0))


def test_outside_quiet_hours_is_now_and_no_quiet_hours_is_now() -> None:
    now = utc(2026, 11, 23, 12, 0)
    assert deliver_after(now, LONDON, *QUIET) == now
    assert deliver_after(utc(2026, 11, 23, 23, 0), LONDON, None, None) == utc(2026, 11, 23, 23, 0)


def test_before_midnight_defers_to_next_morning_in_winter() -> None:
    assert deliver_after(utc(2026, 11, 23, 22, 30), LONDON, *QUIET) == utc(2026, 11, 24, 8, 0)


def test_after_midnight_defers_to_same_morning_in_summer_time() -> None:
    # 02:00 UTC in July is 03:00 BST; 08:00 BST is 07:00 UTC.
    assert deliver_after(utc(2026, 7, 1, 2, 0), LONDON, *QUIET) == utc(2026, 7, 1, 7, 0)


def test_clocks_go_forward_overnight() -> None:
    # Saturday 28 March 2026 23:00 GMT; clocks go forward at 01:00 on Sunday 29 March.
    # The quiet hours end at 08:00 BST, which is 07:00 UTC.
    assert deliver_after(utc(2026, 3, 28, 23, 0), LONDON, *QUIET) == utc(2026, 3, 29, 7, 0)


def test_clocks_go_back_overnight() -> None:
    # Saturday 24 October 2026 22:30 BST (21:30 UTC); clocks go back at 02:00 on Sunday 25th.
    # The quiet hours end at 08:00 GMT, which is 08:00 UTC.
    assert deliver_after(utc(2026, 10, 24, 21, 30), LONDON, *QUIET) == utc(2026, 10, 25, 8, 0)


def test_quiet_hours_ending_in_the_skipped_hour_end_after_the_jump() -> None:
    # Quiet 00:00-01:30 on 29 March 2026: 01:30 does not exist in London that night.
    now = utc(2026, 3, 29, 0, 30)  # 00:30 GMT, inside the window
    end = deliver_after(now, LONDON, time(0, 0), time(1, 30))
    assert end == utc(2026, 3, 29, 1, 30)  # 02:30 BST: as many minutes after the jump
    assert end > now


def test_other_zones_use_their_own_clock() -> None:
    # 03:00 UTC is 22:00 the previous evening in New York (EST): quiet until 08:00 EST.
    assert deliver_after(utc(2026, 11, 24, 3, 0), "America/New_York", *QUIET) == utc(
        2026, 11, 24, 13, 0
    )


def test_at_local_and_leave() -> None:
    assert at_local(date(2026, 6, 1), time(9, 0), LONDON) == utc(2026, 6, 1, 8, 0)
    spans = [(date(2026, 11, 20), date(2026, 11, 23))]
    assert on_leave(spans, date(2026, 11, 23))
    assert not on_leave(spans, date(2026, 11, 24))
