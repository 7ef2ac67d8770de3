"""Notification preferences: quiet hours, the weekly check-in nudge, the push switch.

The time zone lives on the staff record (one source of truth: `PATCH /staff/{id}` and
`PUT /me/preferences` write the same column). Someone who never saved preferences has the
defaults below. Reads carry a content ETag; a replace needs it back in If-Match.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import datetime, time

import sqlalchemy as sa
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.base import TenantTable, utc_column
from models.db import one_of
from models.directory.staff import Staff
from models.errors import Invalid, NotFound
from models.etag import content_etag, require_tag


class NotificationPreferences(TenantTable, table=True):
    """A staff member's quiet hours, check-in nudge and push switch (time zone is on staff)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "staff_id"),)

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    quiet_hours_start: time | None = Field(default=None)
    quiet_hours_end: time | None = Field(default=None)
    # ISO weekday, 1 = Monday ... 7 = Sunday; None: no nudge.
    checkin_nudge_weekday: int | None = Field(default=None)
    checkin_nudge_time: time | None = Field(default=None)
    push_enabled: bool = Field(default=True)
    updated_at: datetime = utc_column()


# Defaults for someone who never saved preferences: quiet 21:00-08:00, Monday 09:00 nudge.
DEFAULT_QUIET_START = time(21, 0)
DEFAULT_QUIET_END = time(8, 0)
DEFAULT_NUDGE_WEEKDAY = 1
DEFAULT_NUDGE_TIME = time(9, 0)


@dataclass(frozen=True)
class Preferences:
    """Preferences as reminders use them: defaults filled in, the staff time zone attached."""

    timezone: str
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    checkin_nudge_weekday: int | None
    checkin_nudge_time: time | None
    push_enabled: bool

    @property
    def etag(self) -> str:
        return content_etag(*astuple(self))


def effective(staff_timezone: str, stored: NotificationPreferences | None) -> Preferences:
    if stored is None:
        return Preferences(
            timezone=staff_timezone,
            quiet_hours_start=DEFAULT_QUIET_START,
            quiet_hours_end=DEFAULT_QUIET_END,
            checkin_nudge_weekday=DEFAULT_NUDGE_WEEKDAY,
            checkin_nudge_time=DEFAULT_NUDGE_TIME,
            push_enabled=True,
        )
    return Preferences(
        timezone=staff_timezone,
        quiet_hours_start=stored.quiet_hours_start,
        quiet_hours_end=stored.quiet_hours_end,
        checkin_nudge_weekday=stored.checkin_nudge_weekday,
        checkin_nudge_time=stored.checkin_nudge_time,
        push_enabled=stored.push_enabled,
    )


async def _stored(session: AsyncSession, actor: Actor) -> NotificationPreferences | None:
    stmt = select(NotificationPreferences).where(
        col(NotificationPreferences.organisation_id) == actor.organisation_id,
        col(NotificationPreferences.staff_id) == actor.id,
    )
    return (await session.exec(stmt)).first()


async def _staff(session: AsyncSession, actor: Actor, *, lock: bool = False) -> Staff:
    stmt = select(Staff).where(
        col(Staff.organisation_id) == actor.organisation_id, col(Staff.id) == actor.id
    )
    staff = (await session.exec(stmt.with_for_update() if lock else stmt)).first()
    if staff is None:
        raise NotFound("No such staff member.")
    return staff


async def get_preferences(session: AsyncSession, actor: Actor) -> Preferences:
    """My preferences (defaults until I save any); the time zone is my staff record's."""
    staff = await _staff(session, actor)
    return effective(staff.timezone, await _stored(session, actor))


async def preferences_for(
    session: AsyncSession, organisation_id: uuid.UUID, staff_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Preferences]:
    """Effective preferences of several staff of one organisation (for sweeps): one query for
    each table."""
    wanted = list(set(staff_ids))
    if not wanted:
        return {}
    return await _effective_preferences(session, organisation_id, wanted)


async def organisation_preferences(
    session: AsyncSession, organisation_id: uuid.UUID
) -> dict[uuid.UUID, Preferences]:
    """Effective preferences of every active staff member of one organisation: a sweep reads
    them once and hands them to each of its steps (`api.delivery.sweep`)."""
    return await _effective_preferences(session, organisation_id, None)


async def _effective_preferences(
    session: AsyncSession, organisation_id: uuid.UUID, wanted: list[uuid.UUID] | None
) -> dict[uuid.UUID, Preferences]:
    """`wanted`'s effective preferences (None: everyone's), of active staff only."""
    # A leaver gets no reminder, even as someone's supervisor or manager.
    people = [col(Staff.organisation_id) == organisation_id, col(Staff.active)]
    saved = [col(NotificationPreferences.organisation_id) == organisation_id]
    if wanted is not None:
        people.append(one_of(session, col(Staff.id), wanted))
        saved.append(one_of(session, col(NotificationPreferences.staff_id), wanted))
    zones = (await session.exec(select(col(Staff.id), col(Staff.timezone)).where(*people))).all()
    stored = {
        row.staff_id: row
        for row in (await session.exec(select(NotificationPreferences).where(*saved))).all()
    }
    return {sid: effective(timezone, stored.get(sid)) for sid, timezone in zones}


async def update_preferences(
    session: AsyncSession, actor: Actor, values: Preferences, if_match: str | None, now: datetime
) -> Preferences:
    """Replace my preferences if `if_match` names what I read; the time zone is written to my
    staff record.

    The staff row is locked first, so two replaces by the same person (two phones, the
    first save of all included) run one after the other: the second sees the first's row
    and its ETag, and is refused with 412 rather than overwriting it unseen.
    """
    if (values.quiet_hours_start is None) != (values.quiet_hours_end is None):
        raise Invalid("Quiet hours need both a start and an end, or neither.")
    if (values.checkin_nudge_weekday is None) != (values.checkin_nudge_time is None):
        raise Invalid("The check-in nudge needs both a weekday and a time, or neither.")
    staff = await _staff(session, actor, lock=True)
    stored = await _stored(session, actor)
    require_tag(if_match, effective(staff.timezone, stored).etag)
    if staff.timezone != values.timezone:
        staff.timezone = values.timezone
        staff.version += 1
        staff.updated_at = now
        session.add(staff)
    if stored is None:
        stored = NotificationPreferences(
            organisation_id=actor.organisation_id, staff_id=actor.id, updated_at=now
        )
    stored.quiet_hours_start = values.quiet_hours_start
    stored.quiet_hours_end = values.quiet_hours_end
    stored.checkin_nudge_weekday = values.checkin_nudge_weekday
    stored.checkin_nudge_time = values.checkin_nudge_time
    stored.push_enabled = values.push_enabled
    stored.updated_at = now
    session.add(stored)
    await session.flush()
    return effective(staff.timezone, stored)
