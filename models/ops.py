"""Operational tables and checks: the scheduler heartbeat, database readiness."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import utc_column
from models.db import insert_for


class SchedulerHeartbeat(SQLModel, table=True):
    """Last beat of the scheduler (`harbour worker` or embedded); `/readyz` checks it is fresh."""

    __tablename__ = "scheduler_heartbeat"

    name: str = Field(primary_key=True, max_length=50)
    holder: str = Field(max_length=200)
    beat_at: datetime = utc_column()


# The holder a scheduler leaves when it stops cleanly: the next beat of any other takes over.
RELEASED = ""


async def database_ready(session: AsyncSession) -> None:
    await session.exec(select(sa.literal(1)))


async def last_heartbeat(session: AsyncSession, name: str = "scheduler") -> datetime | None:
    row = await session.get(SchedulerHeartbeat, name)
    return row.beat_at if row else None


async def claim_lease(
    session: AsyncSession,
    holder: str,
    now: datetime,
    ttl: timedelta,
    name: str = "scheduler",
) -> bool:
    """Beat the heartbeat if `holder` owns the lease or the last holder went quiet for `ttl`.

    One atomic upsert, so of several schedulers (web workers with the embedded scheduler,
    or two `harbour worker` processes) exactly one holds the lease at a time.
    """
    table = SchedulerHeartbeat.__table__  # type: ignore[attr-defined]
    insert = insert_for(session, table)
    stmt = (
        insert.values(name=name, holder=holder, beat_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.name],
            set_={"holder": holder, "beat_at": now},
            where=sa.or_(
                table.c.holder == holder,
                table.c.holder == RELEASED,
                table.c.beat_at < now - ttl,
            ),
        )
        .returning(table.c.holder)
    )
    won = (await session.exec(stmt)).first()
    return won is not None and won[0] == holder


async def release_lease(session: AsyncSession, holder: str, name: str = "scheduler") -> None:
    """Hand the lease back (a clean stop); the heartbeat time stays, so `/readyz` stays ready
    until another scheduler beats or the beat goes stale."""
    table = SchedulerHeartbeat.__table__  # type: ignore[attr-defined]
    await session.exec(
        sa.update(table)
        .where(table.c.name == name, table.c.holder == holder)
        .values(holder=RELEASED)
    )
