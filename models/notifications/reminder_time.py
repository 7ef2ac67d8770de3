"""When a reminder may reach someone: their time zone, quiet hours and leave (pure).

Shared by supervision reminders and wellbeing nudges, so it lives in models.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    """The named IANA zone, falling back to UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_date(now: datetime, timezone: str) -> date:
    return now.astimezone(zone(timezone)).date()


def at_local(day: date, at: time, timezone: str) -> datetime:
    """`day` at wall-clock `at` in `timezone`, as UTC.

    A wall time that does not exist (the hour skipped when clocks go forward) resolves to
    the same number of minutes after the jump; an ambiguous one (clocks going back) to its
    first occurrence (fold=0).
    """
    local = datetime.combine(day, at, tzinfo=zone(timezone))
    return local.astimezone(UTC)


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether wall time `local` falls in [start, end), a window that may span midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def deliver_after(
    now: datetime, timezone: str, quiet_start: time | None, quiet_end: time | None
) -> datetime:
    """`now`, or the end of the recipient's quiet hours if `now` falls inside them."""
    if quiet_start is None or quiet_end is None:
        return now
    local = now.astimezone(zone(timezone))
    wall = local.time().replace(tzinfo=None)
    if not in_quiet_hours(wall, quiet_start, quiet_end):
        return now
    end_day = local.date()
    if wall >= quiet_end:  # inside a window that spans midnight, before midnight
        end_day += timedelta(days=1)
    return max(now, at_local(end_day, quiet_end, timezone))


def on_leave(spans: Iterable[tuple[date, date]], today: date) -> bool:
    return any(start <= today <= end for start, end in spans)
