"""Supervision agreements: drafted by either person, signed by both, kept when superseded.

The `/supervision/agreements` part of the `/supervision` prefix, in a file of its own so each
file stays one idea (the sessions are in `supervision.py`, group sessions in
`supervision_groups.py`)."""

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
from models.agreement import AgreementStatus
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from supervision.agreements import (
    create_agreement,
    list_agreements,
    read_agreement,
    sign_agreement,
    update_agreement,
)
from supervision.schemas_agreement import (
    AgreementCreate,
    AgreementPublic,
    AgreementSummary,
    AgreementUpdate,
)

router = APIRouter(prefix="/supervision/agreements", tags=["supervision"])


@router.post(
    "",
    name="create_supervision_agreement",
    status_code=201,
    response_model=AgreementPublic,
    responses={
        **problems(404, 409),
        200: {
            "model": AgreementPublic,
            "description": "A repeat of an earlier create (same id or token)",
        },
    },
)
async def create_agreement_route(
    body: AgreementCreate,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> AgreementPublic:
    """Draft the agreement of a supervisory relationship (the supervisee, or their line
    supervisor); a new version when one is in force. Repeating the same create is safe."""
    tagged, created = await create_agreement(session, ring, actor, body, now)
    if not created:
        response.status_code = 200
    return with_etag(tagged, response)


@router.get(
    "",
    name="list_supervision_agreements",
    response_model=Page[AgreementSummary],
    responses=problems(),
)
async def list_agreements_route(
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    supervisee_id: uuid.UUID | None = None,
    status: AgreementStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AgreementSummary]:
    """Agreements you may see, every version, newest first (dates and signatures)."""
    return await list_agreements(
        session,
        actor,
        supervisee_id=supervisee_id,
        status=status,
        limit=limit,
        cursor=cursor,
        now=now,
    )


@router.get(
    "/{agreement_id}",
    name="get_supervision_agreement",
    response_model=AgreementPublic,
    responses=problems(404),
)
async def get_agreement_route(
    agreement_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> AgreementPublic:
    """One agreement: the terms for the two people in it, dates and signatures for managers
    above and admins (`access` says which)."""
    return with_etag(await read_agreement(session, ring, actor, agreement_id, now), response)


@router.put(
    "/{agreement_id}",
    name="update_supervision_agreement",
    response_model=AgreementPublic,
    responses=problems(403, 404, 409, 412, 428),
)
async def update_agreement_route(
    agreement_id: uuid.UUID,
    body: AgreementUpdate,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> AgreementPublic:
    """Rewrite a draft (either person; If-Match required); signatures so far are cleared."""
    return with_etag(
        await update_agreement(session, ring, actor, agreement_id, body, if_match, now), response
    )


@router.post(
    "/{agreement_id}/sign",
    name="sign_supervision_agreement",
    response_model=AgreementPublic,
    responses=problems(403, 404, 409, 412, 428),
)
async def sign_agreement_route(
    agreement_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> AgreementPublic:
    """Sign a draft as the supervisee or the supervisor (If-Match: the version you read); the
    second signature brings it into force and supersedes the previous version."""
    return with_etag(
        await sign_agreement(session, ring, actor, agreement_id, if_match, now), response
    )
