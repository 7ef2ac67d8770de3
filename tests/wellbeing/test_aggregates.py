"""The k-rule, complementary suppression and the differencing check, as pure functions."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.disclosure import (
    Breakdown,
    Cell,
    Facet,
    Figure,
    Observation,
    PeriodKind,
    complementary_suppression,
    partition,
    period_start,
    release,
    role_group,
    tenure_band,
    total,
)

MONTHS = [date(2026, m, 1) for m in range(1, 7)]
UNTIL = date(2026, 7, 1)
A, B, C = "unit-a", "unit-b", "unit-c"


def _obs(
    person: int,
    on: date,
    path: tuple[str, ...],
    value: float,
    role: str = "practitioner",
    band: str = "2_to_5_years",
) -> Observation:
    return Observation(f"p{person}", on, path, role, band, value)


def test_k_rule_counts_distinct_people_at_k_minus_1_and_k() -> None:
    k = 5
    day = date(2026, 1, 5)
    # Four people, each checking in three times: 12 check-ins but 4 people -> suppressed.
    four = [_obs(p, day + timedelta(days=d), (A,), 10) for p in range(4) for d in range(3)]
    result = release(four, k, until=UNTIL, kinds=(PeriodKind.month,))
    figure = result.figure(total(PeriodKind.month, MONTHS[0], A))
    assert figure.suppressed
    assert figure.n is None
    assert figure.mean is None
    five = [*four, _obs(4, day, (A,), 20)]
    result = release(five, k, until=UNTIL, kinds=(PeriodKind.month,))
    figure = result.figure(total(PeriodKind.month, MONTHS[0], A))
    assert not figure.suppressed
    assert figure.n == 5
    assert figure.mean == (4 * 10 + 20) / 5  # each person counts once


def test_a_cell_where_everyone_gave_the_same_value_is_suppressed() -> None:
    """If six people all averaged 25, the mean tells each of them what they answered."""
    day = date(2026, 1, 10)
    same = [_obs(p, day, (A,), 25) for p in range(6)]
    result = release(same, 5, until=UNTIL, kinds=(PeriodKind.month,))
    assert result.figure(total(PeriodKind.month, MONTHS[0], A)).suppressed
    mixed = [*same[:-1], _obs(5, day, (A,), 24)]
    result = release(mixed, 5, until=UNTIL, kinds=(PeriodKind.month,))
    assert result.figure(total(PeriodKind.month, MONTHS[0], A)).n == 6


def test_incomplete_period_is_not_released() -> None:
    obs = [_obs(p, date(2026, 6, 10), (A,), 10 + p) for p in range(8)]
    result = release(obs, 5, until=date(2026, 6, 20), kinds=(PeriodKind.month,))
    assert result.figure(total(PeriodKind.month, MONTHS[5], A)).suppressed
    result = release(obs, 5, until=UNTIL, kinds=(PeriodKind.month,))
    assert not result.figure(total(PeriodKind.month, MONTHS[5], A)).suppressed


def test_complementary_suppression_hides_the_next_smallest_sibling() -> None:
    start = MONTHS[0]
    parent = total(PeriodKind.month, start, "")
    kids = [total(PeriodKind.month, start, u) for u in (A, B, C)]
    n = {parent: 33, kids[0]: 3, kids[1]: 12, kids[2]: 18}
    suppressed = {kids[0]}
    assert complementary_suppression([(parent, kids)], n, suppressed, 10)
    assert suppressed == {kids[0], kids[1]}
    # Two suppressed cells that together hold fewer than k people are not enough either.
    n = {parent: 40, kids[0]: 3, kids[1]: 4, kids[2]: 33}
    suppressed = {kids[0], kids[1]}
    complementary_suppression([(parent, kids)], n, suppressed, 10)
    assert suppressed == {kids[0], kids[1], kids[2]}
    # A suppressed parent needs nothing more.
    suppressed = {parent, kids[0]}
    assert not complementary_suppression([(parent, kids)], n, suppressed, 10)


def test_joining_between_months_does_not_reveal_the_newcomer() -> None:
    k = 5
    team = [_obs(p, date(2026, 1, 10), (A,), 10 + p) for p in range(6)]
    later = [_obs(p, date(2026, 2, 10), (A,), 10 + p) for p in range(7)]  # p6 joins
    result = release(team + later, k, until=UNTIL, kinds=(PeriodKind.month,))
    january = result.figure(total(PeriodKind.month, MONTHS[0], A))
    february = result.figure(total(PeriodKind.month, MONTHS[1], A))
    assert not january.suppressed
    assert february.suppressed  # else February minus January is person 6


def test_breakdowns_released_when_safe() -> None:
    k = 5
    obs = [_obs(p, date(2026, 1, 10), (A, B), 9 + p % 3) for p in range(6)]  # mean 10
    obs += [_obs(p, date(2026, 1, 10), (A, C), 19 + p % 3) for p in range(6, 12)]  # mean 20
    result = release(obs, k, until=UNTIL, kinds=(PeriodKind.month,))
    top = result.figure(total(PeriodKind.month, MONTHS[0], A))
    assert (top.n, top.mean) == (12, 15)
    units = partition(PeriodKind.month, MONTHS[0], A, Breakdown.unit, result.tree)
    assert [result.figure(c).n for c in units] == [6, 6, None]  # B, C, nobody directly in A
    b = result.figure(units[0])
    assert b.mean == 10


def test_a_suppressed_cell_cannot_be_recovered_through_another_breakdown() -> None:
    """B (4 people) is suppressed and A with it (complementary). A's role breakdown holds
    the same six people as A: releasing it would give B = top - A - C, so it is held back."""
    k = 5
    day = date(2026, 1, 10)
    top = "top"
    obs = [_obs(p, day, (top, A), 9 + p % 3) for p in range(6)]
    obs += [_obs(p, day, (top, B), 19 + p % 3) for p in range(6, 10)]
    obs += [_obs(p, day, (top, C), 14 + p % 3) for p in range(10, 17)]
    result = release(obs, k, until=UNTIL, kinds=(PeriodKind.month,))
    start = MONTHS[0]
    assert result.figure(total(PeriodKind.month, start, top)).n == 17
    assert result.figure(total(PeriodKind.month, start, B)).suppressed
    assert result.figure(total(PeriodKind.month, start, A)).suppressed  # complementary
    assert result.figure(total(PeriodKind.month, start, C)).n == 7
    for by in (Breakdown.role, Breakdown.tenure_band):
        for cell in partition(PeriodKind.month, start, A, by, result.tree):
            assert result.figure(cell).suppressed, cell


def test_a_small_weekly_cell_stays_hidden_when_later_months_and_quarters_are_released() -> None:
    """The week of 2 February holds two people (p0, p3): suppressed, its total protected.
    February (5 people) and the first quarter are released later; Q1 - January - February
    would be that week's total unless the protection follows the span across periods."""
    u = ("u0",)
    january = [_obs(p, date(2026, 1, 5), u, 6 if p == 3 else 5) for p in (0, 1, 2, 3, 5, 7, 8, 9)]
    february = [
        _obs(0, date(2026, 2, 2), u, 5),
        _obs(3, date(2026, 2, 2), u, 6),
        _obs(6, date(2026, 2, 9), u, 5),
        _obs(10, date(2026, 2, 16), u, 5),
        _obs(4, date(2026, 2, 23), u, 5),
    ]
    observations = january + february
    k = 5
    result = release(observations, k, until=date(2026, 7, 1))
    week = total(PeriodKind.week, date(2026, 2, 2), "")
    assert result.figure(week).suppressed
    assert _members(week, observations) == {"p0", "p3"}
    people = sorted({str(o.person) for o in observations})
    released = _released_rows(result.figures, observations, people)
    assert not _solvable({"p0", "p3"}, released, people)


