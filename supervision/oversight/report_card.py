"""The Outcomes Based Accountability report card for supervision in one unit's subtree.

How much did we do, how well did we do it, is anyone better off: each figure for the last
completed month or quarter beside the one before it. The supervision figures come from a
fixed number of statements (scope, policy, people, cadence baseline, absences, sessions); the
cadence arithmetic is `supervision.policy`'s. The feedback figures are released only through
the canonical k-rule release of `models.disclosure` (the same machinery as the wellbeing
aggregates), over every rating in the organisation, so no unit, parent or period can be
differenced against another to recover one person's rating. See docs/report-card.md.
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
from models.directory.organisation import Unit
from models.directory.staff import Cohort, Role, Staff
from models.disclosure import (
    TENURE_BANDS,
    Figure,
    Observation,
    PeriodKind,
    Release,
    period_end,
    period_start,
    release,
    total,
)
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
from models.supervision import (
    HELD_STATUSES,
    SessionFeedback,
    SessionKind,
    SessionStatus,
    SupervisionSession,
)
from models.wellbeing import DEFAULT_K, WellbeingSettings, audit_analytics
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

FEEDBACK_KINDS = (PeriodKind.month, PeriodKind.quarter)


async def _require_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> None:
    """Managers: units in their subtrees; HR: any unit of the organisation; else 404."""
    stmt = select(col(Unit.id)).where(
        col(Unit.organisation_id) == actor.organisation_id, col(Unit.id) == unit_id
    )
    if not actor.has(Role.hr):
        stmt = stmt.where(col(Unit.id).in_(managed_units(actor)))
    if (await session.exec(stmt)).first() is None:
        raise NotFound("No such unit.")


def completed_periods(kind: PeriodKind, today: date) -> tuple[date, date]:
    """Starts of the last completed period and of the one before it."""
    current = period_start(kind, period_start(kind, today) - timedelta(days=1))
    return current, period_start(kind, current - timedelta(days=1))


@dataclass
class _Period:
    start: date
    end: date  # the first day after

    def holds(self, day: date | None) -> bool:
        return day is not None and self.start <= day < self.end


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


def _how_much(rows: Sequence[_Session], period: _Period) -> dict[str, int]:
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
    return {
        "sessions_held": len(held),
        "people_supervised": len({r.supervisee_id for r in held}),
        "cancellations": len(cancelled),
        "cancelled_by_supervisor": by_supervisor,
        "cancelled_by_supervisee": by_supervisee,
        "cancelled_by_manager": len(cancelled) - by_supervisor - by_supervisee,
    }


def _how_well(
    rows: Sequence[_Session],
    period: _Period,
    policy: CadencePolicy,
    people: Sequence[tuple[uuid.UUID, Cohort, date]],
    before: dict[uuid.UUID, date],
    spans: dict[uuid.UUID, list[tuple[date, date]]],
    group_days: dict[uuid.UUID, list[date]],
) -> tuple[int, float | None, float | None, float | None, float | None]:
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
    return (
        len(in_post),
        _rate(within, len(in_post)),
        _rate(written, len(held)),
        _rate(signed, len(held)),
        _rate(long_enough, len(held)),
    )


async def _k(session: AsyncSession, organisation_id: uuid.UUID) -> int:
    found = (
        await session.exec(
            select(col(WellbeingSettings.k_threshold)).where(
                col(WellbeingSettings.organisation_id) == organisation_id
            )
        )
    ).first()
    return int(found) if found is not None else DEFAULT_K


async def feedback_observations(
    session: AsyncSession, organisation_id: uuid.UUID
) -> tuple[list[Observation], list[Observation]]:
    """Every rating in the organisation as (helpful, felt safe) observations: the person is
    the supervisee, the day the day the rating was given (never backdated, so a completed
    period's data cannot change later), the unit path the snapshot taken then."""
    units = (
        await session.exec(
            select(col(Unit.id), col(Unit.parent_id)).where(
                col(Unit.organisation_id) == organisation_id
            )
        )
    ).all()
    parent = dict(units)
    paths: dict[uuid.UUID | None, tuple[str, ...]] = {None: ()}

    def path_of(unit_id: uuid.UUID | None) -> tuple[str, ...]:
        chain: list[str] = []
        seen: set[uuid.UUID] = set()
        current = unit_id
        while current is not None and current not in seen:
            seen.add(current)
            chain.append(str(current))
            current = parent.get(current)
        return tuple(reversed(chain))

    f, s = SessionFeedback, SupervisionSession
    stmt = (
        select(f, s, col(Staff.unit_id))
        .join(s, sa.and_(col(s.id) == col(f.session_id), col(s.organisation_id) == organisation_id))
        .join(
            Staff,
            sa.and_(
                col(Staff.id) == col(s.supervisee_id), col(Staff.organisation_id) == organisation_id
            ),
        )
        .where(col(f.organisation_id) == organisation_id)
    )
    helpful: list[Observation] = []
    felt_safe: list[Observation] = []
    for rating, sess, unit_id in (await session.exec(stmt)).all():
        if unit_id not in paths:
            paths[unit_id] = path_of(unit_id)
        path = tuple(rating.unit_path) if rating.unit_path is not None else paths[unit_id]
        for target, value in ((helpful, rating.helpful), (felt_safe, rating.felt_safe)):
            target.append(
                Observation(
                    sess.supervisee_id,
                    rating.created_at.date(),
                    path,
                    "other",
                    TENURE_BANDS[0],
                    float(value),
                )
            )
    return helpful, felt_safe


def _released(figure: Figure) -> ReleasedFigure:
    mean = round(figure.mean, 2) if figure.mean is not None else None
    return ReleasedFigure(n=figure.n, mean=mean, suppressed=figure.suppressed)


def _pair(
    result: Release, kind: PeriodKind, current: date, previous: date, scope: str
) -> ReleasedPair:
    return ReleasedPair(
        current=_released(result.figure(total(kind, current, scope))),
        previous=_released(result.figure(total(kind, previous, scope))),
    )


async def report_card(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID, kind: PeriodKind, now: datetime
) -> ReportCard:
    """The report card for `unit_id`'s subtree (audited like every analytics call)."""
    await _require_unit(session, actor, unit_id)
    org = actor.organisation_id
    today = now.date()
    current_start, previous_start = completed_periods(kind, today)
    current = _Period(current_start, period_end(kind, current_start))
    previous = _Period(previous_start, current_start)
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
    much = {p: _how_much(rows, period) for p, period in (("c", current), ("p", previous))}
    practice, groups = await practice_counts(
        session,
        org,
        [(p.id, p.started_on) for p in found],
        [(current.start, current.end), (previous.start, previous.end)],
    )
    group_days = counted_group_days(policy, groups)
    well = {
        p: _how_well(rows, period, policy, people, before, spans, group_days)
        for p, period in (("c", current), ("p", previous))
    }
    k = await _k(session, org)
    helpful_obs, safe_obs = await feedback_observations(session, org)
    helpful = release(helpful_obs, k, until=today, kinds=FEEDBACK_KINDS)
    felt_safe = release(safe_obs, k, until=today, kinds=FEEDBACK_KINDS)
    scope = str(unit_id)
    better = BetterOff(
        helpful=_pair(helpful, kind, current.start, previous.start, scope),
        felt_safe=_pair(felt_safe, kind, current.start, previous.start, scope),
    )

    def counts(name: str) -> CountPair:
        return CountPair(current=much["c"][name], previous=much["p"][name])

    def rates(index: int) -> RatePair:
        return RatePair(current=well["c"][index], previous=well["p"][index])

    card = ReportCard(
        unit_id=unit_id,
        period=kind.value,
        current_period_start=current.start,
        current_period_end=current.end - timedelta(days=1),
        previous_period_start=previous.start,
        previous_period_end=previous.end - timedelta(days=1),
        k=k,
        how_much=HowMuch(
            sessions_held=counts("sessions_held"),
            people_supervised=counts("people_supervised"),
            cancellations=counts("cancellations"),
            cancelled_by_supervisor=counts("cancelled_by_supervisor"),
            cancelled_by_supervisee=counts("cancelled_by_supervisee"),
            cancelled_by_manager=counts("cancelled_by_manager"),
        ),
        how_well=HowWell(
            staff_count=CountPair(current=well["c"][0], previous=well["p"][0]),
            within_cadence_rate=rates(1),
            written_on_time_rate=rates(2),
            signed_on_time_rate=rates(3),
            at_least_minimum_rate=rates(4),
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


CSV_HEADER = ("section", "figure", "current", "previous", "current_n", "previous_n")


def _cell(value: float | int | None) -> str:
    return "" if value is None else str(value)


def report_card_rows(card: ReportCard) -> list[tuple[str, ...]]:
    """The card as CSV rows: one per figure, current beside previous; a suppressed
    feedback figure reads "suppressed" with no n."""
    rows: list[tuple[str, ...]] = [CSV_HEADER]
    sections = (("how_much", card.how_much), ("how_well", card.how_well))
    for section, group in (*sections, ("practice", card.practice)):
        for name, pair in group:
            rows.append((section, name, _cell(pair.current), _cell(pair.previous), "", ""))
    for name, released in card.better_off:
        now_f, before_f = released.current, released.previous
        rows.append(
            (
                "better_off",
                f"{name}_mean",
                "suppressed" if now_f.suppressed else _cell(now_f.mean),
                "suppressed" if before_f.suppressed else _cell(before_f.mean),
                _cell(now_f.n),
                _cell(before_f.n),
            )
        )
    if card.wellbeing is not None:
        now_f, before_f = card.wellbeing.current, card.wellbeing.previous
        rows.append(
            (
                "better_off",
                f"wellbeing_{card.wellbeing.measure}_mean",
                "suppressed" if now_f.suppressed else _cell(now_f.mean),
                "suppressed" if before_f.suppressed else _cell(before_f.mean),
                _cell(now_f.n),
                _cell(before_f.n),
            )
        )
        direction = card.wellbeing.direction or ""
        rows.append(("better_off", "wellbeing_direction", direction, "", "", ""))
    return rows
