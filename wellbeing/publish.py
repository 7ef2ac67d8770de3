"""The publisher: each completed month and quarter decided once, with its noise, and stored.

Runs in the worker (under the scheduler's lease, a few days after a period ends) and through
`harbour publish` for a backfill; never on the request path. For one organisation and one
period it takes the membership snapshot (once), then for each measure not yet in the budget
ledger: each person's answers in the period clipped to the measure's bounds and averaged
(counted once), the differentially private figures of every node of every tree
(`models.analytics.mechanism`, run in a worker thread so the event loop stays free), the
budget check against the ledger, and the figures and the ledger row stored in the caller's
transaction. A period in the ledger is never decided again: asking again, a k change, a
restructure, a moved or deleted person or a late check-in change nothing already published.
See docs/wellbeing.md and docs/privacy.md.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.analytics.budget import DEFAULT_YEAR_RHO, BudgetExhausted, Spend, check, plan
from models.analytics.mechanism import (
    Contribution,
    Measure,
    NoisyNode,
    Tree,
    displayable,
    mean_interval,
    measure_period,
)
from models.analytics.periods import (
    ROLE_GROUPS,
    TENURE_BANDS,
    ReleaseKind,
    period_end,
    periods,
    role_group,
    tenure_band,
)
from models.analytics.published import (
    DIRECT,
    FEEDBACK_FELT_SAFE,
    FEEDBACK_HELPFUL,
    INCIDENTS,
    ROOT,
    WELLBEING,
    display_k,
)
from models.analytics.tables import MembershipSnapshot, PrivacySpend, PublishedFigure
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Staff
from models.incidents import Incident
from models.supervision import SessionFeedback, SupervisionSession
from models.wellbeing import CheckIn, WellbeingSettings
from wellbeing.incidents import MONTHLY_CLIP
from wellbeing.instruments import latest

log = logging.getLogger("harbour.publish")

# A period is decided this many days after it ends, so check-ins made offline on its last
# days have synced; anything later is not in it (documented in docs/wellbeing.md).
PUBLISH_DELAY_DAYS = 3
# The worker looks back this far for periods not yet decided (a worker down for weeks still
# publishes them); older periods are published with `harbour publish --backfill-from`.
WORKER_LOOKBACK_DAYS = 120
INSTRUMENT = "pulse"
FEEDBACK_BOUNDS = (1.0, 5.0)
TREES = ("unit", "role", "tenure_band")


def measures(kind: ReleaseKind = ReleaseKind.month) -> list[Measure]:
    """The measures released for each period, in a fixed order (the budget is split between
    them): the pulse's primary score, the two session-feedback ratings, critical incidents
    per person. Participation is the wellbeing measure's count (no budget of its own)."""
    pulse = latest(INSTRUMENT)
    low, high = (5.0, 25.0)
    if pulse is not None:
        primary = pulse.subscale(pulse.primary)
        if primary is not None:
            low, high = primary.range
    months = 1 if kind is ReleaseKind.month else 3
    return [
        Measure(WELLBEING, float(low), float(high)),
        Measure(FEEDBACK_HELPFUL, *FEEDBACK_BOUNDS),
        Measure(FEEDBACK_FELT_SAFE, *FEEDBACK_BOUNDS),
        Measure(INCIDENTS, 0.0, float(MONTHLY_CLIP * months)),
    ]


@dataclass(frozen=True, slots=True)
class Member:
    staff_id: uuid.UUID
    unit_path: tuple[str, ...]
    role_group: str
    tenure_band: str


@dataclass(frozen=True, slots=True)
class Decided:
    """What one call published: (measure, kind, start) triples, and those the budget refused."""

    published: list[tuple[str, str, date]]
    refused: list[tuple[str, str, date]]


def due_periods(now: datetime, since: date | None = None) -> list[tuple[ReleaseKind, date]]:
    """Completed periods old enough to decide, oldest first (months before the quarter that
    ends with them): from `since` (a backfill) or the worker's look-back."""
    today = now.date()
    first = since or today - timedelta(days=WORKER_LOOKBACK_DAYS)
    found: list[tuple[date, int, ReleaseKind, date]] = []
    for rank, kind in enumerate(ReleaseKind):
        for start in periods(kind, first, today):
            end = period_end(kind, start)
            if start >= first and end + timedelta(days=PUBLISH_DELAY_DAYS) <= today:
                found.append((end, rank, kind, start))
    return [(kind, start) for _, _, kind, start in sorted(found)]


async def _unit_tree(
    session: AsyncSession, organisation_id: uuid.UUID
) -> tuple[dict[uuid.UUID, uuid.UUID | None], dict[str, str]]:
    rows = (
        await session.exec(select(Unit).where(col(Unit.organisation_id) == organisation_id))
    ).all()
    return {u.id: u.parent_id for u in rows}, {str(u.id): u.name for u in rows}


