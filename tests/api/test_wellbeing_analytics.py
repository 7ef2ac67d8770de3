"""Anonymised aggregates through the API: HR for every unit, managers for their subtrees."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from models.wellbeing import AnalyticsAudit, WellbeingSettings
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.wellbeing import make_checkin

ANALYTICS = "/api/v1/analytics/wellbeing"


async def _team(
    db: AsyncSession, org: Organisation, unit: Unit, size: int, wellbeing: int, app: FastAPI
) -> list[Staff]:
    now = now_of(app)
    """`size` people in `unit`, each checking in twice; person i scores wellbeing - 1, +0,
    +1, -1, ... (identical answers would be suppressed: the mean would tell each one)."""
    people = [await make_staff(db, org, unit=unit, now=now) for _ in range(size)]
    for i, person in enumerate(people):
        score = wellbeing + i % 3 - 1
        await make_checkin(db, person, at=now, wellbeing=score)
        await make_checkin(db, person, at=now + timedelta(hours=1), wellbeing=score)
    return people


async def _k(db: AsyncSession, org: Organisation, k: int, app: FastAPI) -> None:
    db.add(WellbeingSettings(organisation_id=org.id, k_threshold=k, updated_at=now_of(app)))
    await db.flush()


async def test_k_rule_at_k_minus_one_and_k_on_distinct_people(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    answers = {}
    for size in (4, 5):
        org = await make_org(db, now=now)
        await _k(db, org, 5, app)
        hr = await make_staff(db, org, Role.hr, now=now)
        unit = await make_unit(db, org, "Team", now=now)
        await _team(db, org, unit, size, 14, app)  # two check-ins each: 8 or 10 check-ins
        answers[size] = (hr, unit)
    clock.advance(days=40)
    for size, (hr, unit) in answers.items():
        response = await client.get(
            f"{ANALYTICS}?instrument=pulse&period=month&by=unit", headers=bearer(app, hr)
        )
        assert response.status_code == 200
        body = response.json()
        assert body["k"] == 5
        november = [c for c in body["cells"] if c["period"] == "2026-11-01"]
        totals = {c["group"]: c for c in november}
        if size == 4:
            assert totals["total"] == {
                "period": "2026-11-01",
                "group": "total",
                "label": "All",
                "n": None,
                "mean": None,
                "suppressed": True,
            }
        else:
            assert (totals["total"]["n"], totals["total"]["mean"]) == (5, 13.8)  # 69 / 5
            assert (totals[str(unit.id)]["n"], totals[str(unit.id)]["suppressed"]) == (5, False)


async def test_complementary_suppression_and_manager_scope(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await _k(db, org, 5, app)
    manager = await make_staff(db, org, Role.manager, now=now)
    service = await make_unit(db, org, "Service", manager=manager, now=now)
    a = await make_unit(db, org, "A", parent=service, now=now)
    b = await make_unit(db, org, "B", parent=service, now=now)
    c = await make_unit(db, org, "C", parent=service, now=now)
    other = await make_unit(db, org, "Elsewhere", now=now)
    await _team(db, org, a, 6, 10, app)
    await _team(db, org, b, 4, 20, app)
    await _team(db, org, c, 7, 15, app)
    clock.advance(days=40)
    url = f"/api/v1/oversight/units/{service.id}/wellbeing?instrument=pulse&period=month&by=unit"
    response = await client.get(url, headers=bearer(app, manager))
    assert response.status_code == 200
    november = [x for x in response.json()["cells"] if x["period"] == "2026-11-01"]
    cells = {x["group"]: (x["n"], x["suppressed"]) for x in november}
    assert cells["total"] == (17, False)
    assert cells[str(b.id)] == (None, True)  # 4 < k
    assert cells[str(a.id)] == (None, True)  # next smallest, so B is not total - A - C
    assert cells[str(c.id)] == (7, False)
    # Nor can A (and so B) come back through A's role breakdown.
    by_role = await client.get(
        f"/api/v1/oversight/units/{a.id}/wellbeing?period=month&by=role",
        headers=bearer(app, manager),
    )
    assert all(x["suppressed"] for x in by_role.json()["cells"])
    audit = (await db.exec(select(AnalyticsAudit))).all()
    assert [(a.endpoint, a.actor_id) for a in audit] == [("oversight_wellbeing", manager.id)] * 2

    # Outside the manager's subtrees: 404; without the manager role: 403.
    outside = await client.get(
        f"/api/v1/oversight/units/{other.id}/wellbeing", headers=bearer(app, manager)
    )
    assert outside.status_code == 404
    for roles in ((Role.practitioner,), (Role.supervisor,), (Role.hr,), (Role.admin,)):
        someone = await make_staff(db, org, *roles, now=now)
        response = await client.get(url, headers=bearer(app, someone))
        assert response.status_code == 403, roles
        if Role.hr not in roles:
            assert (await client.get(ANALYTICS, headers=bearer(app, someone))).status_code == 403
    stranger = await make_staff(db, org, Role.manager, now=now)
    assert (await client.get(url, headers=bearer(app, stranger))).status_code == 404


async def test_a_newcomer_is_not_revealed_by_the_next_month(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await _k(db, org, 5, app)
    hr = await make_staff(db, org, Role.hr, now=now)
    unit = await make_unit(db, org, "Team", now=now)
    team = await _team(db, org, unit, 6, 12, app)
    clock.advance(days=10)  # December
    for i, person in enumerate(team):
        await make_checkin(db, person, at=now_of(app), wellbeing=11 + i % 3)
    newcomer = await make_staff(db, org, unit=unit, now=now)
    await make_checkin(db, newcomer, at=now_of(app), wellbeing=25)
    clock.advance(days=40)
    response = await client.get(
        f"{ANALYTICS}?period=month&by=unit&from=2026-11-01&to=2026-12-31", headers=bearer(app, hr)
    )
    totals = {x["period"]: x for x in response.json()["cells"] if x["group"] == "total"}
    assert totals["2026-11-01"]["n"] == 6
    assert totals["2026-12-01"]["suppressed"] is True  # 7 * mean - 6 * 12 would be 25


async def test_csv_neutralises_formulas_and_every_call_is_audited(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await _k(db, org, 5, app)
    hr = await make_staff(db, org, Role.hr, now=now)
    unit = await make_unit(db, org, '=HYPERLINK("http://evil.example","x")', now=now)
    await _team(db, org, unit, 5, 18, app)
    clock.advance(days=40)
    response = await client.get(
        f"{ANALYTICS}.csv?period=month&by=unit&unit_id={unit.id}", headers=bearer(app, hr)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    november = [r for r in rows if r["period"] == "2026-11-01"]
    assert november[0]["group"] == "total"
    assert (november[0]["n"], november[0]["mean"]) == ("5", "17.8")
    response = await client.get(f"{ANALYTICS}.csv?period=month&by=unit", headers=bearer(app, hr))
    labels = [r["label"] for r in csv.DictReader(io.StringIO(response.text))]
    assert "'" + unit.name in labels
    assert unit.name not in labels
    await client.get(f"{ANALYTICS}?period=week&by=tenure_band", headers=bearer(app, hr))
    participation = await client.get(
        "/api/v1/analytics/participation?period=month&by=unit", headers=bearer(app, hr)
    )
    assert participation.status_code == 200
    audit = (await db.exec(select(AnalyticsAudit))).all()
    assert sorted(a.endpoint for a in audit) == [
        "analytics_participation",
        "analytics_wellbeing",
        "analytics_wellbeing_csv",
        "analytics_wellbeing_csv",
    ]
    assert all(a.actor_id == hr.id for a in audit)
    weekly = next(a for a in audit if a.endpoint == "analytics_wellbeing")
    assert weekly.params["period"] == "week"
    assert weekly.params["by"] == "tenure_band"


async def test_participation_counts_people_and_applies_k(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await _k(db, org, 5, app)
    hr = await make_staff(db, org, Role.hr, now=now)
    unit = await make_unit(db, org, "Team", now=now)
    await _team(db, org, unit, 6, 15, app)
    for _ in range(3):
        await make_staff(db, org, unit=unit, now=now)  # never checked in
    clock.advance(days=40)
    response = await client.get(
        f"/api/v1/analytics/participation?period=month&by=unit&unit_id={unit.id}",
        headers=bearer(app, hr),
    )
    november = [x for x in response.json()["cells"] if x["period"] == "2026-11-01"]
    assert (november[0]["staff"], november[0]["participants"], november[0]["rate"]) == (
        9,
        6,
        0.667,
    )


async def test_bad_queries_are_problems(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    hr = await make_staff(db, org, Role.hr, now=now)
    elsewhere = await make_unit(db, await make_org(db, now=now), now=now)
    for query in (
        "?instrument=nope",
        "?measure=nope",
        "?period=year",
        "?by=email",
        "?from=2026-05-01&to=2026-01-01",
        "?from=2010-01-01&to=2026-01-01&period=week",
    ):
        response = await client.get(ANALYTICS + query, headers=bearer(app, hr))
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"
    response = await client.get(f"{ANALYTICS}?unit_id={elsewhere.id}", headers=bearer(app, hr))
    assert response.status_code == 404
    # Malformed queries released nothing and are not audited; the probe of another
    # organisation's unit is, as refused.
    audit = (await db.exec(select(AnalyticsAudit))).all()
    assert [(a.actor_id, a.status, a.released) for a in audit] == [(hr.id, 404, 0)]


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
        (manager, f"{ANALYTICS}?period=week&by=role", 403, "analytics_wellbeing"),
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
    assert by_endpoint[("analytics_wellbeing", 403)] == {"period": "week", "by": "role"}
    assert by_endpoint[("analytics_wellbeing_csv", 404)] == {"unit_id": str(theirs.id)}
    assert by_endpoint[("oversight_wellbeing", 404)] == {"unit_id": str(not_mine.id)}
