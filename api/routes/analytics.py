"""Anonymised wellbeing analytics for HR: every unit, k-rule and release check applied."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import HrActor, Now, SessionDep
from api.problems import problems
from api.refusals import audit_refusals
from models.actor import Actor
from models.disclosure import Breakdown, PeriodKind
from models.spreadsheet import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Cell,
    csv_bytes,
    neutralise,
    xlsx_bytes,
)
from wellbeing.release import Answer, participation, require_unit, wellbeing_aggregate
from wellbeing.release import Query as AggregateQuery
from wellbeing.schemas import AggregatePublic, CellPublic, ParticipationCell, ParticipationPublic

router = APIRouter(prefix="/analytics", tags=["analytics"])
__all__ = ["neutralise"]  # re-exported: the one neutraliser lives in models/spreadsheet.py

DOWNLOAD_HEADER = ("period", "group", "label", "n", "mean", "suppressed", "k")


def download_rows(answer: Answer) -> list[list[Cell]]:
    """The figures as download rows (CSV and XLSX alike; the web page's downloads too)."""
    return [
        [r.period.isoformat(), r.group, r.label, r.n, r.mean, str(r.suppressed).lower(), answer.k]
        for r in answer.rows
    ]


def aggregate_public(answer: Answer, query: AggregateQuery) -> AggregatePublic:
    return AggregatePublic(
        k=answer.k,
        instrument=query.instrument,
        measure=answer.measure,
        period=query.period.value,
        by=query.by.value,
        unit_id=query.unit_id,
        cells=[
            CellPublic(
                period=r.period,
                group=r.group,
                label=r.label,
                n=r.n,
                mean=r.mean,
                suppressed=r.suppressed,
            )
            for r in answer.rows
        ],
    )


async def scoped_query(
    instrument: Annotated[str, Query(max_length=40)] = "pulse",
    measure: Annotated[str | None, Query(max_length=60)] = None,
    period: PeriodKind = PeriodKind.month,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    by: Breakdown = Breakdown.unit,
) -> AggregateQuery:
    """The query parameters shared by HR analytics and manager oversight."""
    return AggregateQuery(instrument, measure, period, by, None, from_, to)


async def aggregate_query(
    query: Annotated[AggregateQuery, Depends(scoped_query)], unit_id: uuid.UUID | None = None
) -> AggregateQuery:
    return replace(query, unit_id=unit_id)


ScopedParams = Annotated[AggregateQuery, Depends(scoped_query)]
AggregateParams = Annotated[AggregateQuery, Depends(aggregate_query)]


async def hr_aggregate(
    actor: Actor, session: SessionDep, query: AggregateQuery, now: Now, endpoint: str
) -> Answer:
    if query.unit_id is not None:
        await require_unit(session, actor, query.unit_id)
    return await wellbeing_aggregate(session, actor, query, now, endpoint=endpoint)


@router.get(
    "/wellbeing",
    name="analytics_wellbeing",
    dependencies=[Depends(audit_refusals("analytics_wellbeing"))],
    response_model=AggregatePublic,
    responses=problems(403, 404),
)
async def analytics_wellbeing_route(
    actor: HrActor, session: SessionDep, query: AggregateParams, now: Now
) -> AggregatePublic:
    """Anonymised scores by unit subtree, role or tenure band over completed periods."""
    answer = await hr_aggregate(actor, session, query, now, "analytics_wellbeing")
    return aggregate_public(answer, query)


@router.get(
    "/wellbeing.csv",
    name="analytics_wellbeing_csv",
    dependencies=[Depends(audit_refusals("analytics_wellbeing_csv"))],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **problems(403, 404)},
)
async def analytics_wellbeing_csv_route(
    actor: HrActor,
    session: SessionDep,
    query: AggregateParams,
    now: Now,
    _format: Annotated[
        Literal["csv"] | None,
        Query(
            alias="format",
            description="csv only (anything else is a 422); spreadsheets: wellbeing.xlsx",
        ),
    ] = None,
) -> Response:
    """The same figures as CSV (fields that look like formulas are neutralised)."""
    answer = await hr_aggregate(actor, session, query, now, "analytics_wellbeing_csv")
    return Response(
        csv_bytes(DOWNLOAD_HEADER, download_rows(answer)),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="wellbeing.csv"'},
    )


@router.get(
    "/wellbeing.xlsx",
    name="analytics_wellbeing_xlsx",
    dependencies=[Depends(audit_refusals("analytics_wellbeing_xlsx"))],
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}, **problems(403, 404)},
)
async def analytics_wellbeing_xlsx_route(
    actor: HrActor, session: SessionDep, query: AggregateParams, now: Now
) -> Response:
    """The same figures as an Excel workbook (text that looks like a formula is neutralised)."""
    answer = await hr_aggregate(actor, session, query, now, "analytics_wellbeing_xlsx")
    return Response(
        xlsx_bytes("wellbeing", DOWNLOAD_HEADER, download_rows(answer)),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="wellbeing.xlsx"'},
    )


@router.get(
    "/participation",
    name="analytics_participation",
    dependencies=[Depends(audit_refusals("analytics_participation"))],
    response_model=ParticipationPublic,
    responses=problems(403, 404),
)
async def analytics_participation_route(
    actor: HrActor,
    session: SessionDep,
    now: Now,
    period: PeriodKind = PeriodKind.month,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    by: Breakdown = Breakdown.unit,
    unit_id: uuid.UUID | None = None,
) -> ParticipationPublic:
    """How many staff took part in check-ins, by group, over completed periods."""
    if unit_id is not None:
        await require_unit(session, actor, unit_id)
    k, rows = await participation(session, actor, period, by, unit_id, from_, to, now)
    return ParticipationPublic(
        k=k,
        period=period.value,
        by=by.value,
        unit_id=unit_id,
        cells=[
            ParticipationCell(
                period=r.period,
                group=r.group,
                label=r.label,
                staff=r.staff,
                participants=r.participants,
                rate=r.rate,
                suppressed=r.suppressed,
            )
            for r in rows
        ],
    )
