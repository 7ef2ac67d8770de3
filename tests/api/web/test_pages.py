"""Who sees which page: each role its own, another role's page 403, another unit 404.

The pages call the API's domain functions with the same Actor, so these tests check the
wiring (guards, scope, what is shown) rather than the figures, which the API tests cover.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from models.directory.organisation import Organisation
from models.directory.staff import Staff
from tests.api.web.conftest import signed_in
from tests.factories.directory import bearer, make_unit, now_of
from tests.factories.reflections import make_reflection
from tests.factories.supervision import Team, make_team

PAGES = {
    "home": "/app",
    "units": "/app/units",
    "supervisees": "/app/supervisees",
    "notes": "/app/supervisees/notes",
    "talk": "/app/supervisees/talk-requests",
    "wellbeing": "/app/wellbeing",
    "wellbeing_csv": "/app/wellbeing.csv",
    "wellbeing_xlsx": "/app/wellbeing.xlsx",
    "admin": "/app/admin",
    "admin_staff": "/app/admin/staff",
    "admin_units": "/app/admin/units",
    "admin_import": "/app/admin/import",
    "admin_policy": "/app/admin/policy",
    "admin_access_log": "/app/admin/access-log",
    "admin_access_log_csv": "/app/admin/access-log.csv",
    "admin_analytics_audit": "/app/admin/analytics-audit",
    "admin_analytics_audit_csv": "/app/admin/analytics-audit.csv",
    "admin_identity_audit": "/app/admin/identity-audit",
    "admin_identity_audit_csv": "/app/admin/identity-audit.csv",
}
# Which pages each person in the team may open (every other one answers 403).
# Requests to talk need no role (as in the API): whoever was asked sees their own.
ALLOWED = {
    "manager": {"home", "units", "talk"},
    "supervisor": {"home", "supervisees", "notes", "talk"},
    "hr": {"home", "units", "wellbeing", "wellbeing_csv", "wellbeing_xlsx", "talk"},
    "admin": {"home", "units", "talk"} | {p for p in PAGES if p.startswith("admin")},
    "supervisee": {"home", "talk"},
}


@pytest.mark.parametrize("who", sorted(ALLOWED))
async def test_each_role_opens_its_pages_and_no_other(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession, who: str
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, getattr(team, who))
    for name, path in PAGES.items():
        response = await web.get(path)
        status = response.status_code
        if name == "units" and name in ALLOWED[who] and status == 303:
            response = await web.get(response.headers["location"])
            status = response.status_code
        expected = 200 if name in ALLOWED[who] else 403
        assert status == expected, (who, path, status)
        if expected == 403:
            assert "You do not have access to this page" in response.text


async def test_signed_out_every_page_leads_to_sign_in(web: httpx.AsyncClient) -> None:
    root = await web.get("/")
    assert (root.status_code, root.headers["location"]) == (303, "/app")
    for path in PAGES.values():
        response = await web.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/app/sign-in?next=")


async def test_a_manager_drills_down_their_subtree_only(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.head)
    top = await web.get("/app/units")
    assert top.headers["location"] == f"/app/units/{team.directorate.id}"
    page = await web.get(top.headers["location"])
    assert f'href="/app/units/{team.team.id}"' in page.text
    assert f'href="/app/units/{team.other_team.id}"' in page.text
    assert team.supervisee.display_name in page.text
    drilled = await web.get(f"/app/units/{team.team.id}")
    assert drilled.status_code == 200
    assert team.supervisee.display_name in drilled.text
    for suffix in ("/trend", "/report-card", "/report-card?period=month"):
        assert (await web.get(f"/app/units/{team.team.id}{suffix}")).status_code == 200


async def test_out_of_scope_units_are_404_like_the_api(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.manager)
    other_org_unit = await make_unit(db, await _org_of(db, team.outsider), now=now_of(app))
    for unit_id in (team.other_team.id, team.directorate.id, other_org_unit.id):
        for suffix in ("", "/trend", "/report-card"):
            response = await web.get(f"/app/units/{unit_id}{suffix}")
            assert response.status_code == 404, (unit_id, suffix)
            api = await web.get(
                f"/api/v1/oversight/units/{unit_id}/supervision", headers=bearer(app, team.manager)
            )
            assert api.status_code == 404
    assert (await web.get("/app/units/not-a-uuid")).status_code == 400


async def _org_of(db: AsyncSession, staff: Staff) -> Organisation:
    return (
        await db.exec(select(Organisation).where(col(Organisation.id) == staff.organisation_id))
    ).one()


async def test_hr_sees_counts_and_no_names(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.hr)
    page = await web.get(f"/app/units/{team.team.id}")
    assert page.status_code == 200
    assert team.supervisee.display_name not in page.text
    assert "You see counts for this unit, not people" in page.text


async def test_opening_a_shared_note_logs_the_read_for_its_author(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    ring = app.state.key_ring
    note = await make_reflection(db, ring, team.supervisee, now_of(app), title="Elm Street")
    shared = await web.post(
        f"/api/v1/reflections/{note.id}/share", json={}, headers=bearer(app, team.supervisee)
    )
    assert shared.status_code == 200
    private = await make_reflection(db, ring, team.supervisee, now_of(app), title="Private")
    await signed_in(web, db, app, team.supervisor)
    listing = await web.get("/app/supervisees/notes")
    assert "Elm Street" in listing.text
    assert "Private" not in listing.text
    opened = await web.get(f"/app/supervisees/notes/{note.id}")
    assert opened.status_code == 200
    assert "The home visit to the family on Elm Street went badly." in opened.text
    reads = (
        await db.exec(
            select(AccessLog).where(
                col(AccessLog.subject_id) == team.supervisee.id,
                col(AccessLog.reader_id) == team.supervisor.id,
                col(AccessLog.resource_id) == note.id,
            )
        )
    ).all()
    assert len(reads) >= 1
    # A note that was not shared is not found, as in the API; nor is another supervisor's.
    assert (await web.get(f"/app/supervisees/notes/{private.id}")).status_code == 404


async def test_pages_carry_the_security_headers_and_the_api_does_not_change(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team: Team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.admin)
    for path in ("/app/sign-in", "/app/admin/staff", "/app/nothing-here"):
        response = await web.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert "<script>" not in response.text  # no inline script anywhere
    api = await web.get("/api/v1/me", headers=bearer(app, team.admin))
    assert "content-security-policy" not in api.headers
    missing = await web.get("/api/v1/nothing-here")
    assert missing.headers["content-type"] == "application/problem+json"


async def test_requests_to_talk_sent_to_the_supervisor_are_listed(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    raised = await web.post(
        "/api/v1/wellbeing/talk-requests",
        json={"id": str(uuid.uuid4()), "to": "supervisor"},
        headers=bearer(app, team.supervisee),
    )
    assert raised.status_code == 201, raised.text
    await signed_in(web, db, app, team.supervisor)
    listing = await web.get("/app/supervisees/talk-requests")
    assert team.supervisee.display_name in listing.text
    assert "Open" in listing.text
    closed_only = await web.get("/app/supervisees/talk-requests?status=closed")
    assert team.supervisee.display_name not in closed_only.text
    # Nobody else's: the colleague (a supervisor too) sees no request.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as other:
        await signed_in(other, db, app, team.colleague)
        theirs = await other.get("/app/supervisees/talk-requests")
        assert team.supervisee.display_name not in theirs.text
