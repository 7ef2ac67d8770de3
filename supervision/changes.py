"""The one place every write to sessions and actions is announced.

The phone app's sync feed will record these as changes (upserts and tombstones). Every
domain function that writes a session or an action calls one of these after flushing, so
adding the change log means filling in these two functions and nothing else.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.supervision import SupervisionAction, SupervisionSession


async def session_changed(session: AsyncSession, sess: SupervisionSession, now: datetime) -> None:
    """`sess` was created or changed (scheduled, cancelled, recorded, signed off, addendum)."""
    del session, sess, now  # the sync feed hooks in here


async def action_changed(
    session: AsyncSession, action: SupervisionAction, now: datetime, *, deleted: bool = False
) -> None:
    """`action` was created, changed, or (`deleted`) removed from its record."""
    del session, action, now, deleted  # the sync feed hooks in here
