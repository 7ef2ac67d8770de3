"""Supervision oversight pages: the units a manager manages (admins and HR: every unit, HR
as counts), each child unit to drill into, the trend, and the report card."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Now, SessionDep
from api.refusals import audit_refusals
from api.web.render import page
from api.web.security import OverseerPage, ReportPage
from api.web.tables import matches, table_view
from models.analytics.periods import ReleaseKind
from models.directory.service import get_unit
from supervision.oversight.report_card import report_card
from supervision.oversight.rollup import oversight_roots, unit_oversight
from supervision.oversight.schemas import StaffSupervisionRow
from supervision.oversight.trend import unit_trend
from wellbeing.direction import unit_direction

router = APIRouter(prefix="/units")

# "Due soon": the next session is due within this many days (and is not yet overdue).
DUE_SOON_DAYS = 14

STATUSES = {
    "": "All",
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "awaiting_write_up": "Awaiting write-up",
    "awaiting_sign_off": "Awaiting sign-off",
    "on_leave": "On leave",
    "no_agreement": "No supervision agreement",
    "agreement_review_overdue": "Agreement review overdue",
}


@dataclass(frozen=True, slots=True)
class Status:
    text: str
    colour: str


def status_of(row: StaffSupervisionRow, today: date) -> Status:
    """One tag per person, in words (colour only repeats what the words say)."""
    if row.on_leave:
        return Status("On leave", "grey")
    if row.days_overdue > 0:
        return Status(f"Overdue by {row.days_overdue} days", "red")
    if row.next_due_on <= today + timedelta(days=DUE_SOON_DAYS):
        return Status("Due soon", "yellow")
    return Status("Within cadence", "green")


def agreement_of(row: StaffSupervisionRow, today: date) -> Status:
    """The supervision agreement with their current line supervisor, in words: none, its
    review overdue, due soon (within the same 14 days as sessions), or in place."""
    due = row.agreement_review_due_on
    if not row.agreement_in_place or due is None:
        return Status("No agreement", "grey")
    when = f"{due.day} {due:%B %Y}"
    if row.agreement_review_overdue:
        return Status(f"Review overdue since {when}", "red")
    if due <= today + timedelta(days=DUE_SOON_DAYS):
        return Status(f"In place, review due {when}", "yellow")
    return Status(f"In place, review {when}", "green")


def _agreement_key(row: StaffSupervisionRow) -> tuple[int, date]:
    """None first, then reviews overdue, then in place; each by its review date."""
    if not row.agreement_in_place or row.agreement_review_due_on is None:
        return (0, date.min)
    return (1 if row.agreement_review_overdue else 2, row.agreement_review_due_on)


def _wanted(row: StaffSupervisionRow, status: str, today: date) -> bool:
    if status == "overdue":
        return row.days_overdue > 0 and not row.on_leave
    if status == "due_soon":
        soon = today + timedelta(days=DUE_SOON_DAYS)
        return row.days_overdue == 0 and not row.on_leave and row.next_due_on <= soon
    if status == "awaiting_write_up":
        return row.awaiting_write_up > 0
    if status == "awaiting_sign_off":
        return row.awaiting_sign_off > 0
    if status == "on_leave":
        return row.on_leave
    if status == "no_agreement":
        return not row.agreement_in_place
    if status == "agreement_review_overdue":
        return row.agreement_review_overdue
    return True


STAFF_KEYS = {
    "name": lambda r: r.display_name.casefold(),
    "next_due": lambda r: r.next_due_on,
    "last_held": lambda r: r.last_held_on,
    "overdue": lambda r: r.days_overdue,
    "actions": lambda r: r.open_actions,
    "pending": lambda r: r.awaiting_write_up + r.awaiting_sign_off,
    "agreement": _agreement_key,
    "groups": lambda r: r.group_sessions_last_90_days,
}
UNIT_KEYS = {
    "name": lambda u: u.name.casefold(),
    "staff": lambda u: u.staff_count,
    "rate": lambda u: u.compliance_rate,
    "overdue": lambda u: u.overdue_count,
    "agreements": lambda u: u.agreement_in_place_count,
    "groups": lambda u: u.group_sessions_last_90_days,
}


def staff_table(
    request: Request, rows: list[StaffSupervisionRow], today: date
) -> tuple[object, list[tuple[StaffSupervisionRow, Status, Status]], str, str]:
    """The staff table's view: filters from the query (status, name) then the sort."""
    query = request.query_params
    status = query.get("status", "")
    status = status if status in STATUSES else ""
    name = query.get("q", "")[:100]
    view = table_view(
        request.url.path,
        query,
        STAFF_KEYS,
        "next_due",
        keep=("status", "q", "usort", "uorder"),
        anchor="people",
    )
    shown = [r for r in rows if _wanted(r, status, today) and matches(r.display_name, name)]
    shown = view.apply(shown)
    return view, [(r, status_of(r, today), agreement_of(r, today)) for r in shown], status, name


