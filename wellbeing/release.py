"""Anonymised wellbeing figures for HR and managers, through the canonical release.

Loads the organisation's check-ins for one instrument and measure, runs the release
(`aggregates.release`) over every completed period, then answers the slice that was asked
for. Every call is written to the analytics audit table.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.directory.organisation import Unit
from models.directory.staff import Role, Staff
from models.disclosure import (
    Breakdown,
    Cell,
    Facet,
    Observation,
    PeriodKind,
    Release,
    Tree,
    complementary_suppression,
    partition,
    period_end,
    periods,
    release,
    role_group,
    tenure_band,
    total,
)
from models.errors import Invalid, NotFound
from models.scope import managed_units
from models.wellbeing import CheckIn, audit_analytics
from wellbeing.instruments import latest
from wellbeing.settings import settings_for

_CACHE_SIZE = 8
_CacheKey = tuple[int, date, tuple[Observation, ...]]
_cache: OrderedDict[_CacheKey, Release] = OrderedDict()


def cached_release(observations: list[Observation], k: int, until: date) -> Release:
    """`release`, remembered for the exact same data: completed periods never change, so
    repeated calls (other breakdowns, CSV after JSON) need not recompute the whole series."""
    key = (k, until, tuple(sorted(observations, key=lambda o: (o.on, str(o.person)))))
    found = _cache.get(key)
    if found is None:
        found = release(key[2], k, until=until)
        _cache[key] = found
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return found


DEFAULT_SPAN = {PeriodKind.week: 12, PeriodKind.month: 12, PeriodKind.quarter: 4}
MAX_PERIODS = 106


@dataclass(frozen=True, slots=True)
class Query:
    instrument: str
    measure: str | None
    period: PeriodKind
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
    suppressed: bool


@dataclass(frozen=True, slots=True)
class Answer:
    k: int
    measure: str
    rows: list[Row]


async def _unit_names(session: AsyncSession, actor: Actor) -> dict[str, str]:
    rows = (
        await session.exec(select(Unit).where(col(Unit.organisation_id) == actor.organisation_id))
    ).all()
    return {str(u.id): u.name for u in rows}


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


def _window(query: Query, today: date) -> list[date]:
    """Completed periods in the asked range (default: the last few before today)."""
    end = query.end or today
    if query.start is None:
        starts = periods(query.period, end - timedelta(days=400), end)
        starts = starts[-(DEFAULT_SPAN[query.period] + 1) :]
    else:
        if query.start > end:
            raise Invalid("`from` must not be after `to`.")
        starts = periods(query.period, query.start, end)
    if len(starts) > MAX_PERIODS:
        raise Invalid(f"Ask for at most {MAX_PERIODS} periods at a time.")
    return [s for s in starts if period_end(query.period, s) <= today]


async def observations(
    session: AsyncSession, organisation_id: uuid.UUID, instrument: str, measure: str
) -> list[Observation]:
    rows = (
        await session.exec(
            select(CheckIn).where(
                col(CheckIn.organisation_id) == organisation_id,
                col(CheckIn.instrument) == instrument,
            )
        )
    ).all()
    return [
        Observation(
            person=r.staff_id,
            on=r.taken_at.date(),
            unit_path=tuple(r.unit_path),
            role_group=r.role_group,
            tenure_band=r.tenure_band,
            value=float(r.scores[measure]),
        )
        for r in rows
        if measure in r.scores
    ]


def _label(cell_group: str, facet: Facet, names: dict[str, str], scope: str) -> str:
    if facet is Facet.total and cell_group == "total":
        return "All"
    if facet is Facet.direct:
        return f"Directly in {names.get(scope, 'the organisation')}" if scope else "In no unit"
    return cell_group.replace("_", " ")


async def wellbeing_aggregate(
    session: AsyncSession, actor: Actor, query: Query, now: datetime, *, endpoint: str
) -> Answer:
    """The released cells for one slice; the caller's scope was checked by the route's guard."""
    instrument = latest(query.instrument)
    if instrument is None:
        raise Invalid(f"There is no instrument called {query.instrument!r}.")
    measure = query.measure or instrument.primary
    if instrument.subscale(measure) is None:
        raise Invalid(f"{instrument.name} has no measure called {measure!r}.")
    today = now.date()
    starts = _window(query, today)
    k = (await settings_for(session, actor.organisation_id)).k_threshold
    result = cached_release(
        await observations(session, actor.organisation_id, instrument.key, measure),
        k,
        today,
    )
    names = await _unit_names(session, actor)
    scope = str(query.unit_id) if query.unit_id else ""
    rows: list[Row] = []
    for start in starts:
        parent = total(query.period, start, scope)
        for cell in [parent, *partition(query.period, start, scope, query.by, result.tree)]:
            figure = result.figure(cell)
            if cell.facet is Facet.total and cell is not parent:
                group, label = cell.scope, names.get(cell.scope, "Unit")
            else:
                group, label = cell.group, _label(cell.group, cell.facet, names, scope)
            mean = round(figure.mean, 2) if figure.mean is not None else None
            rows.append(Row(start, group, label, figure.n, mean, figure.suppressed))
    released = sum(1 for r in rows if not r.suppressed)
    params = {
        "instrument": instrument.key,
        "measure": measure,
        "period": query.period.value,
        "by": query.by.value,
        "unit_id": query.unit_id,
        "from": query.start,
        "to": query.end,
    }
    suppressed = len(rows) - released
    await audit_analytics(
        session, actor, endpoint, params, now, released=released, suppressed=suppressed
    )
    return Answer(k=k, measure=measure, rows=rows)


def _member_of(cell: Cell, path: tuple[str, ...], role: str, band: str) -> bool:
    if cell.scope and cell.scope not in path:
        return False
    if cell.facet is Facet.total:
        return True
    if cell.facet is Facet.direct:
        return (path[-1] if path else "") == cell.scope
    return (role if cell.facet is Facet.role else band) == cell.group


@dataclass(frozen=True, slots=True)
class ParticipationRow:
    period: date
    group: str
    label: str
    staff: int | None
    participants: int | None
    rate: float | None
    suppressed: bool


async def participation(
    session: AsyncSession,
    actor: Actor,
    kind: PeriodKind,
    by: Breakdown,
    unit_id: uuid.UUID | None,
    start: date | None,
    end: date | None,
    now: datetime,
) -> tuple[int, list[ParticipationRow]]:
    """How many active staff checked in (any instrument) per completed period and group.

    Groups use each person's current unit, role and tenure. A cell is suppressed when fewer
    than k people took part or fewer than k did not (either side would be a small group).
    """
    if not actor.has(Role.hr):  # pragma: no cover - the route's guard says so too
        raise NotFound("Not found.")
    today = now.date()
    query = Query("", None, kind, by, unit_id, start, end)
    starts = _window(query, today)
    k = (await settings_for(session, actor.organisation_id)).k_threshold
    staff = (
        await session.exec(
            select(Staff).where(
                col(Staff.organisation_id) == actor.organisation_id, col(Staff.active).is_(True)
            )
        )
    ).all()
    units = {
        u.id: u.parent_id
        for u in (
            await session.exec(
                select(Unit).where(col(Unit.organisation_id) == actor.organisation_id)
            )
        ).all()
    }

    def path_of(unit: uuid.UUID | None) -> tuple[str, ...]:
        path: list[str] = []
        while unit is not None and unit in units and str(unit) not in path:
            path.append(str(unit))
            unit = units[unit]
        return tuple(reversed(path))

    people = {
        s.id: (path_of(s.unit_id), role_group(s.roles), tenure_band(s.started_on, today))
        for s in staff
    }
    tree = Tree.of(p for p, _, _ in people.values())
    scope = str(unit_id) if unit_id else ""
    names = await _unit_names(session, actor)
    checkins = (
        await session.exec(
            select(CheckIn.staff_id, CheckIn.taken_at).where(
                col(CheckIn.organisation_id) == actor.organisation_id
            )
        )
    ).all()
    rows: list[ParticipationRow] = []
    for period in starts:
        stop = period_end(kind, period)
        took_part = {sid for sid, at in checkins if period <= at.date() < stop}
        parent = total(kind, period, scope)
        cells = [parent, *partition(kind, period, scope, by, tree)]
        counts: dict[Cell, tuple[int, int]] = {}
        for cell in cells:
            members = [pid for pid, member in people.items() if _member_of(cell, *member)]
            counts[cell] = (len(members), sum(1 for m in members if m in took_part))
        n = {cell: part for cell, (_, part) in counts.items()}
        hidden = {cell for cell in cells if n[cell] < k}
        complementary_suppression([(parent, cells[1:])], n, hidden, k)
        for cell in cells:
            n_staff, n_part = counts[cell]
            if cell.facet is Facet.total and cell is not parent:
                group, label = cell.scope, names.get(cell.scope, "Unit")
            else:
                group, label = cell.group, _label(cell.group, cell.facet, names, scope)
            shown = cell not in hidden
            rows.append(
                ParticipationRow(
                    period,
                    group,
                    label,
                    n_staff if shown else None,
                    n_part if shown else None,
                    round(n_part / n_staff, 3) if shown else None,
                    not shown,
                )
            )
    released = sum(1 for r in rows if not r.suppressed)
    params = {"period": kind.value, "by": by.value, "unit_id": unit_id, "from": start, "to": end}
    suppressed = len(rows) - released
    await audit_analytics(
        session,
        actor,
        "analytics_participation",
        params,
        now,
        released=released,
        suppressed=suppressed,
    )
    return k, rows
