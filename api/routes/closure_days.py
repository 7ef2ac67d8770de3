"""Closure days: an organisation's own non-working days (the bank holidays are data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AdminActor, CurrentActor, Cursor, Limit, Now, SessionDep
from api.problems import problems
from models.pagination import DEFAULT_LIMIT
from models.schemas import IsoDate, Page
from supervision.closure_days import add_closure_day, list_closure_days, remove_closure_day
from supervision.schemas import ClosureDayCreate, ClosureDayPublic

router = APIRouter(prefix="/supervision/closure-days", tags=["supervision"])


@router.get(
    "", name="list_closure_days", response_model=Page[ClosureDayPublic], responses=problems()
)
async def list_closure_days_route(
    actor: CurrentActor,
    session: SessionDep,
    since: Annotated[IsoDate | None, Query(alias="from")] = None,
    until: Annotated[IsoDate | None, Query(alias="to")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ClosureDayPublic]:
    """Your organisation's closure days in date order (`from`/`to` inclusive)."""
    return await list_closure_days(
        session, actor, since=since, until=until, limit=limit, cursor=cursor
    )


@router.post(
    "",
    name="add_closure_day",
    status_code=201,
    response_model=ClosureDayPublic,
    responses={
        200: {"description": "The date was already a closure day", "model": ClosureDayPublic},
        **problems(403, 409),
    },
)
async def add_closure_day_route(
    body: ClosureDayCreate, actor: AdminActor, session: SessionDep, now: Now, response: Response
) -> ClosureDayPublic:
    """Add a closure day (admins; the same date and name again answers 200)."""
    view, created = await add_closure_day(session, actor, body, now)
    if not created:
        response.status_code = 200
    return view


@router.delete("/{day}", name="remove_closure_day", status_code=204, responses=problems(403))
async def remove_closure_day_route(
    day: IsoDate, actor: AdminActor, session: SessionDep
) -> Response:
    """Remove a closure day (admins; removing one that is not there is a no-op)."""
    await remove_closure_day(session, actor, day)
    return Response(status_code=204)
