"""The differencing attack through the API: every call HR and a manager can make, stacked."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
import numpy as np
from fastapi import FastAPI
from models.disclosure import (
    PeriodKind,
    period_end,
    period_start,
    role_group,
    tenure_band,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.staff import Role, Staff
from models.wellbeing import WellbeingSettings
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.wellbeing import make_checkin

K = 5


@dataclass(frozen=True)
class Taken:
    person: uuid.UUID
    at: datetime
    path: tuple[str, ...]
    role: str
    band: str


def _members(
    taken: list[Taken], kind: PeriodKind, start: date, scope: str, by: str, group: str
) -> set[uuid.UUID]:
    """Who a released cell is about, from what the test itself created."""
    last: dict[uuid.UUID, Taken] = {}
    for t in sorted(taken, key=lambda t: t.at):
        if period_start(kind, t.at.date()) == start:
            last[t.person] = t
    found = set()
    for person, t in last.items():
        if scope and scope not in t.path:
            continue
        if group == "total":
            found.add(person)
        elif by == "unit" and group == "direct":
            if (t.path[-1] if t.path else "") == scope:
                found.add(person)
        elif by == "unit":
            if group in t.path:
                found.add(person)
        elif by == "role" and t.role == group or by == "tenure_band" and t.band == group:
            found.add(person)
    return found


async def test_no_sequence_of_calls_solves_for_one_person(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    rng = random.Random(20261123)
    now = now_of(app)
    org = await make_org(db, now=now)
    db.add(WellbeingSettings(organisation_id=org.id, k_threshold=K, updated_at=now))
    hr = await make_staff(db, org, Role.hr, now=now)
    manager = await make_staff(db, org, Role.manager, now=now)
    service = await make_unit(db, org, "Service", manager=manager, now=now)
    teams = [await make_unit(db, org, f"Team {i}", parent=service, now=now) for i in range(3)]
    units = [service, *teams]
    paths = {service.id: (str(service.id),)} | {t.id: (str(service.id), str(t.id)) for t in teams}
    people: list[Staff] = []
    for _ in range(22):
        roles = rng.choice([(Role.practitioner,), (Role.supervisor,), (Role.practitioner,)])
        started = date(2026, 11, 1) - timedelta(days=rng.choice([100, 500, 1200, 3000]))
        unit = rng.choice(units)
        people.append(await make_staff(db, org, *roles, unit=unit, started_on=started, now=now))
    taken: list[Taken] = []
    first = datetime(2026, 11, 23, 9, 0, tzinfo=now.tzinfo)
    for week in range(8):
        for person in people:
            if rng.random() < 0.3:
                continue  # skipped, or not yet joined, or left
            if rng.random() < 0.05:
                unit = rng.choice(units)  # moved
                person.unit_id = unit.id
                await db.flush()
            at = first + timedelta(days=7 * week + rng.randrange(5), hours=rng.randrange(8))
            await make_checkin(db, person, at=at, wellbeing=rng.randint(5, 25))
            assert person.unit_id is not None
            taken.append(
                Taken(
                    person.id,
                    at,
                    paths[person.unit_id],
                    role_group(person.roles),
                    tenure_band(person.started_on, at.date()),
                )
            )
    clock.now = first + timedelta(days=7 * 8 + 40)

    index = {p.id: i for i, p in enumerate(people)}
    rows: list[np.ndarray] = []
    released = 0
    calls: list[tuple[Staff, str, str]] = []
    for kind in ("week", "month", "quarter"):
        for by in ("unit", "role", "tenure_band"):
            query = f"?period={kind}&by={by}&from=2026-11-01&to=2027-03-31"
            calls.append((hr, f"/api/v1/analytics/wellbeing{query}", ""))
            for unit in units:
                calls.append(
                    (hr, f"/api/v1/analytics/wellbeing{query}&unit_id={unit.id}", str(unit.id))
                )
                calls.append(
                    (manager, f"/api/v1/oversight/units/{unit.id}/wellbeing{query}", str(unit.id))
                )
    for viewer, url, scope in calls:
        response = await client.get(url, headers=bearer(app, viewer))
        assert response.status_code == 200, url
        body = response.json()
        kind = PeriodKind(body["period"])
        for cell in body["cells"]:
            if cell["suppressed"]:
                assert cell["n"] is None
                assert cell["mean"] is None
                continue
            start = date.fromisoformat(cell["period"])
            assert period_end(kind, start) <= clock.now.date()
            members = _members(taken, kind, start, scope, body["by"], cell["group"])
            assert cell["n"] == len(members) >= K, (url, cell)
            row = np.zeros(len(people))
            row[[index[m] for m in members]] = 1.0
            rows.append(row)
            released += 1
    assert released > 0  # the test is not vacuous: figures were released
    matrix = np.vstack(rows)
    rank = np.linalg.matrix_rank(matrix)
    for i in range(len(people)):
        unit_vector = np.zeros(len(people))
        unit_vector[i] = 1.0
        assert np.linalg.matrix_rank(np.vstack([matrix, unit_vector])) > rank, people[i].id
