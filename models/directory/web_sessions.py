"""Browser sessions: a random value in an HttpOnly cookie, its SHA-256 in `web_sessions`.

A session ends when it has been idle for the idle timeout, at its absolute lifetime, at
sign-out, and when the person is deactivated or sets a new password."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.identity import WebSession
from models.directory.staff import Staff
from models.directory.tokens import hash_token

# Seen again within this long, a session's last-seen time is not rewritten (one write per
# minute at most, not one per page).
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    lifetime: timedelta


async def start_web_session(
    session: AsyncSession, staff: Staff, now: datetime, policy: SessionPolicy
) -> str:
    """Open a session for a verified, active staff member; returns the cookie value."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            organisation_id=staff.organisation_id,
            staff_id=staff.id,
            token_hash=hash_token(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.lifetime,
        )
    )
    await session.flush()
    return token


async def web_session_staff(
    session: AsyncSession, token: str, now: datetime, policy: SessionPolicy
) -> Staff | None:
    """The active staff member whose live session `token` opens (touching it), or None."""
    stmt = (
        select(WebSession, Staff)
        .join(
            Staff,
            sa.and_(
                col(Staff.id) == col(WebSession.staff_id),
                col(Staff.organisation_id) == col(WebSession.organisation_id),
            ),
        )
        .where(col(WebSession.token_hash) == hash_token(token))
    )
    found = (await session.exec(stmt)).first()
    if found is None:
        return None
    row, staff = found
    if not staff.active or row.expires_at <= now or row.last_seen_at + policy.idle <= now:
        await session.exec(sa.delete(WebSession).where(col(WebSession.id) == row.id))
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        await session.flush()
    return staff


async def end_web_session(session: AsyncSession, token: str) -> None:
    """Sign out: forget the session (an unknown value is ignored)."""
    await session.exec(sa.delete(WebSession).where(col(WebSession.token_hash) == hash_token(token)))


async def end_all_web_sessions(
    session: AsyncSession, organisation_id: uuid.UUID, staff_id: uuid.UUID
) -> None:
    await session.exec(
        sa.delete(WebSession).where(
            col(WebSession.organisation_id) == organisation_id,
            col(WebSession.staff_id) == staff_id,
        )
    )