@router.get("", name="web_units")
async def units_page(
    request: Request, actor: OverseerPage, session: SessionDep, now: Now
) -> Response:
    """Where oversight starts; one unit goes straight to its page."""
    roots = await oversight_roots(session, actor, now)
    if len(roots) == 1:
        return RedirectResponse(f"/app/units/{roots[0].unit_id}", status_code=303)
    view = table_view(request.url.path, request.query_params, UNIT_KEYS, "name")
    return page(
        request,
        "units.html",
        title="Supervision",
        section="units",
        units=view.apply(roots),
        view=view,
    )


@router.get("/{unit_id}", name="web_unit")
async def unit_page(
    request: Request, unit_id: uuid.UUID, actor: OverseerPage, session: SessionDep, now: Now
) -> HTMLResponse:
    """A unit's supervision at a glance: its roll-up, its child units, its people."""
    oversight = await unit_oversight(session, actor, unit_id, now)
    today = now.date()
    staff_view, staff, status, name = staff_table(request, oversight.staff, today)
    unit_view = table_view(
        request.url.path,
        request.query_params,
        UNIT_KEYS,
        "name",
        keep=("status", "q", "sort", "order"),
        prefix="u",
        anchor="units",
    )
    all_rows = oversight.staff
    counts = {key: sum(1 for r in all_rows if _wanted(r, key, today)) for key in STATUSES if key}
    return page(
        request,
        "unit.html",
        title=oversight.name,
        section="units",
        unit=oversight,
        children=unit_view.apply(oversight.units),
        unit_view=unit_view,
        staff=staff,
        view=staff_view,
        sees_people=bool(all_rows) or oversight.staff_count == 0,
        statuses=STATUSES,
        status=status,
        name=name,
        counts=counts,
        due_soon_days=DUE_SOON_DAYS,
    )


@router.get("/{unit_id}/trend", name="web_unit_trend")
async def trend_page(
    request: Request,
    unit_id: uuid.UUID,
    actor: OverseerPage,
    session: SessionDep,
    now: Now,
    months: Annotated[int, Query(ge=1, le=36)] = 12,
) -> HTMLResponse:
    """The share of people within cadence month by month, as a chart and a table."""
    trend = await unit_trend(session, actor, unit_id, months, now)
    name = (await get_unit(session, actor, unit_id)).name  # in scope: the trend checked
    return page(
        request,
        "trend.html",
        title=f"{name}: supervision over {months} months",
        section="units",
        unit_id=unit_id,
        unit_name=name,
        trend=trend,
        months=months,
    )


@router.get(
    "/{unit_id}/report-card",
    name="web_unit_report_card",
    dependencies=[Depends(audit_refusals("report_card"))],
)
async def report_card_page(
    request: Request,
    unit_id: uuid.UUID,
    actor: ReportPage,
    session: SessionDep,
    now: Now,
    period: Annotated[str, Query(pattern="^(month|quarter)$")] = "quarter",
) -> HTMLResponse:
    """How much, how well, is anyone better off: the last period beside the one before.
    Two domain calls, as in the API route (supervision may not import wellbeing)."""
    kind = ReleaseKind(period)
    card = await report_card(session, actor, unit_id, kind, now)
    direction = await unit_direction(
        session, actor, unit_id, kind, card.current_period_start, card.previous_period_start, now
    )
    card = card.model_copy(update={"wellbeing": direction})
    name = (await get_unit(session, actor, unit_id)).name  # in scope: the card checked
    return page(
        request,
        "report_card.html",
        title=f"{name}: report card",
        section="units",
        unit_id=unit_id,
        unit_name=name,
        card=card,
        period=period,
    )
