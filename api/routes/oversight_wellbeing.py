"""Anonymised wellbeing for managers: units they manage (whole subtrees), published figures."""

from __future__ import annotations

import uuid
from dataclasses import replace

from fastapi import APIRouter, Depends

from api.deps import ManagerActor, Now, SessionDep
from api.problems import problems
from api.refusals import audit_refusals
from api.routes.analytics import ScopedParams, aggregate_public
from wellbeing.analytics import manager_aggregate
from wellbeing.schemas import AggregatePublic

router = APIRouter(prefix="/oversight/units", tags=["oversight"])


@router.get(
    "/{unit_id}/wellbeing",
    name="oversight_unit_wellbeing",
    dependencies=[Depends(audit_refusals("oversight_wellbeing"))],
    response_model=AggregatePublic,
    responses=problems(403, 404, 422),
)
async def oversight_wellbeing_route(
    unit_id: uuid.UUID, actor: ManagerActor, session: SessionDep, query: ScopedParams, now: Now
) -> AggregatePublic:
    """Published scores for a unit you manage, by sub-unit, with 95% intervals."""
    query = replace(query, unit_id=unit_id)
    answer = await manager_aggregate(session, actor, query, now)
    return aggregate_public(answer, query)
