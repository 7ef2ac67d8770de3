"""Critical incidents: recorded by the practitioner (or their supervisor for them); seen by
nobody else. No manager, HR or admin route lists them: those roles get only the anonymised
monthly counts."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import (
    CurrentActor,
    Cursor,
    IfMatchRequired,
    KeyRingDep,
    Limit,
    Now,
    SessionDep,
)
from api.problems import problems
from api.responses import with_etag
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from wellbeing.incident_views import (
    incident_view,
    incidents_shared_with_me,
    my_incidents,
    record_incident,
    update_incident_view,
)
from wellbeing.schemas import (
    IncidentCreate,
    IncidentPublic,
    IncidentUpdate,
    SharedIncidentPublic,
)

router = APIRouter(prefix="/wellbeing/incidents", tags=["wellbeing"])


@router.post(
    "",
    name="record_incident",
    status_code=201,
    response_model=IncidentPublic | SharedIncidentPublic,
    responses={
        200: {
            "description": "Repeat of an earlier create",
            "model": IncidentPublic | SharedIncidentPublic,
        },
        **problems(409),
    },
)
async def record_route(
    body: IncidentCreate,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> IncidentPublic | SharedIncidentPublic:
    """Record that an incident happened (yours, or a supervisee's with `staff_id`); client
    UUID, a repeat answers 200."""
    tagged, created = await record_incident(session, ring, actor, body, now)
    if not created:
        response.status_code = 200
    return with_etag(tagged, response)


@router.get("", name="list_my_incidents", response_model=Page[IncidentPublic], responses=problems())
async def mine_route(
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[IncidentPublic]:
    """Your incidents, newest first, with their follow-up check-ins."""
    return await my_incidents(session, ring, actor, limit=limit, cursor=cursor)


@router.get(
    "/shared-with-me",
    name="list_incidents_shared_with_me",
    response_model=Page[SharedIncidentPublic],
    responses=problems(),
)
async def shared_route(
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SharedIncidentPublic]:
    """Incidents your supervisees told you about (each read is in their access log)."""
    return await incidents_shared_with_me(session, actor, now, limit=limit, cursor=cursor)


@router.get(
    "/{incident_id}",
    name="get_incident",
    response_model=IncidentPublic | SharedIncidentPublic,
    responses=problems(404),
)
async def get_route(
    incident_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> IncidentPublic | SharedIncidentPublic:
    """One incident: yours, or one a supervisee shared with you."""
    return with_etag(await incident_view(session, ring, actor, incident_id, now), response)


@router.patch(
    "/{incident_id}",
    name="update_incident",
    response_model=IncidentPublic | SharedIncidentPublic,
    responses=problems(404, 412, 428),
)
async def update_route(
    incident_id: uuid.UUID,
    body: IncidentUpdate,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> IncidentPublic | SharedIncidentPublic:
    """Tell or stop telling your supervisor, the agenda, the follow-up time, your note
    (yours only; If-Match)."""
    return with_etag(
        await update_incident_view(session, ring, actor, incident_id, body, if_match, now), response
    )
