"""Admins' forms: the same domain calls as the API, its rules, its If-Match, CSRF."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.organisation import Unit
from models.directory.staff import Staff
from models.supervision import SupervisionPolicyRow
from tests.api.web.conftest import form_token, signed_in
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import make_team


def _staff_form(token: str, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf_token": token,
        "display_name": "Nia Powell",
        "email": "nia.powell@council.example",
        "roles": ["practitioner", "supervisor"],
        "cohort": "qualified",
        "started_on-day": "5",
        "started_on-month": "1",
        "started_on-year": "2026",
        "timezone": "Europe/London",
    }
    data.update(overrides)
    return data


async def _by_email(db: AsyncSession, email: str) -> Staff | None:
    return (await db.exec(select(Staff).where(col(Staff.email) == email))).first()


async def test_admin_adds_and_changes_a_staff_member(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.admin)
    token = await form_token(web, "/app/admin/staff/new")
    created = await web.post(
        "/app/admin/staff/new", data=_staff_form(token, unit_id=str(team.team.id))
    )
    assert created.status_code == 303, created.text
    nia = await _by_email(db, "nia.powell@council.example")
    assert nia is not None
    assert nia.unit_id == team.team.id
    assert sorted(nia.roles) == ["practitioner", "supervisor"]
    assert created.headers["location"] == f"/app/admin/staff/{nia.id}?saved=1"
    edit = await web.get(created.headers["location"])
    assert "Saved." in edit.text
    assert 'name="version" value="1"' in edit.text
    changed = await web.post(
        f"/app/admin/staff/{nia.id}",
        data=_staff_form(token, display_name="Nia Powell-Jones", version="1", active="yes"),
    )
    assert changed.status_code == 303
    again = await _by_email(db, "nia.powell@council.example")
    assert again is not None
    await db.refresh(again)
    assert (again.display_name, again.version) == ("Nia Powell-Jones", 2)
    assert again.unit_id is None  # the form's empty unit means "no unit"


async def test_a_stale_form_changes_nothing_and_says_why(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.admin)
    token = await form_token(web, f"/app/admin/staff/{team.supervisee.id}")
    version = team.supervisee.version
    # Someone else changes them through the API meanwhile.
    api = await web.get(f"/api/v1/staff/{team.supervisee.id}", headers=bearer(app, team.admin))
    await web.patch(
        f"/api/v1/staff/{team.supervisee.id}",
        json={"display_name": "Changed Elsewhere"},
        headers={**bearer(app, team.admin), "If-Match": api.headers["etag"]},
    )
    stale = await web.post(
        f"/app/admin/staff/{team.supervisee.id}",
        data=_staff_form(
            token,
            email=team.supervisee.email,
            display_name="Mine",
            version=str(version),
            active="yes",
        ),
    )
    assert stale.status_code == 422
    assert "Someone else changed this staff member" in stale.text
    await db.refresh(team.supervisee)
    assert team.supervisee.display_name == "Changed Elsewhere"


async def test_bad_input_is_shown_in_an_error_summary_and_nothing_is_saved(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.admin)
    token = await form_token(web, "/app/admin/staff/new")
    response = await web.post(
        "/app/admin/staff/new",
        data=_staff_form(token, email="not-an-email", roles=[], **{"started_on-month": "13"}),
    )
    assert response.status_code == 422
    assert "govuk-error-summary" in response.text
    assert 'href="#email"' in response.text
    assert 'href="#started_on"' in response.text
    assert 'href="#roles"' in response.text
    assert "<title>Error: " in response.text
    assert await _by_email(db, "not-an-email") is None
    taken = await web.post(
        "/app/admin/staff/new", data=_staff_form(token, email=team.supervisor.email)
    )
    assert taken.status_code == 422
    assert "already exists" in taken.text


async def test_admin_units_and_policy_forms(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.admin)
    token = await form_token(web, "/app/admin/units/new")
    made = await web.post(
        "/app/admin/units/new",
        data={"csrf_token": token, "name": "Fostering", "parent_id": str(team.directorate.id)},
    )
    assert made.status_code == 303
    unit = (await db.exec(select(Unit).where(col(Unit.name) == "Fostering"))).one()
    assert unit.parent_id == team.directorate.id
    # A cycle is the domain's 422, shown on the form.
    cycle = await web.post(
        f"/app/admin/units/{team.directorate.id}",
        data={
            "csrf_token": token,
            "name": team.directorate.name,
            "parent_id": str(unit.id),
            "version": str(team.directorate.version),
        },
    )
    assert cycle.status_code == 422
    assert "govuk-error-summary" in cycle.text
    page = await web.get("/app/admin/policy")
    assert 'name="version" value="' in page.text
    form = {
        "csrf_token": token,
        "version": page.text.split('name="version" value="')[1].split('"')[0],
        "qualified_interval_days": "28",
        "asye_weekly_weeks": "6",
        "asye_weekly_interval_days": "7",
        "asye_fortnightly_months": "6",
        "asye_fortnightly_interval_days": "14",
        "asye_interval_days": "28",
        "manager_interval_days": "42",
        "student_interval_days": "14",
        "other_interval_days": "42",
        "minimum_minutes": "60",
        "write_up_working_days": "5",
        "sign_off_working_days": "5",
        "counted_kinds": ["one_to_one", "group"],
        "bank_holidays": "2026-12-25\n2026-12-28\n",
    }
    saved = await web.post("/app/admin/policy", data=form)
    assert saved.status_code == 303
    row = (
        await db.exec(
            select(SupervisionPolicyRow).where(
                col(SupervisionPolicyRow.organisation_id) == team.org.id
            )
        )
    ).one()
    assert (row.qualified_interval_days, row.manager_interval_days) == (28, 42)
    assert row.bank_holidays == ["2026-12-25", "2026-12-28"]
    again = await web.post("/app/admin/policy", data={**form, "qualified_interval_days": "21"})
    assert again.status_code == 422
    assert "Someone else changed the policy" in again.text
    bad = await web.post(
        "/app/admin/policy", data={**form, "version": str(row.version), "minimum_minutes": "-1"}
    )
    assert bad.status_code == 422
    assert 'href="#minimum_minutes"' in bad.text


async def test_the_import_lists_each_problem_by_line_and_imports_nothing(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.admin)
    token = await form_token(web, "/app/admin/import")
    bad = (
        "email,display_name,started_on\n"
        "ok.person@council.example,Ok Person,2026-01-05\n"
        "not-an-email,Someone,2026-13-01\n"
    )
    response = await web.post(
        "/app/admin/import",
        data={"csrf_token": token},
        files={"file": ("staff.csv", bad.encode(), "text/csv")},
    )
    assert response.status_code == 422
    assert "Line 3, column email" in response.text
    assert "Line 3, column started_on" in response.text
    assert await _by_email(db, "ok.person@council.example") is None
    good = bad.splitlines()[0] + "\n" + bad.splitlines()[1] + "\n"
    response = await web.post(
        "/app/admin/import",
        data={"csrf_token": token},
        files={"file": ("staff.csv", good.encode(), "text/csv")},
    )
    assert response.status_code == 200
    assert "Imported: 1 added, 0 updated." in response.text
    assert await _by_email(db, "ok.person@council.example") is not None
    missing = await web.post("/app/admin/import", data={"csrf_token": token})
    assert missing.status_code == 422
    assert "Select a CSV file" in missing.text


async def test_admin_forms_need_the_token_and_the_role(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    await signed_in(web, db, app, team.admin)
    refused = await web.post("/app/admin/staff/new", data=_staff_form("0" * 64))
    assert refused.status_code == 403
    assert await _by_email(db, "nia.powell@council.example") is None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as other:
        await signed_in(other, db, app, team.manager)
        token = await form_token(other, "/app")
        response = await other.post("/app/admin/staff/new", data=_staff_form(token))
        assert response.status_code == 403
        assert await _by_email(db, "nia.powell@council.example") is None
