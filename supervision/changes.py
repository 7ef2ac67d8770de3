"""The one place every write to sessions and actions is announced to the sync feed.

Every domain function that writes a session or an action calls one of these after its row
writes (so the change-sequence lock is the last lock the transaction takes; see
`models/changes.py`). A session's changes go to the feeds of the people in the supervision:
the supervisee, the session's supervisor and the supervisee's current line supervisor, and,
for an action, its owner. Managers above read supervision through the oversight endpoints;
their feed carries sessions only where they take part themselves. Feedback is never a
change: it is private and never synced to the supervisor.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.changes import ChangeOp, record_change
from models.directory.staff import Staff
from models.supervision import SupervisionAction, SupervisionSession

SESSION = "supervision_session"
ACTION = "supervision_action"


async def parties(session: AsyncSession, sess: SupervisionSession) -> list[uuid.UUID]:
    """The supervisee, the session's supervisor and the supervisee's current supervisor."""
    current = (
        await session.exec(
            select(col(Staff.supervisor_id)).where(
                col(Staff.organisation_id) == sess.organisation_id,
                col(Staff.id) == sess.supervisee_id,
            )
        )
    ).first()
    people = [sess.supervisee_id, sess.supervisor_id]
    if current is not None:
        people.append(current)
    return people


async def session_changed(session: AsyncSession, sess: SupervisionSession, now: datetime) -> None:
    """`sess` was created or changed (scheduled, cancelled, recorded, signed off, addendum)."""
    audience = await parties(session, sess)
    await record_change(
        session,
        sess.organisation_id,
        SESSION,
        sess.id,
        ChangeOp.upsert,
        audience,
        now,
        owners=[sess.supervisee_id, sess.supervisor_id],  # never change: always readable
    )


async def action_changed(
    session: AsyncSession, action: SupervisionAction, now: datetime, *, deleted: bool = False
) -> None:
    """`action` was created, changed, or (`deleted`) removed from its record."""
    sess = (
        await session.exec(
            select(SupervisionSession).where(
                col(SupervisionSession.organisation_id) == action.organisation_id,
                col(SupervisionSession.id) == action.session_id,
            )
        )
    ).one()
    audience = [*await parties(session, sess), action.owner_id]
    op = ChangeOp.delete if deleted else ChangeOp.upsert
    await record_change(
        session,
        action.organisation_id,
        ACTION,
        action.id,
        op,
        audience,
        now,
        owners=[action.supervisee_id, action.owner_id],  # never change: always readable
    )
