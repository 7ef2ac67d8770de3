"""Failed-login throttling with counters in the database, shared by every server process."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import insert_for
from models.directory.auth import LoginThrottle


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window: timedelta
    lockout: timedelta


def throttle_key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:64]
    return f"{kind}:{digest}"


async def retry_after(session: AsyncSession, keys: list[str], now: datetime) -> int | None:
    """Seconds until the longest lock among `keys` ends, or None when none is locked."""
    stmt = select(LoginThrottle).where(
        col(LoginThrottle.key).in_(keys), col(LoginThrottle.locked_until) > now
    )
    locked = (await session.exec(stmt)).all()
    if not locked:
        return None
    until = max(row.locked_until for row in locked if row.locked_until is not None)
    return max(1, math.ceil((until - now).total_seconds()))


async def record_failure(
    session: AsyncSession, key: str, now: datetime, policy: ThrottlePolicy
) -> None:
    """Count one failure atomically (an upsert); lock the key once the window's limit is hit."""
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    insert = insert_for(session, table)
    window_start = now - policy.window
    expired = table.c.window_started_at < window_start
    failures = sa.case((expired, 1), else_=table.c.failures + 1)
    first_lock = now + policy.lockout if policy.max_failures <= 1 else None
    stmt = insert.values(key=key, failures=1, window_started_at=now, locked_until=first_lock)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": failures,
            "window_started_at": sa.case((expired, now), else_=table.c.window_started_at),
            "locked_until": sa.case(
                (failures >= policy.max_failures, now + policy.lockout),
                else_=table.c.locked_until,
            ),
        },
    )
    await session.exec(stmt)


async def clear(session: AsyncSession, key: str) -> None:
    await session.exec(sa.delete(LoginThrottle).where(col(LoginThrottle.key) == key))
