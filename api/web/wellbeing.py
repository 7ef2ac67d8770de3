"""HR's wellbeing pages: the anonymised release by unit, role or length of service, as
charts and tables, participation, and the downloads. Built on the very calls the API's
/analytics routes make (`api/routes/analytics.py`), so a page shows only what the API would
release, and each call is audited the same way."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import Now, SessionDep
from api.refusals import audit_refusals
from api.web.forms import FormErrors
from api.web.render import page
from api.web.security import HrPage
from models.actor import Actor
from models.analytics.periods import Breakdown, ReleaseKind
from models.directory.service import list_units
from models.errors import Invalid
from models.pagination import MAX_LIMIT
from models.spreadsheet import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from wellbeing.analytics import Query as AggregateQuery
from wellbeing.analytics import hr_aggregate, participation, wellbeing_download

router = APIRouter()

BREAKDOWNS = {"unit": "Unit", "role": "Role", "tenure_band": "Length of service"}
PERIODS = {"month": "Month", "quarter": "Quarter"}
BY_HINT = "Role and length of service are published for the whole organisation only."
ORG_ONLY = (
    "Role and length of service are published for the whole organisation only: choose "
    "“The whole organisation” as the unit, or break down by unit"
)


@dataclass(frozen=True, slots=True)
class Filters:
    by: Breakdown
    period: ReleaseKind
    unit_id: uuid.UUID | None

    def query(self) -> AggregateQuery:
        return AggregateQuery("pulse", None, self.period, self.by, self.unit_id, None, None)

    def params(self) -> str:
        unit = f"&unit_id={self.unit_id}" if self.unit_id else ""
        return f"by={self.by.value}&period={self.period.value}{unit}"


async def filters(
    by: Breakdown = Breakdown.unit,
    period: Annotated[Literal["month", "quarter"], Query()] = "month",
    unit_id: Annotated[str, Query(max_length=40)] = "",
) -> Filters:
    """The page's filters (an empty unit means the whole organisation)."""
    try:
        unit = uuid.UUID(unit_id) if unit_id else None
    except ValueError as exc:
        raise Invalid("Choose a unit from the list.") from exc
    return Filters(by, ReleaseKind(period), unit)


FiltersDep = Annotated[Filters, Depends(filters)]


@dataclass
class Grid:
    """Groups down the side, periods across: each cell a figure or the reason it is hidden."""

    periods: list[date]
    groups: list[tuple[str, str]]  # (group, label)
    cells: dict[tuple[str, date], Any]


def grid(rows: Sequence[Any]) -> Grid:
    periods = sorted({r.period for r in rows})
    groups: list[tuple[str, str]] = []
    for r in rows:
        if (r.group, r.label) not in groups:
            groups.append((r.group, r.label))
    return Grid(periods, groups, {(r.group, r.period): r for r in rows})


async def _units(session: SessionDep, actor: Actor) -> list[tuple[str, str]]:
    units, _ = await list_units(session, actor, limit=MAX_LIMIT, cursor=None)
    return [("", "The whole organisation")] + sorted(
        ((str(u.id), u.name) for u in units), key=lambda pair: pair[1].casefold()
    )


@router.get(
    "/wellbeing", name="web_wellbeing", dependencies=[Depends(audit_refusals("web_wellbeing"))]
)
async def wellbeing_page(
    request: Request, actor: HrPage, session: SessionDep, chosen: FiltersDep, now: Now
) -> HTMLResponse:
    """Mean wellbeing by group and period: a chart of the released figures and the table.
    A unit with a role or length-of-service breakdown (published for the whole organisation
    only) is answered with the form and a GOV.UK error summary saying so, no figures."""
    errors = FormErrors()
    if chosen.by is not Breakdown.unit and chosen.unit_id is not None:
        errors.add("unit_id", ORG_ONLY)
    context: dict[str, Any] = {"answer": None, "scores": None, "part": None, "part_k": None}
    if not errors:
        answer = await hr_aggregate(session, actor, chosen.query(), now, endpoint="web_wellbeing")
        k, part_rows = await participation(
            session, actor, chosen.period, chosen.by, chosen.unit_id, None, None, now
        )
        context = {
            "answer": answer,
            "scores": grid(answer.rows),
            "part": grid(part_rows),
            "part_k": k,
        }
    return page(
        request,
        "wellbeing.html",
        title="Wellbeing",
        section="wellbeing",
        chosen=chosen,
        breakdowns=BREAKDOWNS,
        by_hint=BY_HINT,
        periods=PERIODS,
        units=await _units(session, actor),
        errors=errors.summary,
        by_field=errors.by_field,
        status_code=422 if errors else 200,
        **context,
    )


def _download(body: bytes, kind: str) -> Response:
    media = XLSX_MEDIA_TYPE if kind == "xlsx" else CSV_MEDIA_TYPE
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="wellbeing.{kind}"'},
    )


@router.get(
    "/wellbeing.csv",
    name="web_wellbeing_csv",
    dependencies=[Depends(audit_refusals("web_wellbeing_csv"))],
)
async def wellbeing_csv(
    actor: HrPage, session: SessionDep, chosen: FiltersDep, now: Now
) -> Response:
    """The figures on the page as CSV."""
    body = await wellbeing_download(
        session, actor, chosen.query(), now, endpoint="web_wellbeing_csv", form="csv"
    )
    return _download(body, "csv")


@router.get(
    "/wellbeing.xlsx",
    name="web_wellbeing_xlsx",
    dependencies=[Depends(audit_refusals("web_wellbeing_xlsx"))],
)
async def wellbeing_xlsx(
    actor: HrPage, session: SessionDep, chosen: FiltersDep, now: Now
) -> Response:
    """The figures on the page as an Excel workbook."""
    body = await wellbeing_download(
        session, actor, chosen.query(), now, endpoint="web_wellbeing_xlsx", form="xlsx"
    )
    return _download(body, "xlsx")
