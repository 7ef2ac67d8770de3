"""What ends a person's access at once: deactivation (an admin, the CSV import, SCIM) and a
new password (which ends the other sessions)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.identity import PasswordLink
from models.directory.staff import Staff
from models.directory.tokens import revoke_all_refresh_tokens
from models.directory.web_sessions import end_all_web_sessions
from models.notifications.outbox import Device


async def end_sessions(session: AsyncSession, staff: Staff, now: datetime) -> None:
    """Revoke every refresh token family and end every browser session of `staff`."""
    await revoke_all_refresh_tokens(session, staff, now)
    await end_all_web_sessions(session, staff.organisation_id, staff.id)


async def end_access(session: AsyncSession, staff: Staff, now: datetime) -> None:
    """A leaver: no session, no refresh token, no device (so no push), no unused link to set
    a password. Their records stay (deactivated, never deleted: docs/privacy.md). Access
    tokens already issued stop at once too: every request re-reads `active`."""
    await end_sessions(session, staff, now)
    await session.exec(
        sa.delete(Device).where(
            col(Device.organisation_id) == staff.organisation_id,
            col(Device.staff_id) == staff.id,
        )
    )
    await session.exec(
        sa.delete(PasswordLink).where(
            col(PasswordLink.organisation_id) == staff.organisation_id,
            col(PasswordLink.staff_id) == staff.id,
            col(PasswordLink.used_at).is_(None),
        )
    )