def _path(parents: Mapping[uuid.UUID, uuid.UUID | None], unit: uuid.UUID | None) -> list[str]:
    path: list[str] = []
    while unit is not None and unit in parents and str(unit) not in path:
        path.append(str(unit))
        unit = parents[unit]
    return list(reversed(path))


async def snapshot(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    kind: ReleaseKind,
    start: date,
    now: datetime,
) -> list[Member]:
    """The period's membership, taken the first time the period is decided and kept.

    Everyone who checked in, rated a session or recorded an incident in the period, and every
    active member of staff who had started by its end. Someone who checked in is grouped by
    their last check-in of the period (the snapshot taken then); everyone else by their unit,
    role and tenure when the snapshot is taken."""
    stored = (
        await session.exec(
            select(MembershipSnapshot).where(
                col(MembershipSnapshot.organisation_id) == organisation_id,
                col(MembershipSnapshot.period_kind) == kind.value,
                col(MembershipSnapshot.period_start) == start,
            )
        )
    ).all()
    if stored:
        return [Member(s.staff_id, tuple(s.unit_path), s.role_group, s.tenure_band) for s in stored]
    end = period_end(kind, start)
    lo, hi = _instants(start, end)
    last: dict[uuid.UUID, Member] = {}
    checkins = await session.exec(
        select(CheckIn.staff_id, CheckIn.unit_path, CheckIn.role_group, CheckIn.tenure_band)
        .where(
            col(CheckIn.organisation_id) == organisation_id,
            col(CheckIn.taken_at) >= lo,
            col(CheckIn.taken_at) < hi,
        )
        .order_by(col(CheckIn.taken_at))
    )
    for staff_id, path, group, band in checkins.all():
        last[staff_id] = Member(staff_id, tuple(path), group, band)
    others = set(await _feedback_people(session, organisation_id, lo, hi))
    others |= set(
        (
            await session.exec(
                select(col(Incident.staff_id)).where(
                    col(Incident.organisation_id) == organisation_id,
                    col(Incident.occurred_on) >= start,
                    col(Incident.occurred_on) < end,
                )
            )
        ).all()
    )
    staff = (
        await session.exec(
            select(Staff).where(
                col(Staff.organisation_id) == organisation_id,
                sa.or_(
                    sa.and_(col(Staff.active).is_(True), col(Staff.started_on) < end),
                    col(Staff.id).in_(others - set(last)),
                ),
            )
        )
    ).all()
    parents, _ = await _unit_tree(session, organisation_id)
    members = dict(last)
    for person in staff:
        if person.id not in members:
            members[person.id] = Member(
                person.id,
                tuple(_path(parents, person.unit_id)),
                role_group(person.roles),
                tenure_band(person.started_on, end - timedelta(days=1)),
            )
    ordered = sorted(members.values(), key=lambda m: str(m.staff_id))
    for m in ordered:
        session.add(
            MembershipSnapshot(
                organisation_id=organisation_id,
                period_kind=kind.value,
                period_start=start,
                staff_id=m.staff_id,
                unit_path=list(m.unit_path),
                role_group=m.role_group,
                tenure_band=m.tenure_band,
                taken_at=now,
            )
        )
    await session.flush()
    return ordered


def _instants(start: date, end: date) -> tuple[datetime, datetime]:
    """A period's days as UTC instants (check-ins and ratings are dated in UTC)."""
    return (
        datetime.combine(start, datetime.min.time(), UTC),
        datetime.combine(end, datetime.min.time(), UTC),
    )


async def _feedback_people(
    session: AsyncSession, organisation_id: uuid.UUID, lo: datetime, hi: datetime
) -> list[uuid.UUID]:
    return [r[0] for r in await _feedback(session, organisation_id, lo, hi)]


async def _feedback(
    session: AsyncSession, organisation_id: uuid.UUID, lo: datetime, hi: datetime
) -> list[tuple[uuid.UUID, int, int]]:
    f, s = SessionFeedback, SupervisionSession
    stmt = (
        select(col(s.supervisee_id), col(f.helpful), col(f.felt_safe))
        .join(s, sa.and_(col(s.id) == col(f.session_id), col(s.organisation_id) == organisation_id))
        .where(
            col(f.organisation_id) == organisation_id,
            col(f.created_at) >= lo,
            col(f.created_at) < hi,
        )
    )
    return [(a, int(b), int(c)) for a, b, c in (await session.exec(stmt)).all()]


