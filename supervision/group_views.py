"""Who sees a group session, and what each of them sees of it.

- the facilitator and every attendee: the whole group record (the case mapped with Signs of
  Safety, the decision, the group's notes), everyone's attendance; an absence reason only to
  the person who was absent and to the facilitator. Nothing from anyone's reflective notes
  or one-to-one supervision is ever part of it;
- a manager of an attendee's unit (or an ancestor): the record, without absence reasons;
- admins: dates, format, status and attendance, no text;
- anyone else, HR included: 404.

Managers' and admins' reads are written to each attendee's access log; the facilitator's
and attendees' are not (the record is the group's own).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.changes import ChangeOp, record_change
from models.crypto import KeyRing, open_text
from models.directory.staff import Role, Staff
from models.errors import NotFound
from models.etag import Tagged, etag_for
from models.group_supervision import (
    GROUP_ATTENDEES_TABLE,
    GROUP_RESOURCE,
    GROUP_SESSIONS_TABLE,
    Attendance,
    GroupAttendee,
    GroupFormat,
    GroupSession,
)
from models.scope import managed_staff
from models.supervision import SessionKind, SessionStatus
from supervision.policy import CadencePolicy, counts_toward_cadence
from supervision.policy_store import load_policy
from supervision.schemas import Audience, CaseDiscussionPublic
from supervision.schemas_group import (
    AttendeePublic,
    GroupRecordPublic,
    GroupSessionPublic,
    GroupSessionSummary,
)


def _attending(staff: SelectOfScalar[uuid.UUID]) -> SelectOfScalar[uuid.UUID]:
    return select(col(GroupAttendee.group_session_id)).where(col(GroupAttendee.staff_id).in_(staff))


def readable_group_sessions(actor: Actor) -> SelectOfScalar[GroupSession]:
    """Group sessions the caller may see at least the metadata of."""
    stmt = select(GroupSession).where(col(GroupSession.organisation_id) == actor.organisation_id)
    if actor.has(Role.admin):
        return stmt
    mine = select(col(GroupAttendee.group_session_id)).where(
        col(GroupAttendee.organisation_id) == actor.organisation_id,
        col(GroupAttendee.staff_id) == actor.id,
    )
    related: list[sa.ColumnElement[bool]] = [
        col(GroupSession.facilitator_id) == actor.id,
        col(GroupSession.id).in_(mine),
    ]
    if actor.has(Role.manager):
        related.append(col(GroupSession.id).in_(_attending(managed_staff(actor))))
    return stmt.where(sa.or_(*related))


@dataclass(frozen=True, slots=True)
class VisibleGroup:
    row: GroupSession
    attendees: list[GroupAttendee]
    audience: Audience


async def attendees_of(session: AsyncSession, row: GroupSession) -> list[GroupAttendee]:
    stmt = (
        select(GroupAttendee)
        .where(
            col(GroupAttendee.organisation_id) == row.organisation_id,
            col(GroupAttendee.group_session_id) == row.id,
        )
        .order_by(col(GroupAttendee.position))
    )
    return list((await session.exec(stmt)).all())


async def _audience(
    session: AsyncSession, actor: Actor, row: GroupSession, attendees: list[GroupAttendee]
) -> Audience:
    if actor.id == row.facilitator_id or any(a.staff_id == actor.id for a in attendees):
        return Audience.full
    if actor.has(Role.manager):
        ids = [a.staff_id for a in attendees]
        managed = managed_staff(actor).where(col(Staff.id).in_(ids))
        if (await session.exec(managed)).first() is not None:
            return Audience.management
    if actor.has(Role.admin):
        return Audience.metadata
    raise NotFound("No such group session.")  # pragma: no cover - readable_ filtered it


async def load_group(
    session: AsyncSession, actor: Actor, group_id: uuid.UUID, *, lock: bool = False
) -> VisibleGroup:
    """The group session, if the caller may see it (404 otherwise), with their audience."""
    stmt = readable_group_sessions(actor).where(col(GroupSession.id) == group_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound("No such group session.")
    attendees = await attendees_of(session, row)
    return VisibleGroup(row, attendees, await _audience(session, actor, row, attendees))


async def log_group_read(
    session: AsyncSession, actor: Actor, visible: VisibleGroup, now: datetime
) -> None:
    """Managers' reads of a held group record, and every admin read, go to each attendee's
    access log."""
    if visible.audience is Audience.metadata:
        reason = AccessReason.administration
    elif visible.audience is Audience.management and visible.row.status != SessionStatus.scheduled:
        reason = AccessReason.management_oversight
    else:
        return
    for attendee in visible.attendees:
        await record_access(
            session, actor, attendee.staff_id, GROUP_RESOURCE, visible.row.id, reason, now
        )


def _counts(policy: CadencePolicy, row: GroupSession) -> bool:
    return row.status == SessionStatus.recorded and counts_toward_cadence(
        policy, SessionKind.group, row.held_minutes or 0
    )


def group_summary(
    row: GroupSession, attendees: Sequence[GroupAttendee], policy: CadencePolicy
) -> GroupSessionSummary:
    return GroupSessionSummary(
        id=row.id,
        facilitator_id=row.facilitator_id,
        version=row.version,
        format=GroupFormat(row.format),
        status=SessionStatus(row.status),
        scheduled_for=row.scheduled_for,
        duration_minutes=row.duration_minutes,
        held_at=row.held_at,
        held_minutes=row.held_minutes,
        presenter_id=row.presenter_id,
        invited_count=len(attendees),
        attended_count=sum(1 for a in attendees if a.attendance == Attendance.attended),
        counts_toward_cadence=_counts(policy, row),
        cancelled_by=row.cancelled_by,
        cancelled_at=row.cancelled_at,
        recorded_at=row.recorded_at,
        created_at=row.created_at,
    )


def _opened(ring: KeyRing, row: GroupSession, column: str) -> str:
    value = getattr(row, column)
    return "" if value is None else open_text(ring, value, GROUP_SESSIONS_TABLE, row.id, column)


def _record(ring: KeyRing, row: GroupSession) -> GroupRecordPublic | None:
    if row.recorded_at is None:
        return None
    case = None
    if row.case_reference is not None:
        case = CaseDiscussionPublic(
            case_reference=row.case_reference,
            worried_about=_opened(ring, row, "worried_about"),
            working_well=_opened(ring, row, "working_well"),
            needs_to_happen=_opened(ring, row, "needs_to_happen"),
            scaling=row.scaling,
            decision=_opened(ring, row, "decision"),
            rationale=_opened(ring, row, "rationale"),
        )
    return GroupRecordPublic(case_discussion=case, notes=_opened(ring, row, "notes"))


def _attendee(ring: KeyRing, a: GroupAttendee, shows_reason: bool) -> AttendeePublic:
    reason = None
    if shows_reason and a.absence_reason is not None:
        reason = open_text(ring, a.absence_reason, GROUP_ATTENDEES_TABLE, a.id, "absence_reason")
    return AttendeePublic(
        staff_id=a.staff_id,
        attendance=Attendance(a.attendance),
        absence_reason=reason,
        acknowledged_at=a.acknowledged_at,
    )


async def group_public(
    session: AsyncSession, ring: KeyRing, actor: Actor, visible: VisibleGroup
) -> Tagged[GroupSessionPublic]:
    """The group session as the caller may see it, with its ETag."""
    row, audience = visible.row, visible.audience
    policy = await load_policy(session, row.organisation_id)
    text = audience is not Audience.metadata
    facilitating = actor.id == row.facilitator_id
    view = GroupSessionPublic(
        **group_summary(row, visible.attendees, policy).model_dump(),
        access=audience,
        attendees=[
            _attendee(ring, a, text and (facilitating or a.staff_id == actor.id))
            for a in visible.attendees
        ],
        cancelled_reason=(_opened(ring, row, "cancelled_reason") or None) if text else None,
        record=_record(ring, row) if text else None,
    )
    return Tagged(view, etag_for(row.version))


async def group_summaries(
    session: AsyncSession, organisation_id: uuid.UUID, rows: Sequence[GroupSession]
) -> list[GroupSessionSummary]:
    """Summaries of a page of group sessions (one statement for all their attendees)."""
    policy = await load_policy(session, organisation_id)
    found: dict[uuid.UUID, list[GroupAttendee]] = {r.id: [] for r in rows}
    stmt = select(GroupAttendee).where(
        col(GroupAttendee.organisation_id) == organisation_id,
        col(GroupAttendee.group_session_id).in_(list(found)),
    )
    for attendee in (await session.exec(stmt)).all():
        found[attendee.group_session_id].append(attendee)
    return [group_summary(r, found[r.id], policy) for r in rows]


async def group_changed(
    session: AsyncSession, row: GroupSession, attendees: Sequence[GroupAttendee], now: datetime
) -> None:
    """On the feeds of the facilitator and every attendee (called after the row writes)."""
    await record_change(
        session,
        row.organisation_id,
        GROUP_RESOURCE,
        row.id,
        ChangeOp.upsert,
        [row.facilitator_id, *(a.staff_id for a in attendees)],
        now,
    )


async def render_groups_for_sync(
    session: AsyncSession, ring: KeyRing, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
) -> Mapping[uuid.UUID, BaseModel]:
    """Group sessions the caller may still see, as `GET /supervision/group-sessions/{id}`
    shows them (and logged as that read would be)."""
    stmt = readable_group_sessions(actor).where(col(GroupSession.id).in_(ids))
    rendered: dict[uuid.UUID, BaseModel] = {}
    for row in (await session.exec(stmt)).all():
        attendees = await attendees_of(session, row)
        visible = VisibleGroup(row, attendees, await _audience(session, actor, row, attendees))
        await log_group_read(session, actor, visible, now)
        rendered[row.id] = (await group_public(session, ring, actor, visible)).view
    return rendered


async def export_my_group_sessions(
    session: AsyncSession, ring: KeyRing, actor: Actor
) -> list[GroupSessionPublic]:
    """Every group session the caller attended (or was invited to) or facilitated, oldest
    first, as they see it."""
    mine = select(col(GroupAttendee.group_session_id)).where(
        col(GroupAttendee.organisation_id) == actor.organisation_id,
        col(GroupAttendee.staff_id) == actor.id,
    )
    stmt = (
        select(GroupSession)
        .where(
            col(GroupSession.organisation_id) == actor.organisation_id,
            sa.or_(col(GroupSession.facilitator_id) == actor.id, col(GroupSession.id).in_(mine)),
        )
        .order_by(col(GroupSession.scheduled_for), col(GroupSession.id))
    )
    found = []
    for row in (await session.exec(stmt)).all():
        visible = VisibleGroup(row, await attendees_of(session, row), Audience.full)
        found.append((await group_public(session, ring, actor, visible)).view)
    return found
