"""Absences (leave, sickness): they pause the supervision clock."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from api.deps import AdminOrManager, CurrentActor, Cursor, Limit, Now, SessionDep
from api.problems import problems
from models.absence import Absence, create_absence, delete_absence, list_absences
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from supervision.schemas import AbsenceCreate, AbsencePublic

router = APIRouter(tags=["absences"])


def _public(absence: Absence) -> AbsencePublic:
    return AbsencePublic.model_validate(absence, from_attributes=True)


@router.post(
    "/staff/{staff_id}/absences",
    name="create_staff_absence",
    status_code=201,
    response_model=AbsencePublic,
    responses=problems(403, 404),
)
async def create_staff_absence_route(
    staff_id: uuid.UUID, body: AbsenceCreate, actor: AdminOrManager, session: SessionDep, now: Now
) -> AbsencePublic:
    """Record leave or sickness for someone you manage (admins: anyone)."""
    absence = await create_absence(
        session,
        actor,
        staff_id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        kind=body.kind,
        now=now,
    )
    return _public(absence)


@router.get(
    "/staff/{staff_id}/absences",
    name="list_staff_absences",
    response_model=Page[AbsencePublic],
    responses=problems(403, 404),
)
async def list_staff_absences_route(
    staff_id: uuid.UUID,
    actor: AdminOrManager,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AbsencePublic]:
    """Absences of someone you manage, newest first."""
    rows, next_cursor = await list_absences(session, actor, staff_id, limit=limit, cursor=cursor)
    return Page(data=[_public(a) for a in rows], next_cursor=next_cursor)


@router.delete(
    "/staff/{staff_id}/absences/{absence_id}",
    name="delete_staff_absence",
    status_code=204,
    responses=problems(403, 404),
)
async def delete_staff_absence_route(
    staff_id: uuid.UUID, absence_id: uuid.UUID, actor: AdminOrManager, session: SessionDep
) -> Response:
    """Withdraw an absence recorded in error."""
    await delete_absence(session, actor, staff_id, absence_id)
    return Response(status_code=204)


@router.post(
    "/me/absences",
    name="create_my_absence",
    status_code=201,
    response_model=AbsencePublic,
    responses=problems(),
)
async def create_my_absence_route(
    body: AbsenceCreate, actor: CurrentActor, session: SessionDep, now: Now
) -> AbsencePublic:
    """Record your own leave or sickness."""
    absence = await create_absence(
        session,
        actor,
        actor.id,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        kind=body.kind,
        now=now,
    )
    return _public(absence)


@router.get(
    "/me/absences",
    name="list_my_absences",
    response_model=Page[AbsencePublic],
    responses=problems(),
)
async def list_my_absences_route(
    actor: CurrentActor, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[AbsencePublic]:
    """Your own absences, newest first."""
    rows, next_cursor = await list_absences(session, actor, actor.id, limit=limit, cursor=cursor)
    return Page(data=[_public(a) for a in rows], next_cursor=next_cursor)


@router.delete(
    "/me/absences/{absence_id}",
    name="delete_my_absence",
    status_code=204,
    responses=problems(404),
)
async def delete_my_absence_route(
    absence_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> Response:
    """Withdraw one of your own absences."""
    await delete_absence(session, actor, actor.id, absence_id)
    return Response(status_code=204)
