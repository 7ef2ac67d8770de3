"""Anonymised wellbeing figures for HR and managers: the published release, read only.

Every figure was decided once by the publisher (`wellbeing/publish.py`) and stored with its
noise; a call here reads the stored rows of the asked slice, applies today's k display rule
(`models.analytics.published`) and audits itself. Nothing statistical runs here, so asking
twice, after a k change, a restructure or a late check-in answers the same numbers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.analytics.periods import Breakdown, ReleaseKind, period_end, periods
from models.analytics.published import (
    DIRECT,
    INCIDENTS,
    NO_ONE,
    ROOT,
    WELLBEING,
    Shown,
    display_k,
    published_rows,
    shown,
    unpublished,
)
from models.directory.organisation import Unit
from models.directory.staff import Role
from models.errors import Invalid, NotFound
from models.scope import managed_units
from models.spreadsheet import Cell, csv_bytes, xlsx_bytes
from models.wellbeing import audit_analytics
from wellbeing.instruments import latest
from wellbeing.publish import INSTRUMENT

DEFAULT_SPAN = {ReleaseKind.month: 12, ReleaseKind.quarter: 4}
MAX_PERIODS = 106


@dataclass(frozen=True, slots=True)
class Query:
    instrument: str
    measure: str | None
    period: ReleaseKind
    by: Breakdown
    unit_id: uuid.UUID | None
    start: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class Row:
    period: date
    group: str
    label: str
    n: int | None
    mean: float | None
    low: float | None
    high: float | None
    suppressed: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    k: int
    measure: str
    rows: list[Row]


async def require_manageable_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> None:
    """404 unless `unit_id` lies in a subtree the caller manages."""
    found = (
        await session.exec(
            select(col(Unit.id)).where(
                col(Unit.organisation_id) == actor.organisation_id,
                col(Unit.id) == unit_id,
                col(Unit.id).in_(managed_units(actor)),
            )
        )
    ).first()
    if found is None:
        raise NotFound("No such unit.")


async def require_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> None:
    found = (
        await session.exec(
            select(col(Unit.id)).where(
                col(Unit.organisation_id) == actor.organisation_id, col(Unit.id) == unit_id
            )
        )
    ).first()
    if found is None:
        raise NotFound("No such unit.")


def window(kind: ReleaseKind, start: date | None, end: date | None, today: date) -> list[date]:
    """Completed periods in the asked range (default: the last few before today)."""
    last = end or today
    if start is None:
        starts = periods(kind, last - timedelta(days=400), last)
        starts = starts[-(DEFAULT_SPAN[kind] + 1) :]
    else:
        if start > last:
            raise Invalid("`from` must not be after `to`.")
        starts = periods(kind, start, last)
    if len(starts) > MAX_PERIODS:
        raise Invalid(f"Ask for at most {MAX_PERIODS} periods at a time.")
    return [s for s in starts if period_end(kind, s) <= today]


def _check(query: Query) -> str:
    """The measure asked for, or 422: only the pulse's primary measure is published, and the
    role and tenure breakdowns only for the whole organisation (the budget carries no more)."""
    instrument = latest(query.instrument)
    if instrument is None:
        raise Invalid(f"There is no instrument called {query.instrument!r}.")
    measure = query.measure or instrument.primary
    if instrument.subscale(measure) is None:
        raise Invalid(f"{instrument.name} has no measure called {measure!r}.")
    pulse = latest(INSTRUMENT)
    if instrument.key != INSTRUMENT or pulse is None or measure != pulse.primary:
        raise Invalid(
            f"Only the {INSTRUMENT} instrument's {pulse.primary if pulse else ''} score is "
            "published as anonymised figures (the privacy budget carries no more)."
        )
    if query.by is not Breakdown.unit and query.unit_id is not None:
        raise Invalid(
            "The role and tenure-band breakdowns are published for the whole organisation "
            "only; ask without unit_id, or by=unit."
        )
    return measure


def _group(figure: Shown, scope: str) -> str:
    if figure.node == scope:
        return "total"
    if figure.node.endswith(DIRECT):
        return "direct"
    return figure.node


async def slice_rows(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    measure: str,
    kind: ReleaseKind,
    by: Breakdown,
    unit_id: uuid.UUID | None,
    starts: list[date],
    k: int,
) -> list[Shown]:
    """The scope's figure and its children's in the breakdown's tree, per period; a period
    not yet published answers one row saying so."""
    tree = by.value if by is not Breakdown.unit else "unit"
    scope = str(unit_id) if unit_id else ROOT
    rows, published = await published_rows(
        session, organisation_id, measure, kind, tree, scope, starts
    )
    by_period: dict[date, list[Shown]] = {}
    for row in rows:
        by_period.setdefault(row.period_start, []).append(shown(row, k))
    found: list[Shown] = []
    for start in starts:
        figures = by_period.get(start, [])
        if start not in published:
            found.append(unpublished(start, scope, "All" if scope == ROOT else ""))
        elif not figures:
            found.append(
                Shown(start, scope, None, "", None, None, None, None, None, None, 0, True, NO_ONE)
            )
        else:
            figures.sort(key=lambda f: (f.node != scope, f.node.endswith(DIRECT), f.label))
            found += figures
    return found


async def wellbeing_aggregate(
    session: AsyncSession, actor: Actor, query: Query, now: datetime, *, endpoint: str
) -> Answer:
    """The published cells for one slice; the caller's scope was checked by the route's guard."""
    measure = _check(query)
    starts = window(query.period, query.start, query.end, now.date())
    k = await display_k(session, actor.organisation_id)
    scope = str(query.unit_id) if query.unit_id else ROOT
    figures = await slice_rows(
        session,
        actor.organisation_id,
        WELLBEING,
        query.period,
        query.by,
        query.unit_id,
        starts,
        k,
    )
    rows = [
        Row(f.period, _group(f, scope), f.label, f.n, f.mean, f.low, f.high, f.suppressed, f.reason)
        for f in figures
    ]
    released = sum(1 for r in rows if not r.suppressed)
    params = {
        "instrument": query.instrument,
        "measure": measure,
        "period": query.period.value,
        "by": query.by.value,
        "unit_id": query.unit_id,
        "from": query.start,
        "to": query.end,
    }
    await audit_analytics(
        session, actor, endpoint, params, now, released=released, suppressed=len(rows) - released
    )
    return Answer(k=k, measure=measure, rows=rows)


async def incident_aggregate(
    session: AsyncSession,
    actor: Actor,
    kind: ReleaseKind,
    by: Breakdown,
    unit_id: uuid.UUID | None,
    start: date | None,
    end: date | None,
    now: datetime,
) -> Answer:
    """Critical incidents per person, as published (the `incidents` measure): HR for the
    organisation or any unit; a manager (without the hr role) for a unit in a subtree they
    manage (404 otherwise; the unit must be named). `n` is the published number of people
    in the group (everyone in the period's snapshot), `mean` incidents per person."""
    if by is not Breakdown.unit and unit_id is not None:
        raise Invalid(
            "The role and tenure-band breakdowns are published for the whole organisation "
            "only; ask without unit_id, or by=unit."
        )
    if actor.has(Role.hr):
        if unit_id is not None:
            await require_unit(session, actor, unit_id)
    elif unit_id is None:
        raise Invalid("Name a unit you manage (unit_id): managers see their own subtrees.")
    else:
        await require_manageable_unit(session, actor, unit_id)
    starts = window(kind, start, end, now.date())
    k = await display_k(session, actor.organisation_id)
    scope = str(unit_id) if unit_id else ROOT
    figures = await slice_rows(
        session, actor.organisation_id, INCIDENTS, kind, by, unit_id, starts, k
    )
    rows = [
        Row(f.period, _group(f, scope), f.label, f.n, f.mean, f.low, f.high, f.suppressed, f.reason)
        for f in figures
    ]
    released = sum(1 for r in rows if not r.suppressed)
    params = {"period": kind.value, "by": by.value, "unit_id": unit_id, "from": start, "to": end}
    await audit_analytics(
        session,
        actor,
        "analytics_incidents",
        params,
        now,
        released=released,
        suppressed=len(rows) - released,
    )
    return Answer(k=k, measure=INCIDENTS, rows=rows)


DOWNLOAD_HEADER = (
    "period",
    "group",
    "label",
    "n",
    "mean",
    "low",
    "high",
    "suppressed",
    "reason",
    "k",
)


def download_rows(answer: Answer) -> list[list[Cell]]:
    """The figures as download rows (CSV and XLSX alike; the web page's downloads too)."""
    return [
        [
            r.period.isoformat(),
            r.group,
            r.label,
            r.n,
            r.mean,
            r.low,
            r.high,
            str(r.suppressed).lower(),
            r.reason or "",
            answer.k,
        ]
        for r in answer.rows
    ]


async def wellbeing_download(
    session: AsyncSession,
    actor: Actor,
    query: Query,
    now: datetime,
    *,
    endpoint: str,
    form: str,
) -> bytes:
    """The same figures as a CSV or XLSX file (text that looks like a formula neutralised)."""
    if query.unit_id is not None:
        await require_unit(session, actor, query.unit_id)
    answer = await wellbeing_aggregate(session, actor, query, now, endpoint=endpoint)
    if form == "xlsx":
        return xlsx_bytes("wellbeing", DOWNLOAD_HEADER, download_rows(answer))
    return csv_bytes(DOWNLOAD_HEADER, download_rows(answer))


async def hr_aggregate(
    session: AsyncSession, actor: Actor, query: Query, now: datetime, *, endpoint: str
) -> Answer:
    """HR: any unit of the organisation, or the whole organisation."""
    if query.unit_id is not None:
        await require_unit(session, actor, query.unit_id)
    return await wellbeing_aggregate(session, actor, query, now, endpoint=endpoint)


async def manager_aggregate(
    session: AsyncSession, actor: Actor, query: Query, now: datetime
) -> Answer:
    """Managers: a unit in a subtree they manage (404 otherwise)."""
    if query.unit_id is None:  # pragma: no cover - the route always names the unit
        raise NotFound("No such unit.")
    await require_manageable_unit(session, actor, query.unit_id)
    return await wellbeing_aggregate(session, actor, query, now, endpoint="oversight_wellbeing")


@dataclass(frozen=True, slots=True)
class ParticipationRow:
    period: date
    group: str
    label: str
    staff: int | None
    participants: int | None
    low: int | None
    high: int | None
    rate: float | None
    suppressed: bool
    reason: str | None


async def participation(
    session: AsyncSession,
    actor: Actor,
    kind: ReleaseKind,
    by: Breakdown,
    unit_id: uuid.UUID | None,
    start: date | None,
    end: date | None,
    now: datetime,
) -> tuple[int, list[ParticipationRow]]:
    """How many people checked in (the pulse) per completed period and group: the wellbeing
    measure's published noisy count of people, over the head count of the period's
    membership snapshot (staff are not check-ins: that count is exact)."""
    if unit_id is not None:
        await require_unit(session, actor, unit_id)
    if by is not Breakdown.unit and unit_id is not None:
        _check(Query(INSTRUMENT, None, kind, by, unit_id, start, end))
    starts = window(kind, start, end, now.date())
    k = await display_k(session, actor.organisation_id)
    scope = str(unit_id) if unit_id else ROOT
    figures = await slice_rows(
        session, actor.organisation_id, WELLBEING, kind, by, unit_id, starts, k
    )
    rows: list[ParticipationRow] = []
    for f in figures:
        staff = f.population if not f.suppressed else None
        rate = None
        if f.n is not None and f.population:
            rate = round(min(max(f.n / f.population, 0.0), 1.0), 3)
        rows.append(
            ParticipationRow(
                f.period,
                _group(f, scope),
                f.label,
                staff,
                f.n,
                f.n_low,
                f.n_high,
                rate,
                f.suppressed,
                f.reason,
            )
        )
    released = sum(1 for r in rows if not r.suppressed)
    params = {"period": kind.value, "by": by.value, "unit_id": unit_id, "from": start, "to": end}
    await audit_analytics(
        session,
        actor,
        "analytics_participation",
        params,
        now,
        released=released,
        suppressed=len(rows) - released,
    )
    return k, rows
