"""Absences (leave, sickness): they pause the supervision clock and silence reminders."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.actor import Actor
from models.base import TenantTable, utc_column
from models.db import is_postgresql, one_of
from models.directory.staff import Role, Staff
from models.errors import NotFound
from models.pagination import Keyset, keyset_page
from models.scope import managed_staff


class AbsenceKind(StrEnum):
    annual_leave = "annual_leave"
    sickness = "sickness"
    parental_leave = "parental_leave"
    other = "other"


class Absence(TenantTable, table=True):
    """Days `staff_id` is away, `starts_on` to `ends_on` inclusive."""

    __tablename__ = "absences"
    __table_args__ = (
        sa.Index("ix_absences_org_staff_ends", "organisation_id", "staff_id", "ends_on"),
        sa.CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    starts_on: date
    ends_on: date
    kind: AbsenceKind = Field(sa_type=sa.String(20))
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    created_at: datetime = utc_column()


# --- domain functions (shared: supervision pauses the clock, reminders stay quiet) ----------


def absence_managers_scope(actor: Actor) -> SelectOfScalar[uuid.UUID]:
    """Staff whose absences the caller may record and read besides their own."""
    stmt = select(col(Staff.id)).where(col(Staff.organisation_id) == actor.organisation_id)
    if actor.has(Role.admin):
        return stmt
    if actor.has(Role.manager):
        return stmt.where(col(Staff.id).in_(managed_staff(actor)))
    return stmt.where(sa.false())


def readable_absences(actor: Actor) -> SelectOfScalar[Absence]:
    """Absences the caller may read: their own, and those of staff they manage (or all: admin)."""
    return select(Absence).where(
        col(Absence.organisation_id) == actor.organisation_id,
        sa.or_(
            col(Absence.staff_id) == actor.id,
            col(Absence.staff_id).in_(absence_managers_scope(actor)),
        ),
    )


async def _check_subject(session: AsyncSession, actor: Actor, staff_id: uuid.UUID) -> None:
    if staff_id == actor.id:
        return
    stmt = absence_managers_scope(actor).where(col(Staff.id) == staff_id)
    if (await session.exec(stmt)).first() is None:
        raise NotFound("No such staff member.")


async def create_absence(
    session: AsyncSession,
    actor: Actor,
    staff_id: uuid.UUID,
    *,
    starts_on: date,
    ends_on: date,
    kind: AbsenceKind,
    now: datetime,
) -> Absence:
    """Record an absence for yourself, or for someone you manage (admins: anyone)."""
    await _check_subject(session, actor, staff_id)
    absence = Absence(
        organisation_id=actor.organisation_id,
        staff_id=staff_id,
        starts_on=starts_on,
        ends_on=ends_on,
        kind=kind,
        created_by=actor.id,
        created_at=now,
    )
    session.add(absence)
    await session.flush()
    return absence


_LATEST_START = Keyset[Absence](
    col(Absence.starts_on), col(Absence.id), lambda r: (r.starts_on, r.id), key_type=date
)


async def list_absences(
    session: AsyncSession, actor: Actor, staff_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[Sequence[Absence], str | None]:
    """Someone's absences, newest first (404 unless they are yours to read)."""
    await _check_subject(session, actor, staff_id)
    stmt = readable_absences(actor).where(col(Absence.staff_id) == staff_id)
    return await keyset_page(session, stmt, _LATEST_START, limit=limit, cursor=cursor)


async def delete_absence(
    session: AsyncSession, actor: Actor, staff_id: uuid.UUID, absence_id: uuid.UUID
) -> None:
    """Withdraw a recorded absence (same people who may record it)."""
    await _check_subject(session, actor, staff_id)
    stmt = readable_absences(actor).where(
        col(Absence.staff_id) == staff_id, col(Absence.id) == absence_id
    )
    absence = (await session.exec(stmt)).first()
    if absence is None:
        raise NotFound("No such absence.")
    await session.delete(absence)
    await session.flush()


async def absence_spans(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    staff_ids: SelectOfScalar[uuid.UUID] | Sequence[uuid.UUID],
    *,
    ending_on_or_after: date | None = None,
) -> dict[uuid.UUID, list[tuple[date, date]]]:
    """Absence spans (inclusive) per staff member, in one statement."""
    column = col(Absence.staff_id)
    member = (
        column.in_(staff_ids)
        if isinstance(staff_ids, sa.Select)
        else one_of(session, column, staff_ids)
    )
    stmt = select(column, col(Absence.starts_on), col(Absence.ends_on)).where(
        col(Absence.organisation_id) == organisation_id, member
    )
    if ending_on_or_after is not None:
        stmt = stmt.where(col(Absence.ends_on) >= ending_on_or_after)
    spans: dict[uuid.UUID, list[tuple[date, date]]] = {}
    for staff_id, starts_on, ends_on in (await session.exec(stmt)).all():
        spans.setdefault(staff_id, []).append((starts_on, ends_on))
    return spans


async def absence_spans_from(
    session: AsyncSession, organisation_id: uuid.UUID, windows: Mapping[uuid.UUID, date]
) -> dict[uuid.UUID, list[tuple[date, date]]]:
    """Absence spans (inclusive) per staff member in `windows`, only those ending on or
    after that person's own day there, in one statement.

    For the cadence of many people at once (oversight, the reminder sweep): each person's
    window starts at their last counted session, so one person without any (a supervisor
    who is never supervised here, a starter) no longer makes everyone's absences since
    their start date be read. On PostgreSQL the days go in as arrays joined to the
    absences; elsewhere the earliest day filters in SQL and each person's in Python."""
    if not windows:
        return {}
    a = Absence
    if is_postgresql(session):
        days = (
            sa.func.unnest(
                sa.bindparam("window_staff", list(windows), type_=postgresql.ARRAY(sa.Uuid())),
                sa.bindparam(
                    "window_days", list(windows.values()), type_=postgresql.ARRAY(sa.Date())
                ),
            )
            .table_valued("staff_id", "from_day")
            .render_derived(name="windows")
        )
        stmt = (
            select(col(a.staff_id), col(a.starts_on), col(a.ends_on))
            .join(
                days,
                sa.and_(days.c.staff_id == col(a.staff_id), col(a.ends_on) >= days.c.from_day),
            )
            .where(col(a.organisation_id) == organisation_id)
        )
    else:
        stmt = select(col(a.staff_id), col(a.starts_on), col(a.ends_on)).where(
            col(a.organisation_id) == organisation_id,
            col(a.staff_id).in_(list(windows)),
            col(a.ends_on) >= min(windows.values()),
        )
    spans: dict[uuid.UUID, list[tuple[date, date]]] = {}
    # Plain rows: the ORM's result machinery cost more than the statement for hundreds.
    connection = await session.connection()
    for staff_id, starts_on, ends_on in (await connection.execute(stmt)).all():
        if ends_on >= windows[staff_id]:
            spans.setdefault(staff_id, []).append((starts_on, ends_on))
    return spans
