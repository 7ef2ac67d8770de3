"""What Harbour holds about me, and who has read it."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentActor, Cursor, Limit, SessionDep
from api.problems import problems
from models.access_log import my_access_log
from models.pagination import DEFAULT_LIMIT
from models.schemas import AccessLogEntry, Page

router = APIRouter(prefix="/me", tags=["privacy"])


@router.get(
    "/access-log",
    name="get_my_access_log",
    response_model=Page[AccessLogEntry],
    responses=problems(),
)
async def get_my_access_log(
    actor: CurrentActor, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[AccessLogEntry]:
    """Who read my records, when, and why (newest first)."""
    rows, next_cursor = await my_access_log(session, actor, limit=limit, cursor=cursor)
    return Page(
        data=[AccessLogEntry.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )
