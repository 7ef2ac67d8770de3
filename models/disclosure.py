"""Statistical disclosure control: the k-rule, complementary suppression, the differencing check.

Shared by wellbeing (check-in aggregates) and supervision (the report card's feedback figures),
so it lives in `models` (STYLE: what both domains need lives in `models`).

Pure functions over plain observations (no database, no clock), so the report card and any
other aggregate can reuse them. The release is *canonical*: for one organisation and one
measure it decides, period by period in time order, which cells of every fixed grouping are
released. A decision depends only on data of periods that ended no later than that period,
never on who asks or which slice they ask for, so any set of calls (any breakdown, any
unit, any range, any period length) only ever sees a subset of one release that was checked
as a whole. See docs/wellbeing.md for the algorithm and its limits.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt

PIN_TOLERANCE = 1e-6


class PeriodKind(StrEnum):
    week = "week"
    month = "month"
    quarter = "quarter"


class Facet(StrEnum):
    total = "total"
    direct = "direct"  # people in the scope unit itself, not in a unit below it
    role = "role"
    tenure_band = "tenure_band"


class Breakdown(StrEnum):
    unit = "unit"
    role = "role"
    tenure_band = "tenure_band"


ROLE_GROUPS = ("manager", "supervisor", "practitioner", "other")
TENURE_BANDS = ("under_1_year", "1_to_2_years", "2_to_5_years", "5_years_plus")


def role_group(roles: Iterable[str]) -> str:
    """One group per person so that the role breakdown is a partition: the most senior of
    manager, supervisor, practitioner; `other` for anyone else (hr or admin only)."""
    held = set(roles)
    return next((r for r in ROLE_GROUPS[:-1] if r in held), "other")


def tenure_band(started_on: date, on: date) -> str:
    """Whole years of service on `on`: under 1, 1 to 2, 2 to 5, 5 or more."""
    years = on.year - started_on.year - ((on.month, on.day) < (started_on.month, started_on.day))
    if years < 1:
        return TENURE_BANDS[0]
    if years < 2:
        return TENURE_BANDS[1]
    if years < 5:
        return TENURE_BANDS[2]
    return TENURE_BANDS[3]


# --- periods -----------------------------------------------------------------------------


def period_start(kind: PeriodKind, day: date) -> date:
    if kind is PeriodKind.week:
        return day - timedelta(days=day.weekday())
    if kind is PeriodKind.month:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_end(kind: PeriodKind, start: date) -> date:
    """The first day after the period."""
    if kind is PeriodKind.week:
        return start + timedelta(days=7)
    months = 1 if kind is PeriodKind.month else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def periods(kind: PeriodKind, first: date, last: date) -> list[date]:
    """Starts of the periods of `kind` that touch [first, last]."""
    found: list[date] = []
    start = period_start(kind, first)
    while start <= last:
        found.append(start)
        start = period_end(kind, start)
    return found


# --- cells -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """One check-in's score, with the group snapshot taken when it was made."""

    person: Hashable
    on: date
    unit_path: tuple[str, ...]  # unit ids from the top of the tree down to the person's unit
    role_group: str
    tenure_band: str
    value: float


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    kind: PeriodKind
    start: date
    scope: str  # a unit id, or "" for the whole organisation
    facet: Facet
    group: str


@dataclass(frozen=True, slots=True)
class Figure:
    n: int | None
    mean: float | None
    suppressed: bool


@dataclass
class _Member:
    value_sum: float = 0.0
    count: int = 0
    path: tuple[str, ...] = ()
    role_group: str = "other"
    tenure_band: str = TENURE_BANDS[0]
    last_on: date = date.min

    @property
    def value(self) -> float:
        return self.value_sum / self.count


def _period_members(observations: Iterable[Observation]) -> dict[Hashable, _Member]:
    """Each person once per period: the mean of their scores, grouped by their last check-in."""
    members: dict[Hashable, _Member] = {}
    for obs in sorted(observations, key=lambda o: o.on):
        m = members.setdefault(obs.person, _Member())
        m.value_sum += obs.value
        m.count += 1
        m.path, m.role_group, m.tenure_band, m.last_on = (
            obs.unit_path,
            obs.role_group,
            obs.tenure_band,
            obs.on,
        )
    return members


@dataclass(frozen=True, slots=True)
class Tree:
    """The units seen in the data: each unit's children, and its depth ("" is the root)."""

    children: dict[str, tuple[str, ...]]
    depth: dict[str, int]

    @classmethod
    def of(cls, paths: Iterable[tuple[str, ...]]) -> Tree:
        children: dict[str, set[str]] = {"": set()}
        depth = {"": 0}
        for path in paths:
            parent = ""
            for i, unit in enumerate(path):
                children.setdefault(parent, set()).add(unit)
                children.setdefault(unit, set())
                depth[unit] = i + 1
                parent = unit
        return cls({u: tuple(sorted(c)) for u, c in children.items()}, depth)

    def scopes(self) -> list[str]:
        return sorted(self.children, key=lambda u: (self.depth[u], u))


