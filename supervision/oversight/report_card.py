"""The Outcomes Based Accountability report card for supervision in one unit's subtree.

How much did we do, how well did we do it, is anyone better off: each figure for the last
completed month or quarter beside the one before it. The supervision figures come from a
fixed number of statements (scope, policy, people, cadence baseline, absences, sessions); the
cadence arithmetic is `supervision.policy`'s. The feedback figures are only read from the
published differentially private release (`models.analytics.published`), decided once per
period by the publisher with every other figure of that period, so no unit, parent, period
or k change can be differenced against another. See docs/report-card.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.absence import absence_spans
from models.actor import Actor
from models.analytics.periods import ReleaseKind, period_end, period_start
from models.analytics.published import (
    FEEDBACK_FELT_SAFE,
    FEEDBACK_HELPFUL,
    Shown,
    display_k,
    node_figures,
)
from models.directory.organisation import Unit
from models.directory.staff import Cohort, Role
from models.errors import NotFound
from models.report_card import (
    BetterOff,
    CountPair,
    HowMuch,
    HowWell,
    RatePair,
    ReleasedFigure,
    ReleasedPair,
    ReportCard,
)
from models.scope import managed_units
from models.spreadsheet import csv_bytes
from models.supervision import (
    HELD_STATUSES,
    SessionKind,
    SessionStatus,
    SupervisionSession,
)
from models.wellbeing import audit_analytics
from supervision.oversight.practice import counted_group_days, practice_counts
from supervision.oversight.rollup import people_in, staff_in_units, subtree_unit_ids
from supervision.policy import (
    CadencePolicy,
    counts_toward_cadence,
    next_due_on,
    sign_off_due_on,
    write_up_due_on,
)
from supervision.policy_store import load_policy
from supervision.status import last_counted_on


async def _require_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> None:
    """Managers: units in their subtrees; HR: any unit of the organisation; else 404."""
    stmt = select(col(Unit.id)).where(
        col(Unit.organisation_id) == actor.organisation_id, col(Unit.id) == unit_id
    )
    if not actor.has(Role.hr):
        stmt = stmt.where(col(Unit.id).in_(managed_units(actor)))
    if (await session.exec(stmt)).first() is None:
        raise NotFound("No such unit.")


def completed_periods(kind: ReleaseKind, today: date) -> tuple[date, date]:
    """Starts of the last completed period and of the one before it."""
    current = period_start(kind, period_start(kind, today) - timedelta(days=1))
    return current, period_start(kind, current - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class _Period:
    start: date
    end: date  # the first day after

    def holds(self, day: date | None) -> bool:
        return day is not None and self.start <= day < self.end


@dataclass(frozen=True, slots=True)
class Periods:
    """The last completed period and the one before it, side by side on the card."""

    current: _Period
    previous: _Period


@dataclass(frozen=True, slots=True)
class HowMuchCounts:
    sessions_held: int
    people_supervised: int
    cancellations: int
    cancelled_by_supervisor: int
    cancelled_by_supervisee: int
    cancelled_by_manager: int


@dataclass(frozen=True, slots=True)
class HowWellRates:
    staff_count: int
    within_cadence_rate: float | None
    written_on_time_rate: float | None
    signed_on_time_rate: float | None
    at_least_minimum_rate: float | None


@dataclass(frozen=True, slots=True)
class _Session:
    supervisee_id: uuid.UUID
    supervisor_id: uuid.UUID
    status: str
    kind: str
    held_on: date | None
    held_minutes: int | None
    recorded_at: datetime | None
    signed_off_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: uuid.UUID | None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _how_much(rows: Sequence[_Session], period: _Period) -> HowMuchCounts:
    held = [r for r in rows if r.status in HELD_STATUSES and period.holds(r.held_on)]
    cancelled = [
        r
        for r in rows
        if r.status == SessionStatus.cancelled
        and r.cancelled_at is not None
        and period.holds(r.cancelled_at.date())
    ]
    by_supervisor = sum(1 for r in cancelled if r.cancelled_by == r.supervisor_id)
    by_supervisee = sum(1 for r in cancelled if r.cancelled_by == r.supervisee_id)
    return HowMuchCounts(
        sessions_held=len(held),
        people_supervised=len({r.supervisee_id for r in held}),
        cancellations=len(cancelled),
        cancelled_by_supervisor=by_supervisor,
        cancelled_by_supervisee=by_supervisee,
        cancelled_by_manager=len(cancelled) - by_supervisor - by_supervisee,
    )


def _how_well(
    rows: Sequence[_Session],
    period: _Period,
    policy: CadencePolicy,
    people: Sequence[tuple[uuid.UUID, Cohort, date]],
    before: dict[uuid.UUID, date],
    spans: dict[uuid.UUID, list[tuple[date, date]]],
    group_days: dict[uuid.UUID, list[date]],
) -> HowWellRates:
    as_of = period.end - timedelta(days=1)
    # Attended group sessions count when the policy counts them (`practice.py`).
    counted = {pid: [d for d in days if d <= as_of] for pid, days in group_days.items()}
    for r in rows:
        if (
            r.status in HELD_STATUSES
            and r.held_on is not None
            and r.held_on <= as_of
            and counts_toward_cadence(policy, SessionKind(r.kind), r.held_minutes or 0)
        ):
            counted.setdefault(r.supervisee_id, []).append(r.held_on)
    in_post = [p for p in people if p[2] <= as_of]
    within = 0
    for pid, cohort, started_on in in_post:
        dates = counted.get(pid, [])
        last = max(dates) if dates else before.get(pid)
        due = next_due_on(policy, cohort, started_on, last, spans.get(pid, []))
        if as_of <= due:
            within += 1
    held = [r for r in rows if r.status in HELD_STATUSES and r.held_on and period.holds(r.held_on)]
    written = sum(
        1
        for r in held
        if r.held_on is not None
        and r.recorded_at is not None
        and r.recorded_at.date() <= write_up_due_on(policy, r.held_on)
    )
    signed = sum(
        1
        for r in held
        if r.recorded_at is not None
        and r.signed_off_at is not None
        and r.signed_off_at.date() <= sign_off_due_on(policy, r.recorded_at.date())
    )
    long_enough = sum(1 for r in held if (r.held_minutes or 0) >= policy.minimum_minutes)
    return HowWellRates(
        staff_count=len(in_post),
        within_cadence_rate=_rate(within, len(in_post)),
        written_on_time_rate=_rate(written, len(held)),
        signed_on_time_rate=_rate(signed, len(held)),
        at_least_minimum_rate=_rate(long_enough, len(held)),
    )


def _released(figure: Shown) -> ReleasedFigure:
    return ReleasedFigure(
        n=figure.n,
        mean=figure.mean,
        low=figure.low,
        high=figure.high,
        suppressed=figure.suppressed,
        reason=figure.reason,
    )


async def _feedback_pair(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    measure: str,
    kind: ReleaseKind,
    periods: Periods,
    node: str,
    k: int,
) -> ReleasedPair:
    """The unit's published figure for both periods (stored when each was decided)."""
    starts = [periods.current.start, periods.previous.start]
    found = await node_figures(session, organisation_id, measure, kind, node, starts, k)
    return ReleasedPair(
        current=_released(found[periods.current.start]),
        previous=_released(found[periods.previous.start]),
    )


