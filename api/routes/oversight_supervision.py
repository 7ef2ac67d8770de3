"""Oversight of supervision: unit roll-ups, trends, a supervisor's view (no record text)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import Now, Overseer, ReportReader, SessionDep, SupervisorActor
from api.problems import problems
from api.refusals import audit_refusals
from models.actor import Actor
from models.analytics.periods import ReleaseKind
from models.report_card import ReportCard
from models.spreadsheet import CSV_MEDIA_TYPE
from supervision.oversight.report_card import report_card, report_card_csv
from supervision.oversight.rollup import supervisees_oversight, unit_oversight
from supervision.oversight.schemas import (
    SupervisionTrend,
    SupervisorOversight,
    UnitSupervisionOversight,
)
from supervision.oversight.trend import unit_trend
from wellbeing.direction import unit_direction

router = APIRouter(prefix="/oversight", tags=["oversight"])


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


Period = Annotated[ReleaseKind, Query(description="month or quarter (week answers 422)")]


async def _card(
    session: SessionDep, actor: Actor, unit_id: uuid.UUID, period: ReleaseKind, now: Now
) -> ReportCard:
    """Supervision fills the card (and checks scope first); wellbeing adds its direction.
    Two domain calls because supervision may not import wellbeing (docs/report-card.md)."""
    card = await report_card(session, actor, unit_id, period, now)
    wellbeing = await unit_direction(
        session, actor, unit_id, period, card.current_period_start, card.previous_period_start, now
    )
    return card.model_copy(update={"wellbeing": wellbeing})


@router.get(
    "/units/{unit_id}/report-card",
    name="get_unit_report_card",
    dependencies=[Depends(audit_refusals("report_card"))],
    response_model=ReportCard,
    responses=problems(403, 404, 422),
)
async def report_card_route(
    unit_id: uuid.UUID,
    actor: ReportReader,
    session: SessionDep,
    now: Now,
    period: Period = ReleaseKind.quarter,
) -> ReportCard:
    """How much, how well, is anyone better off: the last completed period beside the one
    before (managers for their subtrees, HR for any unit; feedback under the k-rule)."""
    return await _card(session, actor, unit_id, period, now)


@router.get(
    "/units/{unit_id}/report-card.csv",
    name="get_unit_report_card_csv",
    dependencies=[Depends(audit_refusals("report_card"))],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **problems(403, 404, 422)},
)
async def report_card_csv_route(
    unit_id: uuid.UUID,
    actor: ReportReader,
    session: SessionDep,
    now: Now,
    period: Period = ReleaseKind.quarter,
) -> Response:
    """The report card as CSV, one row per figure."""
    card = await _card(session, actor, unit_id, period, now)
    return Response(
        content=report_card_csv(card),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="report-card.csv"'},
    )