def partition(
    cell_kind: PeriodKind, start: date, scope: str, by: Breakdown, tree: Tree
) -> list[Cell]:
    """The cells that split `scope`'s total for one breakdown (they add up to the total)."""
    if by is Breakdown.unit:
        cells = [
            Cell(cell_kind, start, child, Facet.total, "total")
            for child in tree.children.get(scope, ())
        ]
        return [*cells, Cell(cell_kind, start, scope, Facet.direct, "direct")]
    if by is Breakdown.role:
        return [Cell(cell_kind, start, scope, Facet.role, g) for g in ROLE_GROUPS]
    return [Cell(cell_kind, start, scope, Facet.tenure_band, g) for g in TENURE_BANDS]


def total(kind: PeriodKind, start: date, scope: str) -> Cell:
    return Cell(kind, start, scope, Facet.total, "total")


def cells_of(
    kind: PeriodKind, start: date, path: tuple[str, ...], role: str, band: str
) -> list[Cell]:
    """Every cell of one period a person with this snapshot belongs to."""
    found = [Cell(kind, start, path[-1] if path else "", Facet.direct, "direct")]
    for scope in ("", *path):
        found.append(Cell(kind, start, scope, Facet.total, "total"))
        found.append(Cell(kind, start, scope, Facet.role, role))
        found.append(Cell(kind, start, scope, Facet.tenure_band, band))
    return found


# --- the span of what has been released ---------------------------------------------------


