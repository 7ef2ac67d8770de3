"""Whoever is named someone's supervisor holds the supervisor role (API, CSV import)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.staff import Role, Staff
from tests.factories.directory import bearer, make_staff, now_of
from tests.factories.supervision import make_team


async def test_naming_a_supervisor_grants_the_role_and_it_cannot_be_taken_while_used(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    director = await make_staff(db, t.org, Role.manager, now=now_of(app))
    person = await client.get(f"/api/v1/staff/{t.head.id}", headers=bearer(app, t.admin))
    named = await client.patch(
        f"/api/v1/staff/{t.head.id}",
        json={"supervisor_id": str(director.id)},
        headers=bearer(app, t.admin) | {"If-Match": person.headers["ETag"]},
    )
    assert named.status_code == 200
    await db.refresh(director)
    assert sorted(director.roles) == ["manager", "supervisor"]
    created = await client.post(
        "/api/v1/staff",
        json={
            "email": "new.starter@council.example",
            "display_name": "New Starter",
            "roles": ["practitioner"],
            "supervisor_id": str(t.hr.id),
            "cohort": "asye",
            "started_on": "2026-11-02",
        },
        headers=bearer(app, t.admin),
    )
    assert created.status_code == 201, created.text
    await db.refresh(t.hr)
    assert Role.supervisor.value in t.hr.roles
    # Taking the role from someone who still supervises is refused, and changes nothing.
    current = await client.get(f"/api/v1/staff/{director.id}", headers=bearer(app, t.admin))
    taken = await client.patch(
        f"/api/v1/staff/{director.id}",
        json={"roles": ["manager"]},
        headers=bearer(app, t.admin) | {"If-Match": current.headers["ETag"]},
    )
    assert taken.status_code == 422
    assert taken.headers["content-type"] == "application/problem+json"
    await db.refresh(director)
    assert Role.supervisor.value in director.roles


async def test_the_csv_import_grants_the_role_too(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    csv_text = (
        "email,display_name,roles,unit,supervisor_email,cohort,started_on,timezone\n"
        f"ana@council.example,Ana,practitioner,,{t.manager.email},asye,2026-09-01,\n"
        f"{t.manager.email},Manager,manager,,,qualified,2020-01-06,\n"
    )
    response = await client.post(
        "/api/v1/staff/import",
        content=csv_text.encode(),
        headers=bearer(app, t.admin) | {"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    manager = (await db.exec(select(Staff).where(col(Staff.id) == t.manager.id))).one()
    await db.refresh(manager)
    assert sorted(manager.roles) == ["manager", "supervisor"]