def test_role_and_tenure_helpers() -> None:
    assert role_group(["practitioner", "supervisor"]) == "supervisor"
    assert role_group(["hr"]) == "other"
    assert role_group(["manager", "admin"]) == "manager"
    assert tenure_band(date(2026, 1, 10), date(2027, 1, 9)) == "under_1_year"
    assert tenure_band(date(2026, 1, 10), date(2027, 1, 10)) == "1_to_2_years"
    assert tenure_band(date(2021, 1, 10), date(2026, 1, 9)) == "2_to_5_years"
    assert tenure_band(date(2020, 1, 10), date(2026, 1, 10)) == "5_years_plus"
    assert period_start(PeriodKind.quarter, date(2026, 8, 31)) == date(2026, 7, 1)
    assert period_start(PeriodKind.week, date(2026, 11, 22)) == date(2026, 11, 16)


# --- the differencing attack ---------------------------------------------------------------

ROLES = ("practitioner", "supervisor", "manager")
BANDS = ("under_1_year", "1_to_2_years", "2_to_5_years", "5_years_plus")


@st.composite
def organisations(draw: st.DrawFn) -> list[Observation]:
    """A random unit tree, people joining and leaving between weeks, and their answers."""
    n_units = draw(st.integers(1, 5))
    parents: list[int | None] = [None]
    for i in range(1, n_units):
        parents.append(draw(st.integers(0, i - 1)))

    def path(u: int) -> tuple[str, ...]:
        chain: list[str] = []
        current: int | None = u
        while current is not None:
            chain.append(f"u{current}")
            current = parents[current]
        return tuple(reversed(chain))

    n_people = draw(st.integers(5, 24))
    weeks = 10
    first_monday = date(2026, 1, 5)
    observations: list[Observation] = []
    for person in range(n_people):
        unit = draw(st.integers(0, n_units - 1))
        joins = draw(st.integers(0, weeks - 1))
        leaves = draw(st.integers(joins + 1, weeks))
        role = draw(st.sampled_from(ROLES))
        band = draw(st.sampled_from(BANDS))
        answer = draw(st.integers(5, 25))
        moves = draw(st.booleans())
        for week in range(joins, leaves):
            if not draw(st.booleans()) and week != joins:
                continue  # skipped this week's check-in
            if moves and week == (joins + leaves) // 2:
                unit = draw(st.integers(0, n_units - 1))
            day = first_monday + timedelta(days=7 * week + draw(st.integers(0, 6)))
            observations.append(Observation(f"p{person}", day, path(unit), role, band, answer))
    return observations


