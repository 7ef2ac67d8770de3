"""An organisation's closure days: local non-working days an admin adds and removes.

A closure day is keyed by its date: adding the same date with the same name again answers
the existing day (200), with another name 409 (remove it and add it again to rename);
removing a date that is not a closure day is a no-op. Deadlines (write-up, sign-off) skip
closure days from the next read on (`policy_store.load_policy`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.base import new_id
from models.calendar import ClosureDay
from models.db import insert_for
from models.errors import Conflict
from models.pagination import Keyset, keyset_page
from models.schemas import Page
from supervision.schemas import ClosureDayCreate, ClosureDayPublic

_BY_DAY = Keyset[ClosureDay](
    col(ClosureDay.day),
    col(ClosureDay.id),
    lambda r: (r.day, r.id),
    key_type=date,
    descending=False,
)


def _public(row: ClosureDay) -> ClosureDayPublic:
    return ClosureDayPublic(id=row.id, day=row.day, name=row.name, created_at=row.created_at)


async def list_closure_days(
    session: AsyncSession,
    actor: Actor,
    *,
    since: date | None,
    until: date | None,
    limit: int,
    cursor: str | None,
) -> Page[ClosureDayPublic]:
    """The caller's organisation's closure days in date order (`since`/`until` inclusive)."""
    stmt = select(ClosureDay).where(col(ClosureDay.organisation_id) == actor.organisation_id)
    if since is not None:
        stmt = stmt.where(col(ClosureDay.day) >= since)
    if until is not None:
        stmt = stmt.where(col(ClosureDay.day) <= until)
    rows, next_cursor = await keyset_page(session, stmt, _BY_DAY, limit=limit, cursor=cursor)
    return Page(data=[_public(r) for r in rows], next_cursor=next_cursor)


async def _find(session: AsyncSession, actor: Actor, day: date) -> ClosureDay | None:
    stmt = select(ClosureDay).where(
        col(ClosureDay.organisation_id) == actor.organisation_id, col(ClosureDay.day) == day
    )
    return (await session.exec(stmt)).first()


async def add_closure_day(
    session: AsyncSession, actor: Actor, data: ClosureDayCreate, now: datetime
) -> tuple[ClosureDayPublic, bool]:
    """Add a closure day (admins); (view, created). Concurrent adds of one date insert it
    once (ON CONFLICT on the organisation and date), then compare names."""
    stmt = (
        insert_for(session, ClosureDay)
        .values(
            id=new_id(),
            organisation_id=actor.organisation_id,
            day=data.day,
            name=data.name,
            created_by=actor.id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["organisation_id", "day"])
        .returning(col(ClosureDay.id))
    )
    created = (await session.exec(stmt)).first() is not None
    row = await _find(session, actor, data.day)
    assert row is not None  # inserted now or by an earlier (or concurrent) add
    if not created and row.name != data.name:
        raise Conflict(
            f"{data.day.isoformat()} is already a closure day named {row.name!r}; remove it "
            "first to rename it.",
            kind="closure-day-taken",
        )
    return _public(row), created


async def remove_closure_day(session: AsyncSession, actor: Actor, day: date) -> None:
    """Remove a closure day (admins); idempotent."""
    row = await _find(session, actor, day)
    if row is not None:
        await session.delete(row)
        await session.flush()