@dataclass(frozen=True, slots=True)
class Trees:
    trees: dict[str, Tree]
    leaves: dict[uuid.UUID, dict[str, str]]
    labels: dict[tuple[str, str], str]
    population: dict[tuple[str, str], int]


def build_trees(members: Sequence[Member], names: Mapping[str, str]) -> Trees:
    """The unit, role and tenure trees of a snapshot, each person's leaf in each, labels and
    head counts. A unit with both sub-units and people of its own gets a leaf for those
    people (`<unit>:direct`), so every person sits at a leaf and children add up to parents.
    The role and tenure trees always hold every group (their shape tells nothing)."""
    parent: dict[str, str | None] = {ROOT: None}
    for m in members:
        above = ROOT
        for unit in m.unit_path:
            parent.setdefault(unit, above)  # a unit moved within the period: first seen wins
            above = unit
    has_children = {p for p in parent.values() if p is not None}
    leaves: dict[uuid.UUID, dict[str, str]] = {}
    for m in members:
        node = m.unit_path[-1] if m.unit_path else ROOT
        if node in has_children:
            node = f"{node}{DIRECT}"
            parent[node] = node[: -len(DIRECT)]
        leaves[m.staff_id] = {"unit": node, "role": m.role_group, "tenure_band": m.tenure_band}
    role: dict[str, str | None] = {ROOT: None, **dict.fromkeys(ROLE_GROUPS, ROOT)}
    band: dict[str, str | None] = {ROOT: None, **dict.fromkeys(TENURE_BANDS, ROOT)}
    trees = {"unit": Tree(parent), "role": Tree(role), "tenure_band": Tree(band)}
    labels: dict[tuple[str, str], str] = {}
    for name, tree in trees.items():
        for node in tree.parent:
            if node == ROOT:
                label = "All"
            elif name != "unit":
                label = node.replace("_", " ")
            elif node.endswith(DIRECT):
                label = f"Directly in {names.get(node[: -len(DIRECT)], 'a unit')}"
            else:
                label = names.get(node, "A former unit")
            labels[(name, node)] = label
    population: dict[tuple[str, str], int] = {}
    for leaf_of in leaves.values():
        for name, leaf in leaf_of.items():
            at: str | None = leaf
            while at is not None:
                population[(name, at)] = population.get((name, at), 0) + 1
                at = trees[name].parent.get(at)
    return Trees(trees, leaves, labels, population)


def _clip(value: float, measure: Measure) -> float:
    return min(max(value, measure.lower), measure.upper)


def _averaged(
    values: Iterable[tuple[uuid.UUID, float]], measure: Measure, trees: Trees
) -> list[Contribution]:
    """Each person once: their answers in the period clipped, then averaged."""
    per: dict[uuid.UUID, list[float]] = {}
    for person, value in values:
        if person in trees.leaves:  # someone not in the snapshot (late data) is left out
            per.setdefault(person, []).append(_clip(value, measure))
    return [
        Contribution(trees.leaves[p], sum(v) / len(v))
        for p, v in sorted(per.items(), key=lambda item: str(item[0]))
    ]


async def contributions(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    measure: Measure,
    kind: ReleaseKind,
    start: date,
    trees: Trees,
) -> list[Contribution]:
    end = period_end(kind, start)
    lo, hi = _instants(start, end)
    if measure.name == WELLBEING:
        pulse = latest(INSTRUMENT)
        key = pulse.primary if pulse is not None else "wellbeing"
        rows = await session.exec(
            select(CheckIn.staff_id, CheckIn.scores).where(
                col(CheckIn.organisation_id) == organisation_id,
                col(CheckIn.instrument) == INSTRUMENT,
                col(CheckIn.taken_at) >= lo,
                col(CheckIn.taken_at) < hi,
            )
        )
        found = [(sid, float(scores[key])) for sid, scores in rows.all() if key in scores]
        return _averaged(found, measure, trees)
    if measure.name in (FEEDBACK_HELPFUL, FEEDBACK_FELT_SAFE):
        feedback = await _feedback(session, organisation_id, lo, hi)
        helpful = measure.name == FEEDBACK_HELPFUL
        values = [(who, float(h if helpful else safe)) for who, h, safe in feedback]
        return _averaged(values, measure, trees)
    # Incidents: everyone in the snapshot counts (0 for none), their count clipped.
    counts: dict[uuid.UUID, int] = dict.fromkeys(trees.leaves, 0)
    rows_i = await session.exec(
        select(col(Incident.staff_id)).where(
            col(Incident.organisation_id) == organisation_id,
            col(Incident.occurred_on) >= start,
            col(Incident.occurred_on) < end,
        )
    )
    for staff_id in rows_i.all():
        if staff_id in counts:
            counts[staff_id] += 1
    return [
        Contribution(trees.leaves[person], _clip(float(count), measure))
        for person, count in sorted(counts.items(), key=lambda item: str(item[0]))
    ]


