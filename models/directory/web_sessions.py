"""Browser sessions for the web pages: an opaque id in a cookie, stored here only as SHA-256.

A session ends when it is idle longer than the idle timeout, when it is older than the
absolute lifetime, when its owner signs out, and when its owner is deactivated or given a new
password (`end_all_web_sessions`). Each request re-reads the staff row, so a deactivated
account is refused at once even before its sessions are deleted.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import TenantTable, utc_column
from models.directory.staff import Staff

# last_seen_at is written at most this often, so reading pages is not a write per request;
# the idle timeout is therefore exact to within this much.
TOUCH_EVERY = timedelta(seconds=60)


class WebSession(TenantTable, table=True):
    """One signed-in browser: the cookie's value is known only to the browser."""

    __tablename__ = "web_sessions"
    __table_args__ = (sa.Index("ix_web_sessions_org_staff", "organisation_id", "staff_id"),)

    session_hash: str = Field(max_length=64, unique=True)
    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    created_at: datetime = utc_column()
    last_seen_at: datetime = utc_column()


@dataclass(frozen=True, slots=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


def hash_session_id(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def start_web_session(session: AsyncSession, staff: Staff, now: datetime) -> str:
    """A new session for a verified, active staff member; returns the id for the cookie."""
    raw = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            organisation_id=staff.organisation_id,
            staff_id=staff.id,
            session_hash=hash_session_id(raw),
            created_at=now,
            last_seen_at=now,
        )
    )
    await session.flush()
    return raw


async def web_session_staff(
    session: AsyncSession, raw: str, lifetimes: Lifetimes, now: datetime
) -> Staff | None:
    """The active staff member a live session belongs to, or None (unknown, idle too long,
    too old, or its owner deactivated). The caller deletes a dead one with `end_web_session`
    in a transaction of its own: the request's own rolls back when it refuses."""
    if not raw or len(raw) > 100:
        return None
    stmt = (
        select(WebSession, Staff)
        .join(Staff, col(Staff.id) == col(WebSession.staff_id))
        .where(
            col(WebSession.session_hash) == hash_session_id(raw),
            col(Staff.organisation_id) == col(WebSession.organisation_id),
        )
    )
    found = (await session.exec(stmt)).first()
    if found is None:
        return None
    row, staff = found
    expired = now - row.last_seen_at > lifetimes.idle or now - row.created_at > lifetimes.absolute
    if expired or not staff.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        await session.exec(
            update(WebSession).where(col(WebSession.id) == row.id).values(last_seen_at=now)
        )
    return staff


async def end_web_session(session: AsyncSession, raw: str) -> None:
    """Sign out: the session is deleted, so the cookie opens nothing even if it was copied."""
    await session.exec(
        delete(WebSession).where(col(WebSession.session_hash) == hash_session_id(raw))
    )


async def end_all_web_sessions(session: AsyncSession, staff: Staff) -> None:
    """Every browser session of one person (deactivation, a new password)."""
    await session.exec(
        delete(WebSession).where(
            col(WebSession.organisation_id) == staff.organisation_id,
            col(WebSession.staff_id) == staff.id,
        )
    )
