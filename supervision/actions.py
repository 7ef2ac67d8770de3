"""Supervision actions: who may see and update them, and which carry to the next session."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.actor import Actor
from models.directory.staff import Role
from models.errors import Forbidden, NotFound
from models.etag import require_match
from models.pagination import Keyset, keyset_page
from models.scope import managed_staff, supervisees
from models.supervision import ActionStatus, SupervisionAction, SupervisionSession
from supervision.changes import action_changed


def _sessions_supervised_by(actor: Actor) -> SelectOfScalar[uuid.UUID]:
    return select(col(SupervisionSession.id)).where(
        col(SupervisionSession.organisation_id) == actor.organisation_id,
        col(SupervisionSession.supervisor_id) == actor.id,
    )


def readable_actions(actor: Actor) -> SelectOfScalar[SupervisionAction]:
    """Actions the caller may see: their own supervision's, their supervisees', and (managers)
    those of staff they manage; admins all of the organisation's."""
    stmt = select(SupervisionAction).where(
        col(SupervisionAction.organisation_id) == actor.organisation_id
    )
    if actor.has(Role.admin):
        return stmt
    related: list[sa.ColumnElement[bool]] = [
        col(SupervisionAction.supervisee_id) == actor.id,
        col(SupervisionAction.owner_id) == actor.id,
        col(SupervisionAction.supervisee_id).in_(supervisees(actor)),
        col(SupervisionAction.session_id).in_(_sessions_supervised_by(actor)),
    ]
    if actor.has(Role.manager):
        related.append(col(SupervisionAction.supervisee_id).in_(managed_staff(actor)))
    return stmt.where(sa.or_(*related))


_OLDEST_FIRST = Keyset[SupervisionAction](
    col(SupervisionAction.created_at),
    col(SupervisionAction.id),
    lambda r: (r.created_at, r.id),
    descending=False,
)


async def list_actions(
    session: AsyncSession,
    actor: Actor,
    *,
    status: ActionStatus | None,
    supervisee_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[SupervisionAction], str | None]:
    """Actions the caller may see, oldest first."""
    stmt = readable_actions(actor)
    if status is not None:
        stmt = stmt.where(col(SupervisionAction.status) == status)
    if supervisee_id is not None:
        stmt = stmt.where(col(SupervisionAction.supervisee_id) == supervisee_id)
    return await keyset_page(session, stmt, _OLDEST_FIRST, limit=limit, cursor=cursor)


async def get_action(
    session: AsyncSession, actor: Actor, action_id: uuid.UUID
) -> SupervisionAction:
    stmt = readable_actions(actor).where(col(SupervisionAction.id) == action_id)
    action = (await session.exec(stmt)).first()
    if action is None:
        raise NotFound("No such action.")
    return action


async def update_action_status(
    session: AsyncSession,
    actor: Actor,
    action_id: uuid.UUID,
    status: ActionStatus,
    if_match: str | None,
    now: datetime,
) -> SupervisionAction:
    """Mark an action done, dropped or open again: its owner, the supervisee or supervisor."""
    stmt = readable_actions(actor).where(col(SupervisionAction.id) == action_id)
    action = (await session.exec(stmt.with_for_update())).first()
    if action is None:
        raise NotFound("No such action.")
    supervisor = (
        await session.exec(
            select(col(SupervisionSession.supervisor_id)).where(
                col(SupervisionSession.organisation_id) == action.organisation_id,
                col(SupervisionSession.id) == action.session_id,
            )
        )
    ).one()
    if actor.id not in (action.owner_id, action.supervisee_id, supervisor):
        raise Forbidden("Only the action's owner, the supervisee or the supervisor update it.")
    require_match(if_match, action.version)
    if action.status != status:
        action.status = status
        action.completed_at = None if status is ActionStatus.open else now
        action.version += 1
        action.updated_at = now
        await session.flush()
        await action_changed(session, action, now)
    return action


async def carried_actions(
    session: AsyncSession, sess: SupervisionSession
) -> Sequence[SupervisionAction]:
    """Open actions from the supervisee's earlier sessions: they carry over to `sess`."""
    earlier = select(col(SupervisionSession.id)).where(
        col(SupervisionSession.organisation_id) == sess.organisation_id,
        col(SupervisionSession.supervisee_id) == sess.supervisee_id,
        col(SupervisionSession.id) != sess.id,
        col(SupervisionSession.scheduled_for) <= sess.scheduled_for,
    )
    stmt = (
        select(SupervisionAction)
        .where(
            col(SupervisionAction.organisation_id) == sess.organisation_id,
            col(SupervisionAction.supervisee_id) == sess.supervisee_id,
            col(SupervisionAction.status) == ActionStatus.open,
            col(SupervisionAction.session_id).in_(earlier),
        )
        .order_by(col(SupervisionAction.created_at), col(SupervisionAction.id))
    )
    return (await session.exec(stmt)).all()
