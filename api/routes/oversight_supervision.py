"""Oversight of supervision: unit roll-ups, trends, a supervisor's view (no record text)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import Now, SessionDep, require
from api.problems import problems
from models.actor import Actor
from models.staff import Role
from supervision.oversight import supervisees_oversight, unit_oversight
from supervision.schemas_oversight import (
    SupervisionTrend,
    SupervisorOversight,
    UnitSupervisionOversight,
)
from supervision.trend import unit_trend

router = APIRouter(prefix="/oversight", tags=["oversight"])

Overseer = Annotated[Actor, Depends(require(Role.manager, Role.admin, Role.hr))]
SupervisorActor = Annotated[Actor, Depends(require(Role.supervisor))]


@router.get(
    "/units/{unit_id}/supervision",
    name="get_unit_supervision_oversight",
    response_model=UnitSupervisionOversight,
    responses=problems(403, 404),
)
async def unit_supervision_route(
    unit_id: uuid.UUID, actor: Overseer, session: SessionDep, now: Now
) -> UnitSupervisionOversight:
    """Who in the unit's subtree is within cadence or overdue (HR: counts only)."""
    return await unit_oversight(session, actor, unit_id, now)


@router.get(
    "/units/{unit_id}/supervision/trend",
    name="get_unit_supervision_trend",
    response_model=SupervisionTrend,
    responses=problems(403, 404),
)
async def unit_supervision_trend_route(
    unit_id: uuid.UUID,
    actor: Overseer,
    session: SessionDep,
    now: Now,
    months: Annotated[int, Query(ge=1, le=36)] = 12,
) -> SupervisionTrend:
    """Monthly share of people within cadence, sessions held and cancellations."""
    return await unit_trend(session, actor, unit_id, months, now)


@router.get(
    "/supervisees/supervision",
    name="get_supervisees_supervision_oversight",
    response_model=SupervisorOversight,
    responses=problems(403),
)
async def supervisees_supervision_route(
    actor: SupervisorActor, session: SessionDep, now: Now
) -> SupervisorOversight:
    """A supervisor's view: cadence, actions and pending write-ups for each supervisee."""
    return SupervisorOversight(staff=await supervisees_oversight(session, actor, now))
