"""Writing a supervision record (its supervisor, until sign-off)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.base import new_id
from models.crypto import KeyRing, seal_text
from models.directory.staff import Staff
from models.errors import Conflict, Forbidden, Invalid
from models.etag import Tagged, require_match
from models.supervision import (
    CASE_DISCUSSIONS_TABLE,
    CASE_TEXTS,
    RECORD_SECTIONS,
    RECORDS_TABLE,
    CaseDiscussion,
    SessionStatus,
    SupervisionAction,
    SupervisionRecord,
    SupervisionSession,
)
from supervision.changes import action_changed, session_changed
from supervision.schemas import (
    ActionIn,
    RecordPut,
    SessionPublic,
)
from supervision.session_views import tagged_session
from supervision.sessions import load_visible
from supervision.status import local_today

# A record may be written a little ahead of the server's clock (a phone's clock drifts).
CLOCK_SKEW = timedelta(minutes=10)


def _field_error(loc: list[str | int], message: str) -> dict[str, object]:
    return {"loc": ["body", *loc], "msg": message, "type": "value_error"}


async def write_record(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    session_id: uuid.UUID,
    data: RecordPut,
    if_match: str | None,
    now: datetime,
) -> Tagged[SessionPublic]:
    """Write (or rewrite, until sign-off) the record of a session: its supervisor only."""
    visible = await load_visible(session, actor, session_id, lock=True)
    row = visible.row
    if actor.id != row.supervisor_id:
        raise Forbidden("Only the session's supervisor writes its record.")
    require_match(if_match, row.version)
    if row.status == SessionStatus.cancelled:
        raise Conflict("A cancelled session has no record.", kind="wrong-state")
    if row.status == SessionStatus.signed_off:
        raise Conflict(
            "The record is signed off and locked; add an addendum instead.", kind="record-locked"
        )
    if data.held_at > now + CLOCK_SKEW:
        raise Invalid(
            "held_at is in the future.", errors=[_field_error(["held_at"], "in the future")]
        )
    allowed_owners = {row.supervisee_id, row.supervisor_id}
    for i, item in enumerate(data.actions):
        if item.owner_id not in allowed_owners:
            raise Invalid(
                "An action's owner is the supervisee or the supervisor.",
                errors=[_field_error(["actions", i, "owner_id"], "not in this supervision")],
            )
    supervisee = (
        await session.exec(
            select(Staff).where(
                col(Staff.organisation_id) == row.organisation_id,
                col(Staff.id) == row.supervisee_id,
            )
        )
    ).one()
    record = (
        await session.exec(
            select(SupervisionRecord).where(
                col(SupervisionRecord.organisation_id) == actor.organisation_id,
                col(SupervisionRecord.session_id) == row.id,
            )
        )
    ).first()
    record_id = record.id if record is not None else new_id()

    def sealed(column: str) -> str:  # bound to this record and column
        return seal_text(ring, getattr(data, column), RECORDS_TABLE, record_id, column)

    if record is None:
        record = SupervisionRecord(
            id=record_id,
            organisation_id=actor.organisation_id,
            session_id=row.id,
            management=sealed("management"),
            development=sealed("development"),
            support=sealed("support"),
            mediation=sealed("mediation"),
        )
        session.add(record)
    else:
        for column in RECORD_SECTIONS:
            setattr(record, column, sealed(column))
    record.support_private = data.support_private
    record.wellbeing_discussed = data.wellbeing_discussed
    record.recorded_by = actor.id

    await _replace_case_discussions(session, ring, row, data)
    await _sync_actions(session, row, data.actions, now)

    row.status = SessionStatus.recorded
    row.held_at = data.held_at
    row.held_on = local_today(data.held_at, supervisee.timezone)
    row.held_minutes = data.duration_minutes
    if row.recorded_at is None:
        row.recorded_at = now
    row.version += 1
    row.updated_at = now
    await session.flush()
    await session_changed(session, row, now)
    return await tagged_session(session, ring, visible)


async def _replace_case_discussions(
    session: AsyncSession, ring: KeyRing, row: SupervisionSession, data: RecordPut
) -> None:
    old = await session.exec(
        select(CaseDiscussion).where(
            col(CaseDiscussion.organisation_id) == row.organisation_id,
            col(CaseDiscussion.session_id) == row.id,
        )
    )
    for discussion in old.all():
        await session.delete(discussion)
    for position, item in enumerate(data.case_discussions):
        discussion_id = new_id()
        sealed = {
            column: seal_text(
                ring, getattr(item, column), CASE_DISCUSSIONS_TABLE, discussion_id, column
            )
            for column in CASE_TEXTS
        }
        session.add(
            CaseDiscussion(
                id=discussion_id,
                organisation_id=row.organisation_id,
                session_id=row.id,
                position=position,
                case_reference=item.case_reference,
                scaling=item.scaling,
                **sealed,
            )
        )


async def _sync_actions(
    session: AsyncSession, row: SupervisionSession, items: list[ActionIn], now: datetime
) -> None:
    """Make the session's actions match the record: keep those named by id, add new, drop
    the rest (an action keeps its status and id while it stays on the record)."""
    existing = {
        a.id: a
        for a in (
            await session.exec(
                select(SupervisionAction).where(
                    col(SupervisionAction.organisation_id) == row.organisation_id,
                    col(SupervisionAction.session_id) == row.id,
                )
            )
        ).all()
    }
    kept: set[uuid.UUID] = set()
    changed: list[SupervisionAction] = []
    for position, item in enumerate(items):
        if item.id is not None:
            action = existing.get(item.id)
            if action is None or item.id in kept:
                raise Invalid(
                    "An action id must name an action of this record, once.",
                    errors=[_field_error(["actions", position, "id"], "not on this record")],
                )
            kept.add(item.id)
            new = (item.description, item.owner_id, item.due_on, item.case_reference, position)
            old = (action.description, action.owner_id, action.due_on, action.case_reference)
            if new[:4] != old or action.position != position:
                action.description, action.owner_id, action.due_on = new[:3]
                action.case_reference, action.position = new[3], position
                action.version += 1
                action.updated_at = now
                changed.append(action)
        else:
            action = SupervisionAction(
                organisation_id=row.organisation_id,
                session_id=row.id,
                supervisee_id=row.supervisee_id,
                owner_id=item.owner_id,
                position=position,
                description=item.description,
                case_reference=item.case_reference,
                due_on=item.due_on,
                created_at=now,
                updated_at=now,
            )
            session.add(action)
            changed.append(action)
    dropped = [a for a_id, a in existing.items() if a_id not in kept]
    for action in dropped:
        await session.delete(action)
    await session.flush()
    for action in changed:
        await action_changed(session, action, now)
    for action in dropped:
        await action_changed(session, action, now, deleted=True)
