"""Oversight against a brute-force computation on generated organisations (hypothesis).

The brute force reads the domain rules literally, day by day, from plain Python data; the
system under test computes the same figures from the database in a fixed set of statements.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.organisation import Unit
from models.directory.service import actor_for
from models.directory.staff import Cohort, Role, Staff
from models.supervision import SessionKind, SessionStatus
from supervision.oversight.rollup import unit_oversight
from supervision.oversight.trend import unit_trend
from tests.factories.directory import make_org, make_staff, make_unit
from tests.factories.supervision import make_absence, make_session

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TODAY = NOW.date()


@dataclass(frozen=True)
class GenSession:
    days_ago: int
    kind: SessionKind
    minutes: int
    status: SessionStatus


@dataclass(frozen=True)
class GenPerson:
    unit: int
    cohort: Cohort
    started_days_ago: int
    sessions: tuple[GenSession, ...]
    absences: tuple[tuple[int, int], ...]  # (days ago it starts, length in days)


# Dates near the ASYE phase changes (6 weeks, about 6 months) and near today are likelier.
near_boundaries = st.sampled_from([0, 1, 2, 6, 7, 8, 13, 14, 15, 27, 28, 29, 41, 42, 43])
sessions = st.builds(
    GenSession,
    days_ago=st.one_of(st.integers(0, 400), near_boundaries),
    kind=st.sampled_from(list(SessionKind)),
    minutes=st.sampled_from([30, 89, 90, 120]),
    status=st.sampled_from(list(SessionStatus)),
)
people = st.builds(
    GenPerson,
    unit=st.integers(0, 5),
    cohort=st.sampled_from(list(Cohort)),
    started_days_ago=st.one_of(
        st.integers(0, 500), near_boundaries, st.integers(178, 186), st.integers(40, 50)
    ),
    sessions=st.lists(sessions, max_size=4).map(tuple),
    absences=st.lists(st.tuples(st.integers(-20, 200), st.integers(1, 40)), max_size=3).map(tuple),
)
# Unit i (i >= 1) hangs under some unit j < i: any tree shape.
parents = st.lists(st.integers(0, 1000), min_size=5, max_size=5)


# --- the brute force -----------------------------------------------------------------------


def six_months_after(day: date) -> date:
    month = day.month + 6
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def interval(cohort: Cohort, started: date, on: date) -> int:
    if cohort == Cohort.asye:
        if (on - started).days < 42:
            return 7
        if on < six_months_after(started):
            return 14
        return 28
    return 7 if cohort == Cohort.student else 28


def brute_due(person: GenPerson, as_of: date = TODAY) -> tuple[date | None, date]:
    """(last counted session on or before `as_of`, next due date then), by the rules' words."""
    started = TODAY - timedelta(days=person.started_days_ago)
    held = [
        TODAY - timedelta(days=s.days_ago)
        for s in person.sessions
        if s.status in (SessionStatus.recorded, SessionStatus.signed_off)
        and s.kind == SessionKind.one_to_one
        and s.minutes >= 90
        and TODAY - timedelta(days=s.days_ago) <= as_of
    ]
    last = max(held) if held else None
    anchor = last or started
    base = anchor + timedelta(days=interval(person.cohort, started, anchor))
    window_start = anchor + timedelta(days=1) if last else started
    absent: set[date] = set()
    for ago, length in person.absences:
        first = TODAY - timedelta(days=ago)
        absent.update(first + timedelta(days=i) for i in range(length))
    candidate = base
    while True:  # the first date equal to base + the absent days up to it
        days = sum(
            1
            for i in range((candidate - window_start).days + 1)
            if window_start + timedelta(days=i) in absent
        )
        if candidate == base + timedelta(days=days):
            return last, candidate
        candidate += timedelta(days=1)


# --- the property --------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parent_picks=parents, staff=st.lists(people, max_size=8))
async def test_unit_oversight_matches_brute_force(
    db: AsyncSession, parent_picks: list[int], staff: list[GenPerson]
) -> None:
    org = await make_org(db, now=NOW)
    admin = await make_staff(db, org, Role.admin, now=NOW)  # no unit: not counted
    units: list[Unit] = [await make_unit(db, org, now=NOW)]
    parent_of = [-1]
    for i, pick in enumerate(parent_picks, start=1):
        parent = pick % i
        parent_of.append(parent)
        units.append(await make_unit(db, org, parent=units[parent], now=NOW))
    supervisor = await make_staff(db, org, Role.supervisor, now=NOW)
    made: list[tuple[Staff, GenPerson]] = []
    for person in staff:
        row = await make_staff(
            db,
            org,
            unit=units[person.unit],
            cohort=person.cohort,
            started_on=TODAY - timedelta(days=person.started_days_ago),
            now=NOW,
        )
        for s in person.sessions:
            day = TODAY - timedelta(days=s.days_ago)
            held = s.status in (SessionStatus.recorded, SessionStatus.signed_off)
            await make_session(
                db,
                row,
                supervisor,
                now=NOW,
                status=s.status,
                kind=s.kind,
                held_on=day if held else None,
                held_minutes=s.minutes,
                scheduled_for=datetime.combine(day, datetime.min.time(), UTC),
            )
        for ago, length in person.absences:
            first = TODAY - timedelta(days=ago)
            await make_absence(db, row, first, first + timedelta(days=length - 1), now=NOW)
        made.append((row, person))

    def under(root: int) -> set[int]:
        found = {root}
        changed = True
        while changed:
            changed = False
            for child, parent in enumerate(parent_of):
                if parent in found and child not in found:
                    found.add(child)
                    changed = True
        return found

    for root in range(len(units)):
        result = await unit_oversight(db, actor_for(admin), units[root].id, NOW)
        inside = under(root)
        expected = {row.id: brute_due(p) for row, p in made if p.unit in inside}
        rows = {r.staff_id: r for r in result.staff}
        assert set(rows) == set(expected)
        for staff_id, (last, due) in expected.items():
            assert rows[staff_id].last_held_on == last
            assert rows[staff_id].next_due_on == due
            assert rows[staff_id].days_overdue == max(0, (TODAY - due).days)
        overdue = sum(1 for _, due in expected.values() if due < TODAY)
        assert result.staff_count == len(expected)
        assert result.overdue_count == overdue
        assert result.compliant_count == len(expected) - overdue
        children = [c for c, parent in enumerate(parent_of) if parent == root]
        assert {u.unit_id for u in result.units} == {units[c].id for c in children}
        for rollup in result.units:
            child = next(c for c in children if units[c].id == rollup.unit_id)
            below = under(child)
            assert rollup.staff_count == sum(1 for _, p in made if p.unit in below)
            assert rollup.overdue_count == sum(
                1 for _, p in made if p.unit in below and brute_due(p)[1] < TODAY
            )

    # The trend: who was within cadence at each month's end (today for this month).
    trend = await unit_trend(db, actor_for(admin), units[0].id, 3, NOW)
    month_ends = [date(2026, 9, 30), date(2026, 10, 31), TODAY]
    assert [m.as_of for m in trend.months] == month_ends
    for month, as_of in zip(trend.months, month_ends, strict=True):
        in_post = [p for _, p in made if TODAY - timedelta(days=p.started_days_ago) <= as_of]
        assert month.staff_count == len(in_post)
        assert month.compliant_count == sum(1 for p in in_post if as_of <= brute_due(p, as_of)[1])