async def report_card(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID, kind: ReleaseKind, now: datetime
) -> ReportCard:
    """The report card for `unit_id`'s subtree (audited like every analytics call)."""
    await _require_unit(session, actor, unit_id)
    org = actor.organisation_id
    today = now.date()
    current_start, previous_start = completed_periods(kind, today)
    current = _Period(current_start, period_end(kind, current_start))
    previous = _Period(previous_start, current_start)
    both = Periods(current, previous)
    policy = await load_policy(session, org)
    units = await subtree_unit_ids(session, org, unit_id)
    found = await people_in(session, org, staff_in_units(units))
    people = [(p.id, p.cohort, p.started_on) for p in found]
    ids = [p.id for p in found]
    before = await last_counted_on(
        session, org, ids, policy, on_or_before=previous.start - timedelta(days=1)
    )
    spans = await absence_spans(session, org, ids)
    window_from = datetime.combine(previous.start, datetime.min.time(), now.tzinfo)
    window_to = datetime.combine(current.end, datetime.min.time(), now.tzinfo)
    s = SupervisionSession
    stmt = select(s).where(
        col(s.organisation_id) == org,
        col(s.supervisee_id).in_(ids),
        sa.or_(
            sa.and_(
                col(s.status).in_([st.value for st in HELD_STATUSES]),
                col(s.held_on) >= previous.start,
                col(s.held_on) < current.end,
            ),
            sa.and_(
                col(s.status) == SessionStatus.cancelled,
                col(s.cancelled_at) >= window_from,
                col(s.cancelled_at) < window_to,
            ),
        ),
    )
    rows = [
        _Session(
            r.supervisee_id,
            r.supervisor_id,
            r.status,
            r.kind,
            r.held_on,
            r.held_minutes,
            r.recorded_at,
            r.signed_off_at,
            r.cancelled_at,
            r.cancelled_by,
        )
        for r in (await session.exec(stmt)).all()
    ]
    much_now, much_before = _how_much(rows, current), _how_much(rows, previous)
    practice, groups = await practice_counts(
        session,
        org,
        [(p.id, p.started_on) for p in found],
        [(current.start, current.end), (previous.start, previous.end)],
    )
    group_days = counted_group_days(policy, groups)
    well_now, well_before = (
        _how_well(rows, period, policy, people, before, spans, group_days)
        for period in (current, previous)
    )
    k = await display_k(session, org)
    scope = str(unit_id)
    better = BetterOff(
        helpful=await _feedback_pair(session, org, FEEDBACK_HELPFUL, kind, both, scope, k),
        felt_safe=await _feedback_pair(session, org, FEEDBACK_FELT_SAFE, kind, both, scope, k),
    )

    def counts(name: str) -> CountPair:
        return CountPair(current=getattr(much_now, name), previous=getattr(much_before, name))

    def rates(name: str) -> RatePair:
        return RatePair(current=getattr(well_now, name), previous=getattr(well_before, name))

    card = ReportCard(
        unit_id=unit_id,
        period=kind.value,
        current_period_start=current.start,
        current_period_end=current.end - timedelta(days=1),
        previous_period_start=previous.start,
        previous_period_end=previous.end - timedelta(days=1),
        k=k,
        how_much=HowMuch(**{f: counts(f) for f in HowMuch.model_fields}),
        how_well=HowWell(
            staff_count=CountPair(current=well_now.staff_count, previous=well_before.staff_count),
            within_cadence_rate=rates("within_cadence_rate"),
            written_on_time_rate=rates("written_on_time_rate"),
            signed_on_time_rate=rates("signed_on_time_rate"),
            at_least_minimum_rate=rates("at_least_minimum_rate"),
        ),
        better_off=better,
        practice=practice,
    )
    figures = [better.helpful.current, better.helpful.previous]
    figures += [better.felt_safe.current, better.felt_safe.previous]
    await audit_analytics(
        session,
        actor,
        "report_card",
        {"unit_id": unit_id, "period": kind.value},
        now,
        released=sum(1 for f in figures if not f.suppressed),
        suppressed=sum(1 for f in figures if f.suppressed),
    )
    return card


