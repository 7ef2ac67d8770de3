"""The weekly check-in nudge, at the practitioner's chosen weekday and time in their zone.

Occurrence key: the ISO week in the practitioner's zone ("2026-W48"), so it goes out once
a week. Someone who already checked in that week is not nudged.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import one_of
from models.directory.staff import Role, Staff
from models.notifications.outbox import NotificationKind, Reminder
from models.notifications.preferences import Preferences, preferences_for
from models.notifications.reminder_time import at_local, zone
from models.wellbeing import CheckIn

_PRACTITIONER = Role.practitioner.value


def nudge_week(
    now: datetime, timezone: str, weekday: int | None, at: time | None
) -> tuple[str, datetime] | None:
    """(occurrence key, start of that local week in UTC) once this week's nudge time has
    passed in `timezone`; None before it, or with no nudge chosen."""
    if weekday is None or at is None:
        return None
    local = now.astimezone(zone(timezone))
    year, week, today = local.isocalendar()
    monday = local.date() - timedelta(days=today - 1)
    slot = at_local(monday + timedelta(days=weekday - 1), at, timezone)
    if now < slot:
        return None
    return f"{year}-W{week:02d}", at_local(monday, time(0, 0), timezone)


async def due_nudges(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    now: datetime,
    *,
    preferences: Mapping[uuid.UUID, Preferences] | None = None,
) -> list[Reminder]:
    """Check-in nudges due in one organisation at `now` (practitioners only): two queries for
    the people and their preferences (none for the preferences when the caller has read
    everyone's), one for when each of them last checked in."""
    stmt = select(col(Staff.id), col(Staff.roles)).where(
        col(Staff.organisation_id) == organisation_id, col(Staff.active)
    )
    people = [sid for sid, roles in (await session.exec(stmt)).all() if _PRACTITIONER in roles]
    prefs = (
        preferences
        if preferences is not None
        else await preferences_for(session, organisation_id, people)
    )
    weeks: dict[uuid.UUID, tuple[str, datetime]] = {}
    for person in people:
        pref = prefs.get(person)
        if pref is None:
            continue
        week = nudge_week(now, pref.timezone, pref.checkin_nudge_weekday, pref.checkin_nudge_time)
        if week is not None:
            weeks[person] = week
    if not weeks:
        return []
    latest = select(col(CheckIn.staff_id), func.max(col(CheckIn.taken_at))).where(
        col(CheckIn.organisation_id) == organisation_id,
        one_of(session, col(CheckIn.staff_id), weeks),
        col(CheckIn.taken_at) >= min(start for _, start in weeks.values()),
    )
    last: dict[uuid.UUID, datetime] = dict(
        (await session.exec(latest.group_by(col(CheckIn.staff_id)))).all()
    )
    return [
        Reminder(organisation_id, staff_id, NotificationKind.checkin_nudge, staff_id, occurrence)
        for staff_id, (occurrence, week_start) in sorted(weeks.items())
        if staff_id not in last or last[staff_id] < week_start
    ]