def _stop(cell: Cell) -> date:
    """The first day after the cell's period."""
    months = {PeriodKind.week: 0, PeriodKind.month: 1, PeriodKind.quarter: 3}[cell.kind]
    if not months:
        return cell.start + timedelta(days=7)
    month = cell.start.month - 1 + months
    return date(cell.start.year + month // 12, month % 12 + 1, 1)


def _decided_before(cell: Cell) -> tuple[date, int]:
    """Where the release takes the cell's period: by end date, weeks before months before
    quarters on the same date."""
    return _stop(cell), list(PeriodKind).index(cell.kind)


def _members(cell: Cell, observations: list[Observation]) -> set[str]:
    """Who a released figure is about, worked out independently of the release code."""
    stop = _stop(cell)
    last: dict[str, Observation] = {}
    for obs in sorted(observations, key=lambda o: o.on):
        if cell.start <= obs.on < stop:
            last[str(obs.person)] = obs
    found: set[str] = set()
    for person, obs in last.items():
        path = obs.unit_path
        if cell.scope and cell.scope not in path:
            continue
        if cell.facet is Facet.direct and (path[-1] if path else "") != cell.scope:
            continue
        if cell.facet is Facet.role and obs.role_group != cell.group:
            continue
        if cell.facet is Facet.tenure_band and obs.tenure_band != cell.group:
            continue
        found.add(person)
    return found


def _released_rows(
    figures: dict[Cell, Figure],
    observations: list[Observation],
    people: list[str],
    before: tuple[date, int] | None = None,
) -> np.ndarray:
    """Every released count as a 0/1 row over people (a sum has the same coefficients);
    with `before`, only those of periods the release took before that point."""
    index = {p: i for i, p in enumerate(people)}
    rows = [np.zeros(len(people))]
    for cell, figure in figures.items():
        if figure.suppressed or (before is not None and _decided_before(cell) >= before):
            continue
        members = _members(cell, observations)
        assert figure.n == len(members)
        row = np.zeros(len(people))
        row[[index[p] for p in members]] = 1.0
        rows.append(row)
    return np.vstack(rows)


def _solvable(group: set[str], matrix: np.ndarray, people: list[str]) -> bool:
    """Whether the total of `group`'s answers follows from the figures in `matrix`."""
    target = np.array([1.0 if p in group else 0.0 for p in people])
    rank = np.linalg.matrix_rank(matrix)
    return bool(np.linalg.matrix_rank(np.vstack([matrix, target])) == rank)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observations=organisations(), k=st.sampled_from([5, 6]))
def test_no_released_figures_solve_for_one_person_or_a_small_cell(
    observations: list[Observation], k: int
) -> None:
    """Stack every released count and sum (every breakdown, unit, week, month and quarter: a
    superset of what any sequence of calls can see) as rows over people; no unit vector e_i
    may lie in their row space, nor the members of a cell suppressed for having fewer than
    k people (its total would be known) unless they already did before its period."""
    result = release(observations, k, until=date(2026, 7, 1))
    assert all(f.n is None or f.n >= k for f in result.figures.values())
    people = sorted({str(o.person) for o in observations})
    matrix = _released_rows(result.figures, observations, people)
    for person in people:
        assert not _solvable({person}, matrix, people), person
    for cell, figure in result.figures.items():
        members = _members(cell, observations)
        if not figure.suppressed or not 0 < len(members) < k:
            continue
        # A small cell whose total earlier periods already gave away cannot be helped (the
        # limit in docs/wellbeing.md); from its own period on, nothing may give it away.
        earlier = _released_rows(result.figures, observations, people, _decided_before(cell))
        if not _solvable(members, earlier, people):
            assert not _solvable(members, matrix, people), (cell, sorted(members))


def test_attack_check_catches_an_unsafe_release() -> None:
    """The oracle above is not vacuous: two released totals one person apart are caught."""
    team = [_obs(p, date(2026, 1, 10), (A,), 10) for p in range(6)]
    rows = np.array([[1.0] * 6 + [0.0], [1.0] * 7])
    unit = np.zeros(7)
    unit[6] = 1.0
    assert np.linalg.matrix_rank(np.vstack([rows, unit])) == np.linalg.matrix_rank(rows)
    assert team  # the scenario of test_joining_between_months_does_not_reveal_the_newcomer
