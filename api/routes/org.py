"""Organisation units (admins change them; everyone in the organisation can read the tree)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import (
    AdminActor,
    CurrentActor,
    Cursor,
    IfMatchRequired,
    Limit,
    Now,
    SessionDep,
)
from api.problems import problems
from models.directory.organisation import Unit
from models.directory.schemas import UnitCreate, UnitPublic, UnitUpdate
from models.directory.service import create_unit, get_unit, list_units, update_unit
from models.etag import etag_for
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page

router = APIRouter(prefix="/org/units", tags=["organisation"])


def _public(unit: Unit) -> UnitPublic:
    return UnitPublic.model_validate(unit, from_attributes=True)


@router.post(
    "",
    name="create_unit",
    status_code=201,
    response_model=UnitPublic,
    responses=problems(403, 404, 409),
)
async def create_unit_route(
    body: UnitCreate, actor: AdminActor, session: SessionDep, now: Now, response: Response
) -> UnitPublic:
    """Add a unit (directorate, service or team) under `parent_id`."""
    unit = await create_unit(session, actor, body, now)
    response.headers["ETag"] = etag_for(unit.version)
    return _public(unit)


@router.get("", name="list_units", response_model=Page[UnitPublic], responses=problems())
async def list_units_route(
    actor: CurrentActor, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[UnitPublic]:
    """The organisation's units."""
    units, next_cursor = await list_units(session, actor, limit=limit, cursor=cursor)
    return Page(data=[_public(u) for u in units], next_cursor=next_cursor)


@router.get("/{unit_id}", name="get_unit", response_model=UnitPublic, responses=problems(404))
async def get_unit_route(
    unit_id: uuid.UUID, actor: CurrentActor, session: SessionDep, response: Response
) -> UnitPublic:
    """One unit, with its ETag for updates."""
    unit = await get_unit(session, actor, unit_id)
    response.headers["ETag"] = etag_for(unit.version)
    return _public(unit)


@router.patch(
    "/{unit_id}",
    name="update_unit",
    response_model=UnitPublic,
    responses=problems(403, 404, 409, 412, 428),
)
async def update_unit_route(
    unit_id: uuid.UUID,
    body: UnitUpdate,
    actor: AdminActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> UnitPublic:
    """Rename, move or change the manager of a unit (If-Match required)."""
    unit = await update_unit(session, actor, unit_id, body, if_match, now)
    response.headers["ETag"] = etag_for(unit.version)
    return _public(unit)
