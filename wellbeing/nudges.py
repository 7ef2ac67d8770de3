"""The weekly check-in nudge, at the practitioner's chosen weekday and time in their zone.

Occurrence key: the ISO week in the practitioner's zone ("2026-W48"), so it goes out once
a week. Someone who already checked in that week is not nudged.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.notifications import NotificationKind, Reminder, preferences_for
from models.reminder_time import at_local, zone
from models.staff import Role, Staff
from models.wellbeing import CheckIn


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
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime
) -> list[Reminder]:
    """Check-in nudges due in one organisation at `now` (practitioners only)."""
    stmt = select(Staff).where(col(Staff.organisation_id) == organisation_id, col(Staff.active))
    people = [s for s in (await session.exec(stmt)).all() if Role.practitioner.value in s.roles]
    prefs = await preferences_for(session, [p.id for p in people])
    out: list[Reminder] = []
    for person in people:
        pref = prefs.get(person.id)
        if pref is None:
            continue
        week = nudge_week(now, pref.timezone, pref.checkin_nudge_weekday, pref.checkin_nudge_time)
        if week is None:
            continue
        occurrence, week_start = week
        done = select(col(CheckIn.id)).where(
            col(CheckIn.organisation_id) == organisation_id,
            col(CheckIn.staff_id) == person.id,
            col(CheckIn.taken_at) >= week_start,
        )
        if (await session.exec(done.limit(1))).first() is not None:
            continue
        out.append(
            Reminder(
                organisation_id, person.id, NotificationKind.checkin_nudge, person.id, occurrence
            )
        )
    return out
