"""The publisher against the stored ledger, whatever happens (hypothesis).

Any sequence of worker runs at any time, backfills from any month, k changes, restructures
and late check-ins: the ledger never spends more than the year's budget in any calendar year,
no measure and period is published twice, and no published figure ever changes.
(The pure accounting is tested in tests/models/analytics/; this is the stored ledger.)
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.analytics.periods import ReleaseKind, period_start
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Staff
from models.wellbeing import CheckIn, WellbeingSettings
from tests.factories.analytics import ledger, stored
from tests.factories.directory import make_org, make_staff, make_unit
from wellbeing.publish import publish_due

BASE = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
YEAR_RHO = 2.0

actions = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.integers(0, 760)),
        st.tuples(st.just("backfill"), st.integers(0, 760), st.integers(0, 24)),
        st.tuples(st.just("k"), st.integers(5, 30)),
        st.tuples(st.just("restructure"), st.integers(0, 2)),
        st.tuples(st.just("late"), st.integers(0, 7), st.integers(0, 700)),
    ),
    min_size=1,
    max_size=6,
)


def _checkin(
    org: Organisation, person: Staff, at: datetime, path: list[str], score: int
) -> CheckIn:
    digest = hashlib.sha256(f"{person.id}{at}".encode()).hexdigest()
    return CheckIn(
        id=uuid.uuid4(),
        organisation_id=org.id,
        staff_id=person.id,
        instrument="pulse",
        instrument_version=1,
        content_hash=digest,
        answers={},
        scores={"wellbeing": score},
        request_hash=digest,
        taken_at=at,
        unit_path=path,
        role_group="practitioner",
        tenure_band="2_to_5_years",
    )


async def _council(db: AsyncSession) -> tuple[Organisation, list[Unit], list[Staff]]:
    org = await make_org(db, now=BASE)
    db.add(
        WellbeingSettings(organisation_id=org.id, k_threshold=5, year_rho=YEAR_RHO, updated_at=BASE)
    )
    top = await make_unit(db, org, "Directorate", now=BASE)
    services = [await make_unit(db, org, f"S{i}", parent=top, now=BASE) for i in range(2)]
    teams = [await make_unit(db, org, f"T{i}", parent=services[i % 2], now=BASE) for i in range(3)]
    people = [await make_staff(db, org, unit=teams[i % 3], now=BASE) for i in range(8)]
    for i, person in enumerate(people):
        team = teams[i % 3]
        path = [str(top.id), str(team.parent_id), str(team.id)]
        for month in range(0, 24, 3):
            db.add(_checkin(org, person, BASE + timedelta(days=30 * month + i), path, 8 + i))
    await db.flush()
    return org, [top, *services, *teams], people


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=actions)
async def test_the_ledger_never_exceeds_the_budget_and_figures_never_change(
    db: AsyncSession, steps: list[tuple[object, ...]]
) -> None:
    org, units, people = await _council(db)
    seen: dict[object, object] = {}
    for step in steps:
        match step:
            case ("run", int(days)):
                await publish_due(db, org.id, BASE + timedelta(days=days))
            case ("backfill", int(days), int(months)):
                now = BASE + timedelta(days=days)
                since = period_start(ReleaseKind.month, (now - timedelta(days=31 * months)).date())
                await publish_due(db, org.id, now, since=since)
            case ("k", int(k)):
                chosen = await db.get(WellbeingSettings, await _settings_id(db, org))
                assert chosen is not None
                chosen.k_threshold = k
                db.add(chosen)
            case ("restructure", int(which)):
                team = units[3 + which]
                team.parent_id = units[1].id if team.parent_id != units[1].id else units[2].id
                db.add(team)
            case ("late", int(who), int(days)):
                person = people[who]
                db.add(_checkin(org, person, BASE + timedelta(days=days, hours=5), [], 25))
        await db.flush()
        spent: dict[int, float] = defaultdict(float)
        keys = set()
        for spend in await ledger(db, org):
            spent[spend.period_start.year] += spend.rho
            key = (spend.measure, spend.period_kind, spend.period_start)
            assert key not in keys
            keys.add(key)
        assert all(total <= YEAR_RHO * (1 + 1e-9) for total in spent.values()), spent
        now_stored = {_key(r): r for r in await stored(db, org)}
        for cell, before in seen.items():
            assert now_stored[cell] == before  # a published figure never changes
        seen = dict(now_stored)


def _key(row: tuple[tuple[str, Any], ...]) -> object:
    values = dict(row)
    return (
        values["measure"],
        values["period_kind"],
        values["period_start"],
        values["tree"],
        values["node"],
    )


async def _settings_id(db: AsyncSession, org: Organisation) -> uuid.UUID:
    found = (
        await db.exec(
            select(col(WellbeingSettings.id)).where(
                col(WellbeingSettings.organisation_id) == org.id
            )
        )
    ).one()
    return found