async def _year_rho(session: AsyncSession, organisation_id: uuid.UUID) -> float:
    found = (
        await session.exec(
            select(col(WellbeingSettings.year_rho)).where(
                col(WellbeingSettings.organisation_id) == organisation_id
            )
        )
    ).first()
    return float(found) if found is not None else DEFAULT_YEAR_RHO


async def ledger(session: AsyncSession, organisation_id: uuid.UUID) -> list[Spend]:
    rows = (
        await session.exec(
            select(PrivacySpend).where(col(PrivacySpend.organisation_id) == organisation_id)
        )
    ).all()
    return [Spend(r.measure, r.period_kind, r.period_start, r.rho) for r in rows]


def _figures(
    organisation_id: uuid.UUID,
    measure: Measure,
    kind: ReleaseKind,
    start: date,
    nodes: Sequence[NoisyNode],
    trees: Trees,
    k: int,
    now: datetime,
) -> list[PublishedFigure]:
    found: list[PublishedFigure] = []
    for node in nodes:
        tree = trees.trees[node.tree]
        depth, above = 0, tree.parent.get(node.node)
        while above is not None:
            depth, above = depth + 1, tree.parent.get(above)
        interval = mean_interval(node) if measure.has_value else None
        found.append(
            PublishedFigure(
                organisation_id=organisation_id,
                measure=measure.name,
                period_kind=kind.value,
                period_start=start,
                tree=node.tree,
                node=node.node,
                parent=tree.parent.get(node.node),
                label=trees.labels.get((node.tree, node.node), node.node)[:200],
                depth=depth,
                count=float(node.count),
                count_sd=float(node.count_sd),
                mean=None if interval is None else float(interval[0]),
                low=None if interval is None else float(interval[1]),
                high=None if interval is None else float(interval[2]),
                population=trees.population.get((node.tree, node.node), 0),
                shown=displayable(node, k),
                k=k,
                published_at=now,
            )
        )
    return found


async def publish_period(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    kind: ReleaseKind,
    start: date,
    now: datetime,
) -> Decided:
    """Decide one completed period for every measure not yet in the ledger (in the caller's
    transaction: the figures and their ledger row are committed together or not at all)."""
    published: list[tuple[str, str, date]] = []
    refused: list[tuple[str, str, date]] = []
    spent = await ledger(session, organisation_id)
    done = {(s.measure, s.period_kind, s.period_start) for s in spent}
    todo = [m for m in measures(kind) if (m.name, kind.value, start) not in done]
    if not todo:
        return Decided(published, refused)
    year_rho = await _year_rho(session, organisation_id)
    rhos = plan(year_rho, measures(kind))
    k = await display_k(session, organisation_id)
    members = await snapshot(session, organisation_id, kind, start, now)
    _, names = await _unit_tree(session, organisation_id)
    trees = build_trees(members, names)
    for measure in todo:
        spend = Spend(measure.name, kind.value, start, rhos[(measure.name, kind.value)])
        try:
            check(year_rho, spent, spend)
        except BudgetExhausted:
            log.warning("budget spent: %s %s %s not published", measure.name, kind, start)
            refused.append((measure.name, kind.value, start))
            continue
        people = await contributions(session, organisation_id, measure, kind, start, trees)
        # The statistics run in a worker thread: the event loop keeps serving meanwhile.
        nodes = await asyncio.to_thread(measure_period, people, trees.trees, measure, spend.rho)
        session.add_all(_figures(organisation_id, measure, kind, start, nodes, trees, k, now))
        session.add(
            PrivacySpend(
                organisation_id=organisation_id,
                measure=measure.name,
                period_kind=kind.value,
                period_start=start,
                rho=spend.rho,
                spent_at=now,
            )
        )
        spent.append(spend)
        published.append((measure.name, kind.value, start))
    await session.flush()
    return Decided(published, refused)


async def publish_due(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    now: datetime,
    *,
    since: date | None = None,
) -> Decided:
    """Every due period of one organisation, in one transaction (tests, the demo)."""
    published: list[tuple[str, str, date]] = []
    refused: list[tuple[str, str, date]] = []
    for kind, start in due_periods(now, since):
        decided = await publish_period(session, organisation_id, kind, start, now)
        published += decided.published
        refused += decided.refused
    return Decided(published, refused)


async def organisations(session: AsyncSession, name: str | None = None) -> list[uuid.UUID]:
    stmt = select(col(Organisation.id)).order_by(col(Organisation.name))
    if name is not None:
        stmt = stmt.where(col(Organisation.name) == name)
    return list((await session.exec(stmt)).all())
