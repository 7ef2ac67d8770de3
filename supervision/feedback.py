"""Session feedback: the supervisee's private rating of a held session.

Only the supervisee ever reads a rating individually (here, and in their personal export);
everyone else sees feedback only as report-card aggregates under the k-rule. The comment is
sealed at rest under the key ring, bound to its row and column.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.actor import Actor
from models.base import new_id
from models.crypto import KeyRing, open_json, seal_json
from models.errors import Conflict, Forbidden, NotFound
from models.scope import unit_path
from models.supervision import (
    FEEDBACK_COMMENT_COLUMN,
    FEEDBACK_TABLE,
    HELD_STATUSES,
    FeedbackPublic,
    SessionFeedback,
    SupervisionSession,
)
from supervision.schemas import FeedbackCreate
from supervision.sessions import load_visible


def _seal(ring: KeyRing, row_id: uuid.UUID, comment: str) -> str:
    return seal_json(ring, comment, FEEDBACK_TABLE, row_id, FEEDBACK_COMMENT_COLUMN)


def comment_of(ring: KeyRing, row: SessionFeedback) -> str | None:
    if row.comment is None:
        return None
    value: str = open_json(ring, row.comment, FEEDBACK_TABLE, row.id, FEEDBACK_COMMENT_COLUMN)
    return value


def to_public(ring: KeyRing, row: SessionFeedback) -> FeedbackPublic:
    return FeedbackPublic(
        session_id=row.session_id,
        helpful=row.helpful,
        felt_safe=row.felt_safe,
        comment=comment_of(ring, row),
        created_at=row.created_at,
    )


async def give_feedback(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    session_id: uuid.UUID,
    data: FeedbackCreate,
    now: datetime,
) -> FeedbackPublic:
    """The supervisee's private rating of a held session (once per session)."""
    visible = await load_visible(session, actor, session_id, lock=True)
    row = visible.row
    if actor.id != row.supervisee_id:
        raise Forbidden("Only the supervisee rates their supervision.")
    if row.status not in HELD_STATUSES:
        raise Conflict("Only a session that was held can be rated.", kind="wrong-state")
    exists = (
        await session.exec(
            select(col(SessionFeedback.id)).where(
                col(SessionFeedback.organisation_id) == actor.organisation_id,
                col(SessionFeedback.session_id) == row.id,
            )
        )
    ).first()
    if exists is not None:
        raise Conflict("You have already rated this session.", kind="already-done")
    feedback_id = new_id()
    feedback = SessionFeedback(
        id=feedback_id,
        organisation_id=actor.organisation_id,
        session_id=row.id,
        helpful=data.helpful,
        felt_safe=data.felt_safe,
        comment=_seal(ring, feedback_id, data.comment) if data.comment else None,
        unit_path=await unit_path(session, actor.organisation_id, actor.unit_id),
        created_at=now,
    )
    session.add(feedback)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("You have already rated this session.", kind="already-done") from exc
    return to_public(ring, feedback)


def _own(actor: Actor) -> SelectOfScalar[SessionFeedback]:
    return (
        select(SessionFeedback)
        .join(
            SupervisionSession,
            col(SupervisionSession.id) == col(SessionFeedback.session_id),
        )
        .where(
            col(SessionFeedback.organisation_id) == actor.organisation_id,
            col(SupervisionSession.organisation_id) == actor.organisation_id,
            col(SupervisionSession.supervisee_id) == actor.id,
        )
    )


async def my_feedback(
    session: AsyncSession, ring: KeyRing, actor: Actor, session_id: uuid.UUID
) -> FeedbackPublic:
    """My own rating of one session. Anyone else, the supervisor included, gets 404: a
    rating is never readable individually, and its existence is not disclosed either."""
    row = (
        await session.exec(_own(actor).where(col(SessionFeedback.session_id) == session_id))
    ).first()
    if row is None:
        raise NotFound("No feedback of yours on this session.")
    return to_public(ring, row)


async def export_feedback(
    session: AsyncSession, ring: KeyRing, actor: Actor
) -> list[FeedbackPublic]:
    """Every rating I gave, oldest first (for the personal export)."""
    stmt = _own(actor).order_by(col(SessionFeedback.created_at), col(SessionFeedback.id))
    return [to_public(ring, row) for row in (await session.exec(stmt)).all()]