CSV_HEADER = (
    "section",
    "figure",
    "current",
    "previous",
    "current_n",
    "previous_n",
    "current_low",
    "current_high",
    "previous_low",
    "previous_high",
)
NO_INTERVAL = ("", "", "", "")


def _cell(value: float | int | None) -> str:
    return "" if value is None else str(value)


def report_card_rows(card: ReportCard) -> list[tuple[str, ...]]:
    """The card as CSV rows: one per figure, current beside previous; a suppressed
    feedback figure reads "suppressed" with no n."""
    rows: list[tuple[str, ...]] = [CSV_HEADER]
    sections = (("how_much", card.how_much), ("how_well", card.how_well))
    for section, group in (*sections, ("practice", card.practice)):
        for name, pair in group:
            rows.append(
                (section, name, _cell(pair.current), _cell(pair.previous), "", "", *NO_INTERVAL)
            )
    for name, released in card.better_off:
        rows.append(_released_row(f"{name}_mean", released.current, released.previous))
    if card.wellbeing is not None:
        now_f, before_f = card.wellbeing.current, card.wellbeing.previous
        rows.append(_released_row(f"wellbeing_{card.wellbeing.measure}_mean", now_f, before_f))
        direction = card.wellbeing.direction or ""
        rows.append(("better_off", "wellbeing_direction", direction, "", "", "", *NO_INTERVAL))
    return rows


def _released_row(figure: str, now_f: ReleasedFigure, before_f: ReleasedFigure) -> tuple[str, ...]:
    """A published mean, current beside previous, with n and the 95% interval as in the JSON
    (a hidden one reads "suppressed" with n and interval empty)."""
    return (
        "better_off",
        figure,
        "suppressed" if now_f.suppressed else _cell(now_f.mean),
        "suppressed" if before_f.suppressed else _cell(before_f.mean),
        _cell(now_f.n),
        _cell(before_f.n),
        _cell(now_f.low),
        _cell(now_f.high),
        _cell(before_f.low),
        _cell(before_f.high),
    )


def report_card_csv(card: ReportCard) -> bytes:
    """The card as a CSV file (the one formula-injection guard, `models.spreadsheet`)."""
    rows = report_card_rows(card)
    return csv_bytes(rows[0], rows[1:])
