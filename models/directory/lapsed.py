"""What sign-in leaves behind once it can no longer be used: browser sessions past their
lifetime or idle timeout, SSO sign-ins never completed, password links past their expiry,
and refresh tokens past theirs. Each is refused when it is presented anyway
(`web_sessions`, `sso_logins`, `password_links`, `tokens`); the retention job deletes the
rows so the tables hold live credentials only (a lapsed session's hash and timestamps are
no one's business after it has ended)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.auth import RefreshToken
from models.directory.identity import PasswordLink, SsoLogin, WebSession


def lapsed_sso_logins(organisation_id: uuid.UUID, now: datetime) -> sa.Delete:
    """SSO sign-ins sent to the provider and never completed, past their lifetime (also
    cleared whenever a new sign-in of the organisation starts: `sso_logins.record_login`)."""
    return sa.delete(SsoLogin).where(
        col(SsoLogin.organisation_id) == organisation_id, col(SsoLogin.expires_at) <= now
    )


async def purge_lapsed_sign_ins(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime, *, web_idle: timedelta
) -> int:
    """Delete one organisation's lapsed sign-in rows; returns how many went."""
    statements = (
        sa.delete(WebSession).where(
            col(WebSession.organisation_id) == organisation_id,
            sa.or_(
                col(WebSession.expires_at) <= now, col(WebSession.last_seen_at) <= now - web_idle
            ),
        ),
        lapsed_sso_logins(organisation_id, now),
        sa.delete(PasswordLink).where(
            col(PasswordLink.organisation_id) == organisation_id,
            col(PasswordLink.expires_at) <= now,
        ),
        sa.delete(RefreshToken).where(
            col(RefreshToken.organisation_id) == organisation_id,
            col(RefreshToken.expires_at) <= now,
        ),
    )
    removed = 0
    for statement in statements:
        result = await session.exec(statement)
        removed += result.rowcount
    return removed
