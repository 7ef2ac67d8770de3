"""Reflective notes: written offline on the phone, private unless shared with the supervisor."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from api.deps import (
    BearerClaims,
    CurrentActor,
    Cursor,
    IfMatch,
    IfMatchRequired,
    KeyRingDep,
    Limit,
    Now,
    SessionDep,
    SupervisorActor,
    invalid_token,
    one_write,
)
from api.problems import problems
from models.etag import etag_for
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from supervision.reflections.notes import (
    create_reflection_as,
    delete_reflection,
    get_reflection,
    list_my_reflections,
    list_shared_with_me,
    share_reflection,
    template_catalogue,
    to_public,
    unshare_reflection,
    update_reflection,
)
from supervision.reflections.schemas import (
    ReflectionCreate,
    ReflectionPublic,
    ReflectionShare,
    ReflectionUpdate,
    TemplateCatalogue,
)

router = APIRouter(prefix="/reflections", tags=["reflections"])


@router.get(
    "/templates",
    name="list_reflection_templates",
    response_model=TemplateCatalogue,
    responses=problems(),
)
async def list_templates_route(_actor: CurrentActor) -> TemplateCatalogue:
    """The note templates with their prompts, the tags, and the mood scale."""
    return template_catalogue()


@router.post(
    "",
    name="create_reflection",
    status_code=201,
    response_model=ReflectionPublic,
    responses={**problems(409), 200: {"model": ReflectionPublic, "description": "A repeat"}},
)
async def create_reflection_route(
    body: ReflectionCreate,
    claims: BearerClaims,
    request: Request,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> ReflectionPublic:
    """Write a note under the phone's own id; repeating the same create answers 200."""
    # The token is checked by a dependency (401 before anything else); the session is
    # opened here, not by a generator dependency, and a new note's one write needs no
    # transaction block (`one_write`). Whether the token's person is still active is
    # checked with the write (by the INSERT itself on PostgreSQL): nothing is written if not.
    async with one_write(request) as session:
        written = await create_reflection_as(
            session, ring, claims.organisation_id, claims.staff_id, body, now
        )
        if written is None:
            raise invalid_token()
        note, created = written
    if not created:
        response.status_code = 200
    response.headers["ETag"] = etag_for(note.version)
    return to_public(ring, note)


@router.get(
    "", name="list_my_reflections", response_model=Page[ReflectionPublic], responses=problems()
)
async def list_mine_route(
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ReflectionPublic]:
    """My notes, newest first."""
    rows, next_cursor = await list_my_reflections(session, actor, limit=limit, cursor=cursor)
    return Page(data=[to_public(ring, n) for n in rows], next_cursor=next_cursor)


@router.get(
    "/shared-with-me",
    name="list_reflections_shared_with_me",
    response_model=Page[ReflectionPublic],
    responses=problems(403),
)
async def shared_with_me_route(
    actor: SupervisorActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ReflectionPublic]:
    """Notes my supervisees share with me now (each read goes in their access log)."""
    rows, next_cursor = await list_shared_with_me(
        session, actor, limit=limit, cursor=cursor, now=now
    )
    return Page(data=[to_public(ring, n) for n in rows], next_cursor=next_cursor)


@router.get(
    "/{reflection_id}",
    name="get_reflection",
    response_model=ReflectionPublic,
    responses=problems(404),
)
async def get_reflection_route(
    reflection_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> ReflectionPublic:
    """One note: mine, or one shared with me as supervisor (that read is logged)."""
    note = await get_reflection(session, actor, reflection_id, now)
    response.headers["ETag"] = etag_for(note.version)
    return to_public(ring, note)


@router.put(
    "/{reflection_id}",
    name="update_reflection",
    response_model=ReflectionPublic,
    responses=problems(404, 412, 428),
)
async def update_reflection_route(
    reflection_id: uuid.UUID,
    body: ReflectionUpdate,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> ReflectionPublic:
    """Replace my note's content (If-Match required)."""
    note = await update_reflection(session, ring, actor, reflection_id, body, if_match, now)
    response.headers["ETag"] = etag_for(note.version)
    return to_public(ring, note)


@router.delete(
    "/{reflection_id}",
    name="delete_reflection",
    status_code=204,
    responses=problems(404, 412),
)
async def delete_reflection_route(
    reflection_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    if_match: IfMatch = None,
) -> Response:
    """Delete my note, leaving a tombstone for my devices; repeating it is harmless."""
    await delete_reflection(session, actor, reflection_id, if_match, now)
    return Response(status_code=204)


@router.post(
    "/{reflection_id}/share",
    name="share_reflection",
    response_model=ReflectionPublic,
    responses=problems(404),
)
async def share_reflection_route(
    reflection_id: uuid.UUID,
    body: ReflectionShare,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> ReflectionPublic:
    """Share my note with my supervisor, optionally to bring to my next supervision."""
    note = await share_reflection(session, actor, reflection_id, body, now)
    response.headers["ETag"] = etag_for(note.version)
    return to_public(ring, note)


@router.delete(
    "/{reflection_id}/share",
    name="unshare_reflection",
    response_model=ReflectionPublic,
    responses=problems(404),
)
async def unshare_reflection_route(
    reflection_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> ReflectionPublic:
    """Stop sharing my note; my supervisor can no longer read it."""
    note = await unshare_reflection(session, actor, reflection_id, now)
    response.headers["ETag"] = etag_for(note.version)
    return to_public(ring, note)
