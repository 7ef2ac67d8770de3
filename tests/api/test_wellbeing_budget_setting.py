"""The organisation sets its own privacy budget (wellbeing settings `year_rho`): admins only,
with If-Match, within 0.05..10 (null: the default). A change applies to periods not yet
published: published figures and their ledger rows never change, and a lowered budget never
lets a year spend more than the new budget or than it had already spent."""

from __future__ import annotations

from datetime import date

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.analytics.budget import DEFAULT_YEAR_RHO, plan
from models.analytics.tables import PrivacySpend
from models.directory.staff import Role, Staff
from tests.conftest import FrozenClock
from tests.factories.analytics import ledger, publish, stored
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.wellbeing import make_checkin
from wellbeing.publish import measures

SETTINGS = "/api/v1/wellbeing/settings"


async def test_only_an_admin_sets_the_budget_within_its_range(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    hr = await make_staff(db, org, Role.hr, now=now)
    current = await client.get(SETTINGS, headers=bearer(app, admin))
    assert current.json()["year_rho"] is None
    assert current.json()["year_rho_in_force"] == DEFAULT_YEAR_RHO
    etag = current.headers["etag"]
    for bad in (0.01, 0.0, -1, 10.5, 1e308, "0.5", True):
        refused = await client.put(
            SETTINGS, json={"year_rho": bad}, headers={**bearer(app, admin), "If-Match": etag}
        )
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"] == "application/problem+json"
    # Nothing was changed by the refusals: the ETag still matches.
    assert (await client.get(SETTINGS, headers=bearer(app, admin))).headers["etag"] == etag
    as_hr = await client.put(
        SETTINGS, json={"year_rho": 1.0}, headers={**bearer(app, hr), "If-Match": etag}
    )
    assert as_hr.status_code == 403
    missing = await client.put(SETTINGS, json={"year_rho": 1.0}, headers=bearer(app, admin))
    assert missing.status_code == 428
    changed = await client.put(
        SETTINGS, json={"year_rho": 0.3}, headers={**bearer(app, admin), "If-Match": etag}
    )
    assert changed.status_code == 200
    assert (changed.json()["year_rho"], changed.json()["year_rho_in_force"]) == (0.3, 0.3)
    assert changed.headers["etag"] != etag
    stale = await client.put(
        SETTINGS, json={"year_rho": 1.0}, headers={**bearer(app, admin), "If-Match": etag}
    )
    assert stale.status_code == 412
    # Other changes leave it alone; null goes back to the default.
    etag = changed.headers["etag"]
    other = await client.put(
        SETTINGS, json={"share_days": 20}, headers={**bearer(app, admin), "If-Match": etag}
    )
    assert other.json()["year_rho"] == 0.3
    reset = await client.put(
        SETTINGS,
        json={"year_rho": None},
        headers={**bearer(app, admin), "If-Match": other.headers["etag"]},
    )
    assert reset.json()["year_rho"] is None
    assert reset.json()["year_rho_in_force"] == DEFAULT_YEAR_RHO


async def _set(client: httpx.AsyncClient, app: FastAPI, admin: Staff, rho: float | None) -> None:
    etag = (await client.get(SETTINGS, headers=bearer(app, admin))).headers["etag"]
    response = await client.put(
        SETTINGS, json={"year_rho": rho}, headers={**bearer(app, admin), "If-Match": etag}
    )
    assert response.status_code == 200


def _spent(rows: list[PrivacySpend], year: int) -> float:
    return sum(r.rho for r in rows if r.period_start.year == year)


async def test_the_publisher_uses_the_new_budget_for_periods_not_yet_published(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    team = await make_unit(db, org, "Team", now=now)
    people = [await make_staff(db, org, unit=team, now=now) for _ in range(8)]
    for person in people:
        await make_checkin(db, person, at=now, wellbeing=15)
    await _set(client, app, admin, 2.0)
    clock.advance(days=40)  # 2 January 2027: October and November 2026 due
    first = await publish(db, org, app)
    assert ("wellbeing", "month", date(2026, 11, 1)) in first.published
    assert not first.refused
    at_two = plan(2.0, measures())
    spent_2026 = _spent(await ledger(db, org), 2026)
    assert all(
        r.rho == at_two[(r.measure, r.period_kind)] for r in await ledger(db, org)
    )  # each period spent its share of the budget in force when it was published
    assert 0 < spent_2026 <= 2.0
    before = await stored(db, org)

    # Lowered below what 2026 has already spent: what is published stays; no later period of
    # 2026 is published (it would take the year past the new budget); 2027 starts afresh.
    await _set(client, app, admin, 0.05)
    assert spent_2026 > 0.05
    clock.advance(days=33)  # 4 February 2027: December and January due
    second = await publish(db, org, app)
    assert ("wellbeing", "month", date(2026, 12, 1)) in second.refused
    assert ("wellbeing", "month", date(2027, 1, 1)) in second.published
    rows = await ledger(db, org)
    assert _spent(rows, 2026) == spent_2026
    assert _spent(rows, 2027) <= 0.05
    low = plan(0.05, measures())
    in_2027 = [r for r in rows if r.period_start.year == 2027]
    assert all(r.rho == low[(r.measure, r.period_kind)] for r in in_2027)
    after = await stored(db, org)
    assert set(before) <= set(after)  # every published figure is still there, unchanged
    # The refused December reads "not published", never a figure.
    hr = await make_staff(db, org, Role.hr, now=now_of(app))
    body = (
        await client.get(
            "/api/v1/analytics/wellbeing?period=month&from=2026-12-01&to=2026-12-31",
            headers=bearer(app, hr),
        )
    ).json()
    december = [c for c in body["cells"] if c["period"] == "2026-12-01"]
    assert december
    assert all(c["suppressed"] for c in december)
    assert all("not published" in c["reason"] for c in december)

    # Raised again: periods not yet published (the refused December too, while the worker
    # still looks back to it) use the larger share; no year ever passes the budget in force.
    await _set(client, app, admin, 5.0)
    clock.advance(days=30)  # 6 March 2027: February due
    third = await publish(db, org, app)
    assert ("wellbeing", "month", date(2027, 2, 1)) in third.published
    assert ("wellbeing", "month", date(2026, 12, 1)) in third.published
    rows = await ledger(db, org)
    assert spent_2026 < _spent(rows, 2026) <= 5.0
    assert _spent(rows, 2027) <= 5.0
    assert set(before) <= set(await stored(db, org))
