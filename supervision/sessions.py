"""The session lifecycle: schedule, list, read, cancel, sign off and addenda."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.base import new_id
from models.crypto import KeyRing, seal_text
from models.directory.staff import Role, Staff
from models.errors import Conflict, Forbidden, NotFound
from models.etag import Tagged, require_match
from models.idempotent import create_once
from models.pagination import Keyset, keyset_page
from models.schemas import Page
from models.scope import managed_staff
from models.supervision import (
    ADDENDA_TABLE,
    HELD_STATUSES,
    RECORDS_TABLE,
    SESSIONS_TABLE,
    Addendum,
    SessionStatus,
    SupervisionRecord,
    SupervisionSession,
)
from supervision.access import in_relationship, readable_sessions, schedulable_staff
from supervision.changes import SESSION, session_changed
from supervision.schemas import (
    AddendumCreate,
    Audience,
    CancelRequest,
    SessionCreate,
    SessionPublic,
    SessionSummary,
    SignOffRequest,
)
from supervision.session_views import Visible, summaries, tagged_session

RESOURCE = SESSION  # the access log and the sync feed name sessions alike


async def _audience(session: AsyncSession, actor: Actor, sess: SupervisionSession) -> Audience:
    current = (
        await session.exec(
            select(col(Staff.supervisor_id)).where(
                col(Staff.organisation_id) == actor.organisation_id,
                col(Staff.id) == sess.supervisee_id,
            )
        )
    ).first()
    if in_relationship(actor, sess, current):
        return Audience.full
    if actor.has(Role.manager):
        managed = (
            await session.exec(managed_staff(actor).where(col(Staff.id) == sess.supervisee_id))
        ).first()
        if managed is not None:
            return Audience.management
    if actor.has(Role.admin):
        return Audience.metadata
    raise NotFound("No such session.")  # pragma: no cover - readable_sessions already filtered


async def load_visible(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID, *, lock: bool = False
) -> Visible:
    """The session, if the caller may see it (404 otherwise), with the caller's audience."""
    stmt = readable_sessions(actor).where(col(SupervisionSession.id) == session_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound("No such session.")
    return Visible(row, await _audience(session, actor, row))


async def open_session(
    session: AsyncSession, actor: Actor, session_id: uuid.UUID, now: datetime
) -> Visible:
    """Read one session, noting in the supervisee's access log who opened their record."""
    visible = await load_visible(session, actor, session_id)
    row = visible.row
    reason: AccessReason | None = None
    if visible.audience is Audience.metadata:
        reason = AccessReason.administration
    elif row.status in HELD_STATUSES:
        reason = (
            AccessReason.supervision
            if visible.audience is Audience.full
            else AccessReason.management_oversight
        )
    if reason is not None:
        await record_access(session, actor, row.supervisee_id, RESOURCE, row.id, reason, now)
    return visible


async def read_session(
    session: AsyncSession, ring: KeyRing, actor: Actor, session_id: uuid.UUID, now: datetime
) -> Tagged[SessionPublic]:
    """One session with as much of its record as the caller may see (the read is logged)."""
    visible = await open_session(session, actor, session_id, now)
    return await tagged_session(session, ring, visible)


async def schedule_session(
    session: AsyncSession, ring: KeyRing, actor: Actor, data: SessionCreate, now: datetime
) -> tuple[Tagged[SessionPublic], bool]:
    """Schedule supervision for a supervisee (their supervisor, or a manager above them).

    Returns the session and whether it was created (the offline-create protocol of
    `models.idempotent`: a repeat answers the existing session, another body a 409).
    """

    async def build() -> SupervisionSession:
        stmt = schedulable_staff(actor).where(col(Staff.id) == data.supervisee_id)
        supervisee = (await session.exec(stmt)).first()
        if supervisee is None:
            raise NotFound("No such staff member among those you supervise or manage.")
        row = SupervisionSession(
            organisation_id=actor.organisation_id,
            supervisee_id=supervisee.id,
            supervisor_id=supervisee.supervisor_id or actor.id,
            kind=data.kind,
            status=SessionStatus.scheduled,
            scheduled_for=data.scheduled_for,
            duration_minutes=data.duration_minutes,
            created_by=actor.id,
            created_at=now,
            updated_at=now,
        )
        if data.id is not None:
            row.id = data.id
        return row

    def same(existing: SupervisionSession) -> bool:
        return (
            existing.organisation_id == actor.organisation_id
            and existing.created_by == actor.id
            and existing.supervisee_id == data.supervisee_id
            and existing.scheduled_for == data.scheduled_for
            and existing.duration_minutes == data.duration_minutes
            and existing.kind == data.kind
        )

    row, created = await create_once(
        session,
        SupervisionSession,
        data.id,
        build=build,
        same=same,
        conflict="A different session already has this id.",
    )
    if created:
        await session_changed(session, row, now)
    return await tagged_session(
        session, ring, Visible(row, await _audience(session, actor, row))
    ), created


_LATEST_SCHEDULED = Keyset[SupervisionSession](
    col(SupervisionSession.scheduled_for),
    col(SupervisionSession.id),
    lambda r: (r.scheduled_for, r.id),
)


async def list_sessions(
    session: AsyncSession,
    actor: Actor,
    *,
    supervisee_id: uuid.UUID | None,
    status: SessionStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[SessionSummary]:
    """Sessions the caller may see, latest scheduled first."""
    stmt = readable_sessions(actor)
    if supervisee_id is not None:
        stmt = stmt.where(col(SupervisionSession.supervisee_id) == supervisee_id)
    if status is not None:
        stmt = stmt.where(col(SupervisionSession.status) == status)
    rows, next_cursor = await keyset_page(
        session, stmt, _LATEST_SCHEDULED, limit=limit, cursor=cursor
    )
    return Page(data=await summaries(session, actor.organisation_id, rows), next_cursor=next_cursor)


def _may_manage_lifecycle(visible: Visible) -> bool:
    return visible.audience is Audience.full or visible.audience is Audience.management


async def cancel_session(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    session_id: uuid.UUID,
    data: CancelRequest,
    if_match: str | None,
    now: datetime,
) -> Tagged[SessionPublic]:
    """Cancel a scheduled session, keeping the reason and who cancelled it."""
    visible = await load_visible(session, actor, session_id, lock=True)
    if not _may_manage_lifecycle(visible):
        raise Forbidden("Only the people in this supervision, or a manager above, may cancel it.")
    row = visible.row
    if if_match is not None:
        require_match(if_match, row.version)
    if row.status != SessionStatus.scheduled:
        raise Conflict(
            f"A {SessionStatus(row.status).value} session cannot be cancelled.", kind="wrong-state"
        )
    row.status = SessionStatus.cancelled
    row.cancelled_reason = seal_text(ring, data.reason, SESSIONS_TABLE, row.id, "cancelled_reason")
    row.cancelled_by = actor.id
    row.cancelled_at = now
    row.version += 1
    row.updated_at = now
    await session.flush()
    await session_changed(session, row, now)
    return await tagged_session(session, ring, visible)


async def sign_off_session(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    session_id: uuid.UUID,
    data: SignOffRequest,
    if_match: str | None,
    now: datetime,
) -> Tagged[SessionPublic]:
    """The supervisee signs the record (agreeing, or disagreeing with a comment); it locks."""
    visible = await load_visible(session, actor, session_id, lock=True)
    row = visible.row
    if actor.id != row.supervisee_id:
        raise Forbidden("Only the supervisee signs off their supervision record.")
    if if_match is not None:
        require_match(if_match, row.version)
    if row.status != SessionStatus.recorded:
        raise Conflict(
            f"A {SessionStatus(row.status).value} session cannot be signed off.", kind="wrong-state"
        )
    record = (
        await session.exec(
            select(SupervisionRecord).where(
                col(SupervisionRecord.organisation_id) == actor.organisation_id,
                col(SupervisionRecord.session_id) == row.id,
            )
        )
    ).one()
    record.sign_off_agreed = data.agreed
    record.sign_off_comment = (
        None
        if data.comment is None
        else seal_text(ring, data.comment, RECORDS_TABLE, record.id, "sign_off_comment")
    )
    row.status = SessionStatus.signed_off
    row.signed_off_at = now
    row.version += 1
    row.updated_at = now
    await session.flush()
    await session_changed(session, row, now)
    return await tagged_session(session, ring, visible)


async def add_addendum(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    session_id: uuid.UUID,
    data: AddendumCreate,
    now: datetime,
) -> Tagged[SessionPublic]:
    """Add a note to a signed-off (locked) record: the supervisee or their supervisor; answers
    the session with its addenda."""
    visible = await load_visible(session, actor, session_id, lock=True)
    if visible.audience is not Audience.full:
        raise Forbidden("Only the supervisee and their supervisor add to a record.")
    row = visible.row
    if row.status != SessionStatus.signed_off:
        raise Conflict(
            "Only a signed-off record takes addenda; edit the record instead.", kind="wrong-state"
        )
    addendum_id = new_id()
    addendum = Addendum(
        id=addendum_id,
        organisation_id=actor.organisation_id,
        session_id=row.id,
        author_id=actor.id,
        text=seal_text(ring, data.text, ADDENDA_TABLE, addendum_id, "text"),
        created_at=now,
    )
    session.add(addendum)
    row.version += 1
    row.updated_at = now
    await session.flush()
    await session_changed(session, row, now)
    return await tagged_session(session, ring, visible)
