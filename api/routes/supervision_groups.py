"""Group supervision: Signs of Safety groups and restorative circles, with their attendees.

The `/supervision/group-sessions` part of the `/supervision` prefix. A resource of its own
rather than a `kind` on `/supervision/sessions`: a group has attendees, a presenter and a
group record, a one-to-one has one supervisee and a personal record, and a generated client
types each shape without a union (docs/supervision.md, Group supervision)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import (
    CurrentActor,
    Cursor,
    IfMatch,
    IfMatchRequired,
    KeyRingDep,
    Limit,
    Now,
    SessionDep,
    SupervisorOrManager,
)
from api.problems import problems
from api.responses import with_etag
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from models.supervision import SessionStatus
from supervision.groups import (
    acknowledge_group_record,
    cancel_group_session,
    list_group_sessions,
    read_group_session,
    schedule_group_session,
    write_group_record,
)
from supervision.schemas import CancelRequest
from supervision.schemas_group import (
    GroupRecordPut,
    GroupSessionCreate,
    GroupSessionPublic,
    GroupSessionSummary,
)

router = APIRouter(prefix="/supervision/group-sessions", tags=["supervision"])


@router.post(
    "",
    name="schedule_group_supervision",
    status_code=201,
    response_model=GroupSessionPublic,
    responses={
        **problems(403, 409),
        200: {
            "model": GroupSessionPublic,
            "description": "A repeat of an earlier create (same id or token)",
        },
    },
)
async def schedule_group_route(
    body: GroupSessionCreate,
    actor: SupervisorOrManager,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> GroupSessionPublic:
    """Schedule group supervision you facilitate, for people you supervise or manage (the
    policy's group size). Repeating the same create is safe."""
    tagged, created = await schedule_group_session(session, ring, actor, body, now)
    if not created:
        response.status_code = 200
    return with_etag(tagged, response)


@router.get(
    "",
    name="list_group_supervision",
    response_model=Page[GroupSessionSummary],
    responses=problems(),
)
async def list_groups_route(
    actor: CurrentActor,
    session: SessionDep,
    status: SessionStatus | None = None,
    attendee_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[GroupSessionSummary]:
    """Group sessions you facilitate, attend, or (managers) that people you manage attend."""
    return await list_group_sessions(
        session, actor, status=status, attendee_id=attendee_id, limit=limit, cursor=cursor
    )


@router.get(
    "/{group_id}",
    name="get_group_supervision",
    response_model=GroupSessionPublic,
    responses=problems(404),
)
async def get_group_route(
    group_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> GroupSessionPublic:
    """One group session with as much of its record as you may see (`access` says how much)."""
    return with_etag(await read_group_session(session, ring, actor, group_id, now), response)


@router.post(
    "/{group_id}/cancel",
    name="cancel_group_supervision",
    response_model=GroupSessionPublic,
    responses=problems(403, 404, 409, 412),
)
async def cancel_group_route(
    group_id: uuid.UUID,
    body: CancelRequest,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> GroupSessionPublic:
    """Call off a scheduled group session, with the reason (the facilitator; If-Match
    optional, as for one-to-ones)."""
    return with_etag(
        await cancel_group_session(session, ring, actor, group_id, body, if_match, now), response
    )


@router.put(
    "/{group_id}/record",
    name="record_group_supervision",
    response_model=GroupSessionPublic,
    responses=problems(403, 404, 409, 412, 428),
)
async def record_group_route(
    group_id: uuid.UUID,
    body: GroupRecordPut,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> GroupSessionPublic:
    """Write the group record: attendance, presenter, the case mapped, notes (the
    facilitator; If-Match required). A rewrite clears the acknowledgements."""
    return with_etag(
        await write_group_record(session, ring, actor, group_id, body, if_match, now), response
    )


@router.post(
    "/{group_id}/acknowledge",
    name="acknowledge_group_supervision",
    response_model=GroupSessionPublic,
    responses=problems(403, 404, 409, 412, 428),
)
async def acknowledge_group_route(
    group_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> GroupSessionPublic:
    """Acknowledge the group record you read (an attendee who was there; If-Match)."""
    return with_etag(
        await acknowledge_group_record(session, ring, actor, group_id, if_match, now), response
    )
