"""The published release through the API: HR for every unit, managers for their subtrees.

Figures are read from what the publisher stored (`wellbeing/publish.py`); these tests run the
publisher as the worker would after a period ends. Most use a budget so large the noise is
negligible (PLAIN_RHO), to check the plumbing; the attacks in test_wellbeing_attack.py use
the default budget."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import httpx
from fastapi import FastAPI
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from models.wellbeing import AnalyticsAudit, WellbeingSettings
from tests.conftest import FrozenClock
from tests.factories.analytics import PLAIN_RHO, ledger, publish, set_privacy, stored
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.wellbeing import make_checkin

ANALYTICS = "/api/v1/analytics/wellbeing"
PARTICIPATION = "/api/v1/analytics/participation"
NOVEMBER = "2026-11-01"


async def _team(
    db: AsyncSession, org: Organisation, unit: Unit, size: int, wellbeing: int, app: FastAPI
) -> list[Staff]:
    """`size` people in `unit`, each checking in twice (counted once); person i scores
    wellbeing - 1, +0, +1, -1, ..."""
    now = now_of(app)
    people = [await make_staff(db, org, unit=unit, now=now) for _ in range(size)]
    for i, person in enumerate(people):
        score = wellbeing + i % 3 - 1
        await make_checkin(db, person, at=now, wellbeing=score)
        await make_checkin(db, person, at=now + timedelta(hours=1), wellbeing=score)
    return people


async def _k(db: AsyncSession, org: Organisation, k: int, app: FastAPI) -> None:
    db.add(WellbeingSettings(organisation_id=org.id, k_threshold=k, updated_at=now_of(app)))
    await db.flush()


def _cells(body: dict, period: str = NOVEMBER) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["group"]: c for c in body["cells"] if c["period"] == period}


async def test_published_figures_carry_intervals_and_the_k_rule(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=PLAIN_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    big = await make_unit(db, org, "Big team", now=now)
    small = await make_unit(db, org, "Small team", now=now)
    await _team(db, org, big, 12, 14, app)
    await _team(db, org, small, 3, 20, app)
    clock.advance(days=40)
    url = f"{ANALYTICS}?instrument=pulse&period=month&by=unit"
    # Not published yet: every cell says so, nothing is computed on the request.
    before = (await client.get(url, headers=bearer(app, hr))).json()
    assert _cells(before)["total"]["suppressed"] is True
    assert "not published" in _cells(before)["total"]["reason"]
    decided = await publish(db, org, app)
    assert ("wellbeing", "month", date(2026, 11, 1)) in decided.published
    response = await client.get(url, headers=bearer(app, hr))
    assert response.status_code == 200
    body = response.json()
    assert body["k"] == 5
    cells = _cells(body)
    total = cells["total"]
    # 15 people (each counted once, though each checked in twice), the hr person too
    assert total["suppressed"] is False
    assert total["reason"] is None
    assert abs(total["n"] - 15) <= 1
    assert total["low"] <= total["mean"] <= total["high"]
    assert total["interval"] == [total["low"], total["high"]]
    assert abs(total["mean"] - (12 * 14 + 3 * 20) / 15) < 0.1
    assert cells[str(big.id)]["suppressed"] is False
    assert cells[str(big.id)]["label"] == "Big team"
    assert cells[str(small.id)] == {
        "period": NOVEMBER,
        "group": str(small.id),
        "label": "Small team",
        "n": None,
        "mean": None,
        "interval": None,
        "low": None,
        "high": None,
        "suppressed": True,
        "reason": "too few people to show: fewer than k, allowing for the noise",
    }
    # Role and tenure band: the whole organisation's figures, every group listed.
    by_role = await client.get(f"{ANALYTICS}?period=month&by=role", headers=bearer(app, hr))
    groups = set(_cells(by_role.json()))
    assert groups == {"total", "manager", "supervisor", "practitioner", "other"}
    by_band = await client.get(f"{ANALYTICS}?period=month&by=tenure_band", headers=bearer(app, hr))
    assert "under_1_year" in _cells(by_band.json())


async def test_weeks_and_unpublished_slices_are_problems(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    hr = await make_staff(db, org, Role.hr, now=now)
    manager = await make_staff(db, org, Role.manager, now=now)
    unit = await make_unit(db, org, "Team", manager=manager, now=now)
    elsewhere = await make_unit(db, await make_org(db, now=now), now=now)
    for query in (
        "?instrument=nope",
        "?measure=nope",
        "?period=week",
        "?period=year",
        "?by=email",
        "?from=2026-05-01&to=2026-01-01",
        "?from=2010-01-01&to=2026-01-01",
        "?instrument=proqol",
        f"?by=role&unit_id={unit.id}",
        # A number is not a date (pydantic alone would read it as seconds since 1970).
        "?to=0",
        "?from=1764547200",
    ):
        response = await client.get(ANALYTICS + query, headers=bearer(app, hr))
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"
    for url in (
        f"{PARTICIPATION}?period=week",
        f"/api/v1/oversight/units/{unit.id}/wellbeing?period=week",
        f"/api/v1/oversight/units/{unit.id}/wellbeing?by=tenure_band",
        f"/api/v1/oversight/units/{unit.id}/report-card?period=week",
        f"{PARTICIPATION}?to=0",
        "/api/v1/analytics/incidents?from=0",
        f"/api/v1/oversight/units/{unit.id}/wellbeing?to=0",
    ):
        who = hr if url.startswith("/api/v1/analytics") else manager
        response = await client.get(url, headers=bearer(app, who))
        assert response.status_code == 422, url
        assert response.headers["content-type"] == "application/problem+json"
    response = await client.get(f"{ANALYTICS}?unit_id={elsewhere.id}", headers=bearer(app, hr))
    assert response.status_code == 404
    audit = (await db.exec(select(AnalyticsAudit))).all()
    assert [(a.actor_id, a.status, a.released) for a in audit if a.actor_id == hr.id] == [
        (hr.id, 404, 0)
    ]


async def test_who_may_read_each_figure(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=PLAIN_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    manager = await make_staff(db, org, Role.manager, now=now)
    stranger = await make_staff(db, org, Role.manager, now=now)
    practitioner = await make_staff(db, org, Role.practitioner, now=now)
    service = await make_unit(db, org, "Service", manager=manager, now=now)
    team = await make_unit(db, org, "Team", parent=service, now=now)
    await _team(db, org, team, 8, 15, app)
    other_org = await make_org(db, now=now)
    theirs = await make_unit(db, other_org, "Theirs", now=now)
    clock.advance(days=40)
    await publish(db, org, app)
    oversight = f"/api/v1/oversight/units/{service.id}"
    analytics = [(hr, 200), (admin, 403), (manager, 403), (practitioner, 403)]
    reads: list[tuple[str, list[tuple[Staff, int]]]] = [
        (ANALYTICS, analytics),
        (f"{ANALYTICS}.csv", analytics),
        (f"{ANALYTICS}.xlsx", analytics),
        (PARTICIPATION, analytics),
        (
            f"{oversight}/wellbeing",
            [(manager, 200), (stranger, 404), (hr, 403), (admin, 403), (practitioner, 403)],
        ),
        (
            f"{oversight}/report-card",
            [(manager, 200), (stranger, 404), (hr, 200), (admin, 403), (practitioner, 403)],
        ),
        (f"/api/v1/oversight/units/{theirs.id}/wellbeing", [(manager, 404)]),
        (f"{ANALYTICS}?unit_id={theirs.id}", [(hr, 404)]),
    ]
    for url, expected in reads:
        for who, status in expected:
            response = await client.get(url, headers=bearer(app, who))
            assert response.status_code == status, (url, who.roles)
    card = await client.get(f"{oversight}/report-card?period=month", headers=bearer(app, hr))
    wellbeing = card.json()["wellbeing"]["previous"]
    assert wellbeing["suppressed"] is False
    assert wellbeing["low"] <= wellbeing["mean"] <= wellbeing["high"]


async def test_published_figures_never_change(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    """Asking twice, a k change, a restructure, a moved and a deactivated person, a late
    offline check-in dated inside the period, another publisher run: the same figures."""
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5)
    hr = await make_staff(db, org, Role.hr, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    service = await make_unit(db, org, "Service", now=now)
    other = await make_unit(db, org, "Other service", now=now)
    team = await make_unit(db, org, "Team", parent=service, now=now)
    people = await _team(db, org, team, 9, 15, app)
    await _team(db, org, other, 7, 12, app)
    clock.advance(days=40)
    await publish(db, org, app)
    figures, spent = await stored(db, org), [(s.measure, s.rho) for s in await ledger(db, org)]
    url = f"{ANALYTICS}.csv?period=month&by=unit&unit_id={service.id}"
    first = (await client.get(url, headers=bearer(app, hr))).content
    assert first == (await client.get(url, headers=bearer(app, hr))).content

    settings = "/api/v1/wellbeing/settings"
    etag = (await client.get(settings, headers=bearer(app, admin))).headers["etag"]
    changed = await client.put(
        settings, json={"k": 9}, headers={**bearer(app, admin), "If-Match": etag}
    )
    assert changed.status_code == 200
    unit_url = f"/api/v1/org/units/{team.id}"
    etag = (await client.get(unit_url, headers=bearer(app, admin))).headers["etag"]
    moved = await client.patch(
        unit_url,
        json={"parent_id": str(other.id)},
        headers={**bearer(app, admin), "If-Match": etag},
    )
    assert moved.status_code == 200
    people[0].unit_id = other.id
    people[1].active = False
    db.add_all(people[:2])
    await make_checkin(db, people[2], at=now + timedelta(days=2), wellbeing=25)  # late, offline
    await db.flush()
    await publish(db, org, app)
    assert await stored(db, org) == figures
    assert [(s.measure, s.rho) for s in await ledger(db, org)] == spent
    # The display rule follows today's k, but every number shown is the stored one.
    after = (await client.get(url, headers=bearer(app, hr))).content
    rows_before = {r["group"]: r for r in csv.DictReader(io.StringIO(first.decode()))}
    rows_after = {r["group"]: r for r in csv.DictReader(io.StringIO(after.decode()))}
    assert rows_before.keys() == rows_after.keys()
    for group, row in rows_after.items():
        if row["suppressed"] == "false" and rows_before[group]["suppressed"] == "false":
            assert {k: v for k, v in row.items() if k != "k"} == {
                k: v for k, v in rows_before[group].items() if k != "k"
            }


async def test_deleting_a_person_after_publication_changes_no_published_figure(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    """The directory's deletion (SCIM `DELETE /Users/{id}`, the only deletion the API offers;
    staff are never hard-deleted) of someone who checked in and recorded an incident: every
    stored figure, the ledger, and every read (wellbeing, participation, incidents) stay."""
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=PLAIN_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    team = await make_unit(db, org, "Team", now=now)
    people = await _team(db, org, team, 8, 15, app)
    leaver = people[0]
    incident = {
        "id": "44444444-4444-4444-8444-444444444444",
        "occurred_on": "2026-11-20",
        "category": "distressing_visit",
    }
    recorded = await client.post(
        "/api/v1/wellbeing/incidents", json=incident, headers=bearer(app, leaver)
    )
    assert recorded.status_code == 201
    clock.advance(days=40)
    await publish(db, org, app)
    figures, spent = await stored(db, org), [(s.measure, s.rho) for s in await ledger(db, org)]
    reads = (
        f"{ANALYTICS}?period=month&by=unit&unit_id={team.id}",
        f"{ANALYTICS}.csv?period=month&by=unit",
        f"{PARTICIPATION}?period=month&by=unit&unit_id={team.id}",
        f"/api/v1/analytics/incidents?period=month&unit_id={team.id}",
        "/api/v1/analytics/incidents?period=month&by=role",
    )
    before = [(await client.get(url, headers=bearer(app, hr))).content for url in reads]
    assert _cells((await client.get(reads[0], headers=bearer(app, hr))).json())["total"]["n"]

    token = (await client.post("/api/v1/org/scim-token", headers=bearer(app, admin))).json()
    deleted = await client.delete(
        f"/scim/v2/Users/{leaver.id}", headers={"Authorization": f"Bearer {token['token']}"}
    )
    assert deleted.status_code == 204
    await publish(db, org, app)  # the worker runs again: nothing is decided twice
    assert await stored(db, org) == figures
    assert [(s.measure, s.rho) for s in await ledger(db, org)] == spent
    after = [(await client.get(url, headers=bearer(app, hr))).content for url in reads]
    assert after == before


async def test_participation_uses_the_periods_snapshot(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=PLAIN_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    unit = await make_unit(db, org, "Team", now=now)
    elsewhere = await make_unit(db, org, "Elsewhere", now=now)
    people = await _team(db, org, unit, 6, 15, app)
    for _ in range(3):
        await make_staff(db, org, unit=unit, now=now)  # never checked in
    clock.advance(days=40)
    await publish(db, org, app)
    url = f"{PARTICIPATION}?period=month&by=unit&unit_id={unit.id}"
    response = await client.get(url, headers=bearer(app, hr))
    assert response.status_code == 200
    november = _cells(response.json())["total"]
    assert november["staff"] == 9
    assert abs(november["participants"] - 6) <= 1
    assert november["low"] <= november["participants"] <= november["high"]
    assert abs(november["rate"] - 0.667) < 0.1
    # Moving someone afterwards changes nothing published.
    people[0].unit_id = elsewhere.id
    db.add(people[0])
    await db.flush()
    assert (await client.get(url, headers=bearer(app, hr))).json() == response.json()


async def test_csv_neutralises_formulas_and_every_call_is_audited(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=PLAIN_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    unit = await make_unit(db, org, '=HYPERLINK("http://evil.example","x")', now=now)
    await _team(db, org, unit, 9, 18, app)
    clock.advance(days=40)
    await publish(db, org, app)
    response = await client.get(
        f"{ANALYTICS}.csv?period=month&by=unit&unit_id={unit.id}", headers=bearer(app, hr)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    november = [r for r in rows if r["period"] == NOVEMBER]
    assert november[0]["group"] == "total"
    assert float(november[0]["low"]) <= float(november[0]["mean"]) <= float(november[0]["high"])
    response = await client.get(f"{ANALYTICS}.csv?period=month&by=unit", headers=bearer(app, hr))
    labels = [r["label"] for r in csv.DictReader(io.StringIO(response.text))]
    assert "'" + unit.name in labels
    assert unit.name not in labels
    participation = await client.get(
        f"{PARTICIPATION}?period=month&by=unit", headers=bearer(app, hr)
    )
    assert participation.status_code == 200
    audit = (await db.exec(select(AnalyticsAudit))).all()
    assert sorted(a.endpoint for a in audit) == [
        "analytics_participation",
        "analytics_wellbeing_csv",
        "analytics_wellbeing_csv",
    ]
    assert all(a.actor_id == hr.id for a in audit)


async def test_k_is_an_admin_setting_never_below_five(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    hr = await make_staff(db, org, Role.hr, now=now)
    url = "/api/v1/wellbeing/settings"
    current = await client.get(url, headers=bearer(app, admin))
    assert current.json() == {
        "k": 10,
        "share_days": 14,
        "answers_retention_days": 365,
        "employee_assistance": None,
        "wellbeing_contact_id": None,
        "incident_follow_up_days": 4,
        "year_rho": None,
        "year_rho_in_force": 0.75,
    }
    for k in (4, 0, -1):
        refused = await client.put(url, json={"k": k}, headers=bearer(app, admin))
        assert refused.status_code == 422
    assert (await client.put(url, json={"k": 7}, headers=bearer(app, hr))).status_code == 403
    missing = await client.put(url, json={"k": 5}, headers=bearer(app, admin))
    assert missing.status_code == 428
    etag = current.headers["etag"]
    changed = await client.put(
        url,
        json={"k": 5, "employee_assistance": "Care First 0800 000 000"},
        headers={**bearer(app, admin), "If-Match": etag},
    )
    assert changed.status_code == 200
    assert changed.json()["k"] == 5
    assert changed.headers["etag"] != etag
    stale = await client.put(url, json={"k": 9}, headers={**bearer(app, admin), "If-Match": etag})
    assert stale.status_code == 412
    assert (await client.get(url, headers=bearer(app, admin))).json()["k"] == 5
    assert (await client.get(ANALYTICS, headers=bearer(app, hr))).json()["k"] == 5
    me = await make_staff(db, org, now=now)
    checkin = await client.post(
        "/api/v1/wellbeing/checkins",
        json={
            "id": "33333333-3333-4333-8333-333333333333",
            "instrument": "pulse",
            "answers": {"mood": 3, "stress": 3, "exposure": 3, "supported": 3, "sleep": 3},
        },
        headers=bearer(app, me),
    )
    assert {"name": "Employee assistance", "contact": "Care First 0800 000 000"} in checkin.json()[
        "signposting"
    ]
    # The wellbeing contact: someone of this organisation, active; then on everyone's options.
    outsider = await make_staff(db, await make_org(db, now=now), now=now)
    contact = await make_staff(db, org, now=now)
    etag = (await client.get(url, headers=bearer(app, admin))).headers["etag"]
    wrong = await client.put(
        url,
        json={"wellbeing_contact_id": str(outsider.id)},
        headers={**bearer(app, admin), "If-Match": etag},
    )
    assert wrong.status_code == 422
    named = await client.put(
        url,
        json={"wellbeing_contact_id": str(contact.id), "incident_follow_up_days": 7},
        headers={**bearer(app, admin), "If-Match": etag},
    )
    assert named.json()["wellbeing_contact_id"] == str(contact.id)
    assert named.json()["incident_follow_up_days"] == 7
    options = await client.get("/api/v1/wellbeing/talk-requests/options", headers=bearer(app, me))
    assert [o["staff_id"] for o in options.json()["options"]] == [str(contact.id)]


async def test_refused_analytics_calls_are_audited_with_what_was_asked(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    elsewhere = await make_org(db, now=now)
    manager = await make_staff(db, org, Role.manager, now=now)
    hr = await make_staff(db, org, Role.hr, now=now)
    practitioner = await make_staff(db, org, Role.practitioner, now=now)
    mine = await make_unit(db, org, "Mine", manager=manager, now=now)
    not_mine = await make_unit(db, org, "Not mine", now=now)
    theirs = await make_unit(db, elsewhere, "Theirs", now=now)
    clock.advance(days=40)

    calls = [
        # (who, url, status, endpoint)
        (manager, f"{ANALYTICS}?period=quarter&by=role", 403, "analytics_wellbeing"),
        (practitioner, "/api/v1/analytics/participation", 403, "analytics_participation"),
        (hr, f"{ANALYTICS}.csv?unit_id={theirs.id}", 404, "analytics_wellbeing_csv"),
        (manager, f"/api/v1/oversight/units/{not_mine.id}/wellbeing", 404, "oversight_wellbeing"),
        (manager, f"/api/v1/oversight/units/{theirs.id}/report-card", 404, "report_card"),
        (practitioner, f"/api/v1/oversight/units/{mine.id}/report-card.csv", 403, "report_card"),
    ]
    for who, url, status, _ in calls:
        response = await client.get(url, headers=bearer(app, who))
        assert response.status_code == status, url
        assert response.headers["content-type"] == "application/problem+json"
    # Not signed in: refused before anyone is known, so nothing to record.
    assert (await client.get(ANALYTICS)).status_code == 401
    # Answered calls are recorded as before, with their status.
    assert (
        await client.get(
            f"/api/v1/oversight/units/{mine.id}/wellbeing", headers=bearer(app, manager)
        )
    ).status_code == 200

    rows = (await db.exec(select(AnalyticsAudit))).all()
    assert sorted((r.actor_id, r.endpoint, r.status) for r in rows) == sorted(
        [(who.id, endpoint, status) for who, _, status, endpoint in calls]
        + [(manager.id, "oversight_wellbeing", 200)]
    )
    assert all((r.released, r.suppressed) == (0, 0) for r in rows if r.status != 200)
    assert all(r.organisation_id == org.id for r in rows)
    by_endpoint = {(r.endpoint, r.status): r.params for r in rows}
    assert by_endpoint[("analytics_wellbeing", 403)] == {"period": "quarter", "by": "role"}
    assert by_endpoint[("analytics_wellbeing_csv", 404)] == {"unit_id": str(theirs.id)}
    assert by_endpoint[("oversight_wellbeing", 404)] == {"unit_id": str(not_mine.id)}
