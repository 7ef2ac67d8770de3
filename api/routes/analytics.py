"""Anonymised wellbeing analytics for HR: the published differentially private release."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import HrActor, Now, ReportReader, SessionDep
from api.problems import problems
from api.refusals import audit_refusals
from models.analytics.periods import Breakdown, ReleaseKind
from models.schemas import IsoDate
from models.spreadsheet import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, neutralise
from wellbeing.analytics import (
    Answer,
    hr_aggregate,
    incident_aggregate,
    participation,
    wellbeing_download,
)
from wellbeing.analytics import Query as AggregateQuery
from wellbeing.schemas import (
    AggregatePublic,
    CellPublic,
    IncidentFiguresPublic,
    ParticipationCell,
    ParticipationPublic,
)

router = APIRouter(prefix="/analytics", tags=["analytics"])
__all__ = ["neutralise"]  # re-exported: the one neutraliser lives in models/spreadsheet.py

PERIOD_HELP = "month or quarter (weekly figures are not published: `week` answers 422)"
# The period and range every figure takes (each route gives the defaults).
Period = Annotated[ReleaseKind, Query(description=PERIOD_HELP)]
From = Annotated[IsoDate | None, Query(alias="from")]


def cells_public(answer: Answer) -> list[CellPublic]:
    return [
        CellPublic(
            period=r.period,
            group=r.group,
            label=r.label,
            n=r.n,
            mean=r.mean,
            interval=[r.low, r.high] if r.low is not None and r.high is not None else None,
            low=r.low,
            high=r.high,
            suppressed=r.suppressed,
            reason=r.reason,
        )
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
        cells=cells_public(answer),
    )


async def scoped_query(
    instrument: Annotated[str, Query(max_length=40)] = "pulse",
    measure: Annotated[str | None, Query(max_length=60)] = None,
    period: Period = ReleaseKind.month,
    from_: From = None,
    to: IsoDate | None = None,
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


@router.get(
    "/wellbeing",
    name="analytics_wellbeing",
    dependencies=[Depends(audit_refusals("analytics_wellbeing"))],
    response_model=AggregatePublic,
    responses=problems(403, 404, 422),
)
async def analytics_wellbeing_route(
    actor: HrActor, session: SessionDep, query: AggregateParams, now: Now
) -> AggregatePublic:
    """Published scores by unit subtree, role or tenure band, each with its 95% interval."""
    answer = await hr_aggregate(session, actor, query, now, endpoint="analytics_wellbeing")
    return aggregate_public(answer, query)


@router.get(
    "/wellbeing.csv",
    name="analytics_wellbeing_csv",
    dependencies=[Depends(audit_refusals("analytics_wellbeing_csv"))],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **problems(403, 404, 422)},
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
    body = await wellbeing_download(
        session, actor, query, now, endpoint="analytics_wellbeing_csv", form="csv"
    )
    return Response(
        body,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="wellbeing.csv"'},
    )


@router.get(
    "/wellbeing.xlsx",
    name="analytics_wellbeing_xlsx",
    dependencies=[Depends(audit_refusals("analytics_wellbeing_xlsx"))],
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}, **problems(403, 404, 422)},
)
async def analytics_wellbeing_xlsx_route(
    actor: HrActor, session: SessionDep, query: AggregateParams, now: Now
) -> Response:
    """The same figures as an Excel workbook (text that looks like a formula is neutralised)."""
    body = await wellbeing_download(
        session, actor, query, now, endpoint="analytics_wellbeing_xlsx", form="xlsx"
    )
    return Response(
        body,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="wellbeing.xlsx"'},
    )


@router.get(
    "/participation",
    name="analytics_participation",
    dependencies=[Depends(audit_refusals("analytics_participation"))],
    response_model=ParticipationPublic,
    responses=problems(403, 404, 422),
)
async def analytics_participation_route(
    actor: HrActor,
    session: SessionDep,
    now: Now,
    period: Period = ReleaseKind.month,
    from_: From = None,
    to: IsoDate | None = None,
    by: Breakdown = Breakdown.unit,
    unit_id: uuid.UUID | None = None,
) -> ParticipationPublic:
    """How many staff took part in check-ins (published noisy counts), by group."""
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
                low=r.low,
                high=r.high,
                rate=r.rate,
                suppressed=r.suppressed,
                reason=r.reason,
            )
            for r in rows
        ],
    )


@router.get(
    "/incidents",
    name="analytics_incidents",
    dependencies=[Depends(audit_refusals("analytics_incidents"))],
    response_model=IncidentFiguresPublic,
    responses=problems(403, 404, 422),
)
async def analytics_incidents_route(
    actor: ReportReader,
    session: SessionDep,
    now: Now,
    period: Period = ReleaseKind.month,
    from_: From = None,
    to: IsoDate | None = None,
    by: Breakdown = Breakdown.unit,
    unit_id: Annotated[
        uuid.UUID | None,
        Query(description="hr: optional (default the organisation); managers: a unit they manage"),
    ] = None,
) -> IncidentFiguresPublic:
    """Published critical incidents per person, by unit subtree (or, for the whole
    organisation, role or tenure band), each with its 95% interval."""
    answer = await incident_aggregate(session, actor, period, by, unit_id, from_, to, now)
    return IncidentFiguresPublic(
        k=answer.k,
        measure=answer.measure,
        period=period.value,
        by=by.value,
        unit_id=unit_id,
        cells=cells_public(answer),
    )
