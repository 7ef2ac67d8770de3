""" "I'd like to talk": raise one, see who was told; the person asked acknowledges and closes.

No role is needed: whoever a request was sent to acts on it (a supervisor while they still
supervise its owner), and anyone else is answered 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CurrentActor, Cursor, IfMatchRequired, Limit, Now, SessionDep
from api.problems import problems
from api.responses import with_etag
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from wellbeing.schemas import (
    MyTalkRequestPublic,
    TalkOptionsPublic,
    TalkRequestClose,
    TalkRequestCreate,
    TalkRequestPublic,
    TalkStatus,
)
from wellbeing.talk_views import (
    acknowledge_view,
    addressed_page,
    close_view,
    mine_page,
    options_view,
    raise_view,
    talk_request_view,
)

router = APIRouter(prefix="/wellbeing/talk-requests", tags=["wellbeing"])

StatusFilter = Annotated[TalkStatus | None, Query()]


@router.get(
    "",
    name="list_talk_requests",
    response_model=Page[TalkRequestPublic],
    responses=problems(),
)
async def addressed_route(
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    status: StatusFilter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TalkRequestPublic]:
    """Requests to talk sent to you, newest first (never answers or scores; each read is
    in its owner's access log)."""
    return await addressed_page(session, actor, now, status=status, limit=limit, cursor=cursor)


@router.post(
    "",
    name="raise_talk_request",
    status_code=201,
    response_model=MyTalkRequestPublic,
    responses={
        200: {"description": "Repeat of an earlier create", "model": MyTalkRequestPublic},
        **problems(409),
    },
)
async def raise_route(
    body: TalkRequestCreate, actor: CurrentActor, session: SessionDep, now: Now, response: Response
) -> MyTalkRequestPublic:
    """Ask your supervisor, unit manager or wellbeing contact to talk (client UUID)."""
    view, created = await raise_view(session, actor, body, now)
    if not created:
        response.status_code = 200
    return view


@router.get(
    "/mine",
    name="list_my_talk_requests",
    response_model=Page[MyTalkRequestPublic],
    responses=problems(),
)
async def mine_route(
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    status: StatusFilter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[MyTalkRequestPublic]:
    """Requests to talk you raised: who was told, when it was seen, how it ended."""
    return await mine_page(session, actor, now, status=status, limit=limit, cursor=cursor)


@router.get("/options", name="talk_options", response_model=TalkOptionsPublic, responses=problems())
async def options_route(actor: CurrentActor, session: SessionDep, now: Now) -> TalkOptionsPublic:
    """Whom you can ask to talk to (and whether they are at work today), and signposting."""
    return await options_view(session, actor, now)


@router.get(
    "/{request_id}",
    name="get_talk_request",
    response_model=MyTalkRequestPublic | TalkRequestPublic,
    responses=problems(404),
)
async def get_route(
    request_id: uuid.UUID, actor: CurrentActor, session: SessionDep, now: Now, response: Response
) -> MyTalkRequestPublic | TalkRequestPublic:
    """One request: yours, or one sent to you."""
    return with_etag(await talk_request_view(session, actor, request_id, now), response)


@router.post(
    "/{request_id}/acknowledge",
    name="acknowledge_talk_request",
    response_model=TalkRequestPublic,
    responses=problems(404, 409, 412, 428),
)
async def acknowledge_route(
    request_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> MyTalkRequestPublic | TalkRequestPublic:
    """Say you have seen it and will be in touch (the person asked; If-Match)."""
    return with_etag(await acknowledge_view(session, actor, request_id, if_match, now), response)


@router.post(
    "/{request_id}/close",
    name="close_talk_request",
    response_model=MyTalkRequestPublic | TalkRequestPublic,
    responses=problems(404, 409, 412, 428),
)
async def close_route(
    request_id: uuid.UUID,
    body: TalkRequestClose,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> MyTalkRequestPublic | TalkRequestPublic:
    """Close it with an outcome (the person asked), or withdraw your own
    (`declined_by_practitioner`); If-Match."""
    return with_etag(
        await close_view(session, actor, request_id, body.outcome, if_match, now), response
    )