@dataclass
class Span:
    """The row space of every released figure, as an orthonormal basis over people.

    Person i's answer can be solved for exactly when the unit vector e_i lies in the row
    space, i.e. when the projection onto it keeps all of e_i: diag(QᵀQ)[i] = 1. The same
    goes for a suppressed small cell (fewer than k people): its members' total must not
    be recoverable either, so each such cell's indicator is *protected* and we track its
    residual outside the span; a release that would bring a residual to zero is refused.
    """

    size: int
    basis: npt.NDArray[np.float64] = field(init=False)
    diag: npt.NDArray[np.float64] = field(init=False)
    protected: npt.NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        self.basis = np.zeros((0, self.size))
        self.diag = np.zeros(self.size)
        self.protected = np.zeros((0, self.size))

    def copy(self) -> Span:
        other = Span(self.size)
        other.basis = self.basis.copy()
        other.diag = self.diag.copy()
        other.protected = self.protected.copy()
        return other

    def _residual(self, row: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        residual = row.astype(np.float64)
        for _ in range(2):  # twice: classical Gram-Schmidt loses orthogonality once
            residual = residual - self.basis.T @ (self.basis @ residual)
        return residual

    def protect(self, rows: Sequence[npt.NDArray[np.float64]]) -> None:
        """Keep the totals of each row's members from ever becoming solvable."""
        if not rows:
            return
        block = np.vstack(rows).astype(np.float64)
        for _ in range(2):
            block = block - (block @ self.basis.T) @ self.basis
        keep = np.linalg.norm(block, axis=1) > PIN_TOLERANCE
        self.protected = np.vstack([self.protected, block[keep]])

    def admit(self, row: npt.NDArray[np.float64]) -> bool:
        """Add `row` unless that would let someone be solved for (then change nothing)."""
        residual = self._residual(row)
        norm = float(np.linalg.norm(residual))
        if norm < 1e-9:
            return True  # already implied by what was released: tells nothing new
        q = residual / norm
        diag = self.diag + q * q
        if float(diag.max()) > 1.0 - PIN_TOLERANCE:
            return False
        protected = self.protected - np.outer(self.protected @ q, q)
        if len(protected) and float(np.linalg.norm(protected, axis=1).min()) < PIN_TOLERANCE:
            return False
        self.basis = np.vstack([self.basis, q])
        self.diag = diag
        self.protected = protected
        return True


# --- the release -------------------------------------------------------------------------


def complementary_suppression(
    partitions: Sequence[tuple[Cell, Sequence[Cell]]],
    n: dict[Cell, int],
    suppressed: set[Cell],
    k: int,
) -> bool:
    """Under a released parent, if exactly one non-empty cell is suppressed, or the suppressed
    cells together hold fewer than k people, suppress the next smallest released cell; repeat
    until no partition needs it. Mutates `suppressed`; answers whether it changed."""
    changed_any = False
    changed = True
    while changed:
        changed = False
        for parent, cells in partitions:
            if parent in suppressed or n.get(parent, 0) == 0:
                continue
            live = [c for c in cells if n.get(c, 0) > 0]
            hidden = [c for c in live if c in suppressed]
            if not hidden:
                continue
            if len(hidden) == 1 or sum(n[c] for c in hidden) < k:
                shown = sorted((c for c in live if c not in suppressed), key=lambda c: (n[c], c))
                if shown:
                    suppressed.add(shown[0])
                    changed = changed_any = True
    return changed_any


@dataclass
class Release:
    """Every cell decided so far, and the span of what was released."""

    k: int
    figures: dict[Cell, Figure] = field(default_factory=dict)
    tree: Tree = field(default_factory=lambda: Tree({"": ()}, {"": 0}))

    def figure(self, cell: Cell) -> Figure:
        return self.figures.get(cell, Figure(None, None, True))


def release(
    observations: Sequence[Observation],
    k: int,
    *,
    until: date,
    kinds: Sequence[PeriodKind] = (PeriodKind.week, PeriodKind.month, PeriodKind.quarter),
) -> Release:
    """Decide every cell of every completed period (ended on or before `until`).

    Periods are taken in order of their end, so a period's decision never depends on later
    data; within a period, cells go coarse to fine (organisation, then each unit by depth;
    its total, then the unit, role and tenure breakdowns).
    """
    tree = Tree.of(o.unit_path for o in observations)
    result = Release(k=k, tree=tree)
    if not observations:
        return result
    people = {p: i for i, p in enumerate(dict.fromkeys(o.person for o in observations))}
    span = Span(len(people))
    first = min(o.on for o in observations)
    schedule: list[tuple[date, int, PeriodKind, date]] = []
    for rank, kind in enumerate(kinds):
        for start in periods(kind, first, until):
            end = period_end(kind, start)
            if end <= until:
                schedule.append((end, rank, kind, start))
    by_period: dict[tuple[PeriodKind, date], list[Observation]] = {}
    for obs in observations:
        for kind in kinds:
            by_period.setdefault((kind, period_start(kind, obs.on)), []).append(obs)
    for _, _, kind, start in sorted(schedule):
        members = _period_members(by_period.get((kind, start), []))
        _release_period(result, span, people, tree, kind, start, members)
    return result


def _release_period(
    result: Release,
    span: Span,
    people: dict[Hashable, int],
    tree: Tree,
    kind: PeriodKind,
    start: date,
    members: dict[Hashable, _Member],
) -> None:
    # Coarse to fine: every unit total first (by depth), then the people directly in each
    # unit, then the role cells, then the tenure cells.
    partitions: list[tuple[Cell, list[Cell]]] = []
    later: dict[Facet, list[Cell]] = {Facet.direct: [], Facet.role: [], Facet.tenure_band: []}
    order: list[Cell] = []
    for scope in tree.scopes():
        parent = total(kind, start, scope)
        order.append(parent)
        for by in Breakdown:
            cells = partition(kind, start, scope, by, tree)
            partitions.append((parent, cells))
            for cell in cells:
                if cell.facet is not Facet.total:
                    later[cell.facet].append(cell)
    order += later[Facet.direct] + later[Facet.role] + later[Facet.tenure_band]
    rows: dict[Cell, npt.NDArray[np.float64]] = {}
    n: dict[Cell, int] = {}
    sums: dict[Cell, float] = {}
    spread: dict[Cell, float] = {}
    holders: dict[Cell, list[Hashable]] = {}
    for person, member in members.items():
        for cell in cells_of(kind, start, member.path, member.role_group, member.tenure_band):
            holders.setdefault(cell, []).append(person)
    for cell in order:
        row = np.zeros(span.size)
        who = holders.get(cell, [])
        row[[people[p] for p in who]] = 1.0
        rows[cell], n[cell] = row, len(who)
        values = [members[p].value for p in who]
        sums[cell] = sum(values)
        spread[cell] = max(values) - min(values) if values else 0.0
    suppressed = {c for c in order if n[c] < result.k}
    # If every member has the same value, the mean is each member's answer.
    suppressed |= {c for c in order if n[c] > 0 and spread[c] < 1e-9}
    keys = {c: rows[c].tobytes() for c in order}
    small = {keys[c]: rows[c] for c in order if 0 < n[c] < result.k}
    span.protect([small[key] for key in sorted(small)])
    while True:
        while True:
            complementary_suppression(partitions, n, suppressed, result.k)
            # A cell holding exactly the people of a suppressed cell is the same figure.
            hidden = {keys[c] for c in suppressed if n[c] > 0}
            same = {c for c in order if n[c] > 0 and keys[c] in hidden} - suppressed
            if not same:
                break
            suppressed |= same
        trial = span.copy()
        rejected = False
        for cell in order:
            if cell not in suppressed and not trial.admit(rows[cell]):
                suppressed.add(cell)
                rejected = True
        if not rejected:
            break
    # The protected residuals move with the basis: left behind, they would still hold the
    # parts this period's figures explain, and a later period could complete a small cell.
    span.basis, span.diag, span.protected = trial.basis, trial.diag, trial.protected
    for cell in order:
        if cell in suppressed:
            result.figures[cell] = Figure(None, None, True)
        else:
            result.figures[cell] = Figure(n[cell], sums[cell] / n[cell], False)
