"""Group supervision: schedule, list, read, cancel, record, acknowledge.

The facilitator (a supervisor or manager) schedules a group of the people they supervise or
manage (the policy's size: 4 to 10), and writes the group record: who attended and who was
absent (with a reason), who presented, the case mapped with Signs of Safety (worries, what
is working well, what needs to happen, scaling 0-10, the decision and its rationale) and
the group's notes. Each attendee who was there acknowledges the record: "I have read it",
not a sign-off, because the record is the group's account of a case discussion led by the
facilitator, not a personal supervision record. Rewriting the record clears the
acknowledgements given to the words it replaces.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.base import new_id
from models.crypto import KeyRing, seal_text
from models.directory.staff import Staff
from models.errors import Conflict, Forbidden, Invalid
from models.etag import Tagged, require_match
from models.group_supervision import (
    GROUP_ATTENDEES_TABLE,
    GROUP_CASE_TEXTS,
    GROUP_SESSIONS_TABLE,
    Attendance,
    GroupAttendee,
    GroupSession,
)
from models.idempotent import create_once
from models.pagination import Keyset, keyset_page
from models.schemas import Page
from models.supervision import SessionStatus
from supervision.access import schedulable_staff
from supervision.group_views import (
    VisibleGroup,
    attendees_of,
    group_changed,
    group_public,
    group_summaries,
    load_group,
    log_group_read,
    readable_group_sessions,
)
from supervision.policy_store import load_policy
from supervision.records import CLOCK_SKEW
from supervision.schemas import Audience, CancelRequest
from supervision.schemas_group import (
    GroupRecordPut,
    GroupSessionCreate,
    GroupSessionPublic,
    GroupSessionSummary,
)
from supervision.status import local_today


def _error(loc: list[str | int], message: str) -> dict[str, object]:
    return {"loc": ["body", *loc], "msg": message, "type": "value_error"}


def _request_hash(data: GroupSessionCreate) -> str:
    body = data.model_dump(mode="json", exclude={"id"})
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _check_attendees(
    session: AsyncSession, actor: Actor, data: GroupSessionCreate
) -> list[uuid.UUID]:
    policy = await load_policy(session, actor.organisation_id)
    ids = data.attendee_ids
    if len(set(ids)) != len(ids):
        raise Invalid(
            "Each attendee is listed once.", errors=[_error(["attendee_ids"], "repeated")]
        )
    if not policy.group_min_attendees <= len(ids) <= policy.group_max_attendees:
        size = f"{policy.group_min_attendees} to {policy.group_max_attendees}"
        raise Invalid(
            f"A group has {size} attendees (the organisation's policy).",
            errors=[_error(["attendee_ids"], f"between {size} people")],
        )
    if actor.id in ids:
        raise Invalid(
            "The facilitator is not one of the attendees.",
            errors=[_error(["attendee_ids", ids.index(actor.id)], "the facilitator")],
        )
    stmt = schedulable_staff(actor).where(col(Staff.id).in_(ids))
    allowed_ids = {s.id for s in (await session.exec(stmt)).all()}
    for i, staff_id in enumerate(ids):
        if staff_id not in allowed_ids:
            raise Invalid(
                "Attendees are people you supervise or manage.",
                errors=[
                    _error(["attendee_ids", i], "not among the people you supervise or manage")
                ],
            )
    if data.presenter_id is not None and data.presenter_id not in ids:
        raise Invalid(
            "The presenter is one of the attendees.",
            errors=[_error(["presenter_id"], "not an attendee")],
        )
    return ids


async def schedule_group_session(
    session: AsyncSession, ring: KeyRing, actor: Actor, data: GroupSessionCreate, now: datetime
) -> tuple[Tagged[GroupSessionPublic], bool]:
    """Schedule a group session facilitated by the caller (a supervisor or manager: the route
    checks the role). Offline-creatable (`models.idempotent`), attendees included."""
    digest = _request_hash(data)
    attendee_ids: list[uuid.UUID] = []

    async def build() -> GroupSession:
        attendee_ids.extend(await _check_attendees(session, actor, data))
        return GroupSession(
            id=data.id or new_id(),
            organisation_id=actor.organisation_id,
            facilitator_id=actor.id,
            format=data.format,
            status=SessionStatus.scheduled,
            scheduled_for=data.scheduled_for,
            duration_minutes=data.duration_minutes,
            presenter_id=data.presenter_id,
            created_by=actor.id,
            request_hash=digest,
            created_at=now,
            updated_at=now,
        )

    def same(existing: GroupSession) -> bool:
        return (
            existing.organisation_id == actor.organisation_id
            and existing.created_by == actor.id
            and existing.request_hash == digest
        )

    row, created = await create_once(
        session,
        GroupSession,
        data.id,
        build=build,
        same=same,
        conflict="A different group session already has this id.",
    )
    if created:
        for position, staff_id in enumerate(attendee_ids):
            session.add(
                GroupAttendee(
                    organisation_id=row.organisation_id,
                    group_session_id=row.id,
                    staff_id=staff_id,
                    position=position,
                )
            )
        await session.flush()
    attendees = await attendees_of(session, row)
    if created:
        await group_changed(session, row, attendees, now)
    return await group_public(session, ring, actor, VisibleGroup(row, attendees, Audience.full)), (
        created
    )


_LATEST = Keyset[GroupSession](
    col(GroupSession.scheduled_for), col(GroupSession.id), lambda r: (r.scheduled_for, r.id)
)


async def list_group_sessions(
    session: AsyncSession,
    actor: Actor,
    *,
    status: SessionStatus | None,
    attendee_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[GroupSessionSummary]:
    """Group sessions the caller may see, latest scheduled first."""
    stmt = readable_group_sessions(actor)
    if status is not None:
        stmt = stmt.where(col(GroupSession.status) == status)
    if attendee_id is not None:
        stmt = stmt.where(
            col(GroupSession.id).in_(
                select(col(GroupAttendee.group_session_id)).where(
                    col(GroupAttendee.organisation_id) == actor.organisation_id,
                    col(GroupAttendee.staff_id) == attendee_id,
                )
            )
        )
    rows, next_cursor = await keyset_page(session, stmt, _LATEST, limit=limit, cursor=cursor)
    return Page(
        data=await group_summaries(session, actor.organisation_id, rows), next_cursor=next_cursor
    )


async def read_group_session(
    session: AsyncSession, ring: KeyRing, actor: Actor, group_id: uuid.UUID, now: datetime
) -> Tagged[GroupSessionPublic]:
    """One group session as the caller may see it (managers' and admins' reads are logged)."""
    visible = await load_group(session, actor, group_id)
    await log_group_read(session, actor, visible, now)
    return await group_public(session, ring, actor, visible)


def _facilitating(actor: Actor, visible: VisibleGroup, doing: str) -> None:
    if actor.id != visible.row.facilitator_id:
        raise Forbidden(f"Only the facilitator {doing} a group session.")


async def cancel_group_session(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    group_id: uuid.UUID,
    data: CancelRequest,
    if_match: str | None,
    now: datetime,
) -> Tagged[GroupSessionPublic]:
    """Call off a scheduled group session, with the reason (the facilitator)."""
    visible = await load_group(session, actor, group_id, lock=True)
    _facilitating(actor, visible, "cancels")
    row = visible.row
    if if_match is not None:
        require_match(if_match, row.version)
    if row.status != SessionStatus.scheduled:
        raise Conflict(
            f"A {SessionStatus(row.status).value} group session cannot be cancelled.",
            kind="wrong-state",
        )
    row.status = SessionStatus.cancelled
    row.cancelled_reason = seal_text(
        ring, data.reason, GROUP_SESSIONS_TABLE, row.id, "cancelled_reason"
    )
    row.cancelled_by = actor.id
    row.cancelled_at = now
    row.version += 1
    row.updated_at = now
    await session.flush()
    await group_changed(session, row, visible.attendees, now)
    return await group_public(session, ring, actor, visible)


async def write_group_record(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    group_id: uuid.UUID,
    data: GroupRecordPut,
    if_match: str | None,
    now: datetime,
) -> Tagged[GroupSessionPublic]:
    """Write (or rewrite) the group record: the facilitator only, If-Match required."""
    visible = await load_group(session, actor, group_id, lock=True)
    _facilitating(actor, visible, "records")
    row = visible.row
    require_match(if_match, row.version)
    if row.status == SessionStatus.cancelled:
        raise Conflict("A cancelled group session has no record.", kind="wrong-state")
    if data.held_at > now + CLOCK_SKEW:
        raise Invalid("held_at is in the future.", errors=[_error(["held_at"], "in the future")])
    by_staff = {a.staff_id: a for a in visible.attendees}
    listed = [item.staff_id for item in data.attendance]
    if sorted(listed) != sorted(by_staff):
        raise Invalid(
            "The attendance lists every invited attendee once.",
            errors=[_error(["attendance"], "not the invited attendees, each once")],
        )
    attended = {i.staff_id for i in data.attendance if i.attendance is Attendance.attended}
    if data.presenter_id is not None and data.presenter_id not in attended:
        raise Invalid(
            "The presenter is an attendee who was there.",
            errors=[_error(["presenter_id"], "not an attendee who attended")],
        )
    zones = dict(
        (
            await session.exec(
                select(col(Staff.id), col(Staff.timezone)).where(
                    col(Staff.organisation_id) == row.organisation_id,
                    col(Staff.id).in_(list(by_staff)),
                )
            )
        ).all()
    )
    for item in data.attendance:
        attendee = by_staff[item.staff_id]
        attendee.attendance = item.attendance
        attendee.absence_reason = (
            None
            if item.absence_reason is None
            else seal_text(
                ring, item.absence_reason, GROUP_ATTENDEES_TABLE, attendee.id, "absence_reason"
            )
        )
        attending = item.attendance is Attendance.attended
        attendee.held_on = local_today(data.held_at, zones[item.staff_id]) if attending else None
        attendee.acknowledged_at = None  # given to the words this record replaces
    case = data.case_discussion
    row.case_reference = None if case is None else case.case_reference
    row.scaling = None if case is None else case.scaling
    for column in GROUP_CASE_TEXTS:
        value = None if case is None else getattr(case, column)
        sealed = (
            None if value is None else seal_text(ring, value, GROUP_SESSIONS_TABLE, row.id, column)
        )
        setattr(row, column, sealed)
    row.notes = seal_text(ring, data.notes, GROUP_SESSIONS_TABLE, row.id, "notes")
    row.presenter_id = data.presenter_id
    row.status = SessionStatus.recorded
    row.held_at = data.held_at
    row.held_minutes = data.duration_minutes
    if row.recorded_at is None:
        row.recorded_at = now
    row.version += 1
    row.updated_at = now
    await session.flush()
    await group_changed(session, row, visible.attendees, now)
    return await group_public(session, ring, actor, visible)


async def acknowledge_group_record(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    group_id: uuid.UUID,
    if_match: str | None,
    now: datetime,
) -> Tagged[GroupSessionPublic]:
    """An attendee who was there acknowledges the record they read (If-Match: that version)."""
    visible = await load_group(session, actor, group_id, lock=True)
    mine = next((a for a in visible.attendees if a.staff_id == actor.id), None)
    if mine is None:
        raise Forbidden("Only the attendees acknowledge a group record.")
    row = visible.row
    require_match(if_match, row.version)
    if row.status != SessionStatus.recorded:
        raise Conflict("There is no group record to acknowledge yet.", kind="wrong-state")
    if mine.attendance != Attendance.attended:
        raise Conflict("Only those who attended acknowledge the record.", kind="not-attended")
    if mine.acknowledged_at is not None:
        raise Conflict("You have acknowledged this record already.", kind="already-done")
    mine.acknowledged_at = now
    row.version += 1
    row.updated_at = now
    await session.flush()
    await group_changed(session, row, visible.attendees, now)
    return await group_public(session, ring, actor, visible)
