"""Units and staff: admin changes, each role's read scope, isolation between organisations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of


@dataclass
class Council:
    org: Organisation
    directorate: Unit
    service: Unit
    team: Unit
    sibling_team: Unit
    admin: Staff
    hr: Staff
    director: Staff
    team_manager: Staff
    sibling_manager: Staff
    practitioner: Staff
    colleague: Staff


async def build_council(db: AsyncSession, app: FastAPI, name: str | None = None) -> Council:
    now = now_of(app)
    org = await make_org(db, name, now=now)
    directorate = await make_unit(db, org, "Children's Services", now=now)
    service = await make_unit(db, org, "Social Care", parent=directorate, now=now)
    team = await make_unit(db, org, "Assessment", parent=service, now=now)
    sibling_team = await make_unit(db, org, "Early Help", parent=directorate, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    hr = await make_staff(db, org, Role.hr, now=now)
    director = await make_staff(db, org, Role.manager, unit=directorate, now=now)
    team_manager = await make_staff(
        db, org, Role.manager, Role.supervisor, unit=team, supervisor=director, now=now
    )
    sibling_manager = await make_staff(
        db, org, Role.manager, Role.supervisor, unit=sibling_team, now=now
    )
    practitioner = await make_staff(db, org, unit=team, supervisor=team_manager, now=now)
    colleague = await make_staff(db, org, unit=team, supervisor=team_manager, now=now)
    directorate.manager_id = director.id
    team.manager_id = team_manager.id
    sibling_team.manager_id = sibling_manager.id
    await db.flush()
    return Council(
        org,
        directorate,
        service,
        team,
        sibling_team,
        admin,
        hr,
        director,
        team_manager,
        sibling_manager,
        practitioner,
        colleague,
    )


@pytest.fixture
async def council(db: AsyncSession, app: FastAPI) -> Council:
    return await build_council(db, app)


# --- units -------------------------------------------------------------------------------


async def test_admin_builds_the_unit_tree(
    client: httpx.AsyncClient, app: FastAPI, council: Council, db: AsyncSession
) -> None:
    headers = bearer(app, council.admin)
    created = await client.post(
        "/api/v1/org/units",
        json={"name": "Fostering", "parent_id": str(council.service.id), "manager_id": None},
        headers=headers,
    )
    assert created.status_code == 201
    body = created.json()
    assert body["parent_id"] == str(council.service.id)
    assert created.headers["etag"] == '"1"'
    stored = await db.get(Unit, uuid.UUID(body["id"]))
    assert stored is not None
    assert stored.organisation_id == council.org.id


async def test_only_admins_change_units(
    client: httpx.AsyncClient, app: FastAPI, council: Council
) -> None:
    for who in (council.director, council.hr, council.practitioner):
        response = await client.post(
            "/api/v1/org/units", json={"name": "X"}, headers=bearer(app, who)
        )
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "colour": "red"},  # unknown field
        {"name": ""},
        {"name": "   "},  # nothing left once stripped
        {"name": "\n" + "*" * 200},  # 201 sent: the document's maxLength is 200
        {"name": "X", "parent_id": "not-a-uuid"},
        {},
    ],
)
async def test_bad_unit_bodies_are_422_and_change_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    council: Council,
    db: AsyncSession,
    body: dict[str, object],
) -> None:
    before = (await db.exec(select(func.count()).select_from(Unit))).one()
    response = await client.post("/api/v1/org/units", json=body, headers=bearer(app, council.admin))
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422
    assert problem["errors"]
    assert (await db.exec(select(func.count()).select_from(Unit))).one() == before


async def test_a_name_is_stripped_and_at_most_200_as_sent(
    client: httpx.AsyncClient, app: FastAPI, council: Council
) -> None:
    made = await client.post(
        "/api/v1/org/units",
        json={"name": "  " + "*" * 198},
        headers=bearer(app, council.admin),
    )
    assert made.status_code == 201
    assert made.json()["name"] == "*" * 198


async def test_a_parent_from_another_organisation_is_unknown(
    client: httpx.AsyncClient, app: FastAPI, council: Council, db: AsyncSession
) -> None:
    other = await build_council(db, app)
    response = await client.post(
        "/api/v1/org/units",
        json={"name": "Sneaky", "parent_id": str(other.team.id)},
        headers=bearer(app, council.admin),
    )
    assert response.status_code == 404


async def test_update_needs_a_fresh_etag(
    client: httpx.AsyncClient, app: FastAPI, council: Council
) -> None:
    headers = bearer(app, council.admin)
    url = f"/api/v1/org/units/{council.team.id}"
    missing = await client.patch(url, json={"name": "Assessment A"}, headers=headers)
    assert missing.status_code == 428
    etag = (await client.get(url, headers=headers)).headers["etag"]
    ok = await client.patch(
        url, json={"name": "Assessment A"}, headers={**headers, "If-Match": etag}
    )
    assert ok.status_code == 200
    assert ok.json()["name"] == "Assessment A"
    assert ok.headers["etag"] != etag
    stale = await client.patch(url, json={"name": "B"}, headers={**headers, "If-Match": etag})
    assert stale.status_code == 412
    assert (await client.get(url, headers=headers)).json()["name"] == "Assessment A"


async def test_a_unit_cannot_move_under_its_own_subtree(
    client: httpx.AsyncClient, app: FastAPI, council: Council
) -> None:
    headers = bearer(app, council.admin)
    url = f"/api/v1/org/units/{council.directorate.id}"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    response = await client.patch(
        url, json={"parent_id": str(council.team.id)}, headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "parent_id"]


async def test_units_list_is_paged_and_stays_in_the_organisation(
    client: httpx.AsyncClient, app: FastAPI, council: Council, db: AsyncSession
) -> None:
    await build_council(db, app)  # a second council with the same shape
    headers = bearer(app, council.practitioner)
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/org/units?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=headers)).json()
        seen += [u["id"] for u in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    mine = {str(u.id) for u in (council.directorate, council.service, council.team)}
    mine.add(str(council.sibling_team.id))
    assert sorted(seen) == sorted(mine)


async def test_list_limit_is_bounded(
    client: httpx.AsyncClient, app: FastAPI, council: Council
) -> None:
    headers = bearer(app, council.admin)
    assert (await client.get("/api/v1/org/units?limit=201", headers=headers)).status_code == 422
    assert (await client.get("/api/v1/org/units?limit=0", headers=headers)).status_code == 422


# --- staff -------------------------------------------------------------------------------


async def test_admin_creates_staff(
    client: httpx.AsyncClient, app: FastAPI, council: Council, db: AsyncSession
) -> None:
    response = await client.post(
        "/api/v1/staff",
        json={
            "email": "New.Person@Council.example",
            "display_name": "New Person",
            "password": "a-long-enough-password",
            "roles": ["practitioner", "supervisor"],
            "unit_id": str(council.team.id),
            "supervisor_id": str(council.team_manager.id),
            "cohort": "asye",
            "started_on": "2026-09-01",
            "timezone": "Europe/London",
        },
        headers=bearer(app, council.admin),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new.person@council.example"
    assert body["roles"] == ["practitioner", "supervisor"]
    assert "password" not in body
    assert "password_hash" not in body
    stored = await db.get_one(Staff, uuid.UUID(body["id"]))
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")
    login = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "new.person@council.example",
            "password": "a-long-enough-password",
        },
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("patch", "status"),
    [
        ({"timezone": "Mars/Olympus"}, 422),
        ({"password": "short"}, 422),
        ({"roles": ["wizard"]}, 422),
        ({"roles": []}, 422),
        ({"started_on": "yesterday"}, 422),
        ({"is_admin": True}, 422),
        ({"unit_id": "00000000-0000-0000-0000-000000000000"}, 422),
    ],
)
async def test_bad_staff_bodies(
    client: httpx.AsyncClient,
    app: FastAPI,
    council: Council,
    db: AsyncSession,
    patch: dict[str, object],
    status: int,
) -> None:
    body = {"email": "x@council.example", "display_name": "X", "started_on": "2026-01-05"}
    response = await client.post(
        "/api/v1/staff", json={**body, **patch}, headers=bearer(app, council.admin)
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    found = await db.exec(select(Staff).where(col(Staff.email) == "x@council.example"))
    assert found.first() is None


async def test_duplicate_email_is_409_even_across_organisations(
    client: httpx.AsyncClient, app: FastAPI, council: Council, db: AsyncSession
) -> None:
    other = await build_council(db, app)
    body = {"email": other.practitioner.email, "display_name": "X", "started_on": "2026-01-05"}
    response = await client.post("/api/v1/staff", json=body, headers=bearer(app, council.admin))
    assert response.status_code == 409


async def test_nobody_is_their_own_supervisor(
    client: httpx.AsyncClient, app: FastAPI, council: Council
) -> None:
    headers = bearer(app, council.admin)
    url = f"/api/v1/staff/{council.practitioner.id}"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    response = await client.patch(
        url,
        json={"supervisor_id": str(council.practitioner.id)},
        headers={**headers, "If-Match": etag},
    )
    assert response.status_code == 422


# Who may read the practitioner's staff record (True) and who gets 404 (False).
READ_SCOPE = {
    "admin": True,
    "practitioner": True,  # themself
    "team_manager": True,  # their supervisor, and manager of their unit
    "director": True,  # manager of an ancestor unit
    "colleague": False,  # a peer in the same team
    "sibling_manager": False,  # manages another subtree
    "hr": False,  # counts only, never records
}


@pytest.mark.parametrize(("who", "allowed"), READ_SCOPE.items())
async def test_each_role_reads_only_its_scope(
    client: httpx.AsyncClient, app: FastAPI, council: Council, who: str, allowed: bool
) -> None:
    reader: Staff = getattr(council, who)
    response = await client.get(
        f"/api/v1/staff/{council.practitioner.id}", headers=bearer(app, reader)
    )
    assert response.status_code == (200 if allowed else 404)
    listed = await client.get("/api/v1/staff?limit=200", headers=bearer(app, reader))
    ids = {s["id"] for s in listed.json()["data"]}
    assert (str(council.practitioner.id) in ids) is allowed


async def test_a_practitioner_can_see_their_supervisor(
    client: httpx.AsyncClient, app: FastAPI, council: Council
) -> None:
    response = await client.get(
        f"/api/v1/staff/{council.team_manager.id}", headers=bearer(app, council.practitioner)
    )
    assert response.status_code == 200


async def test_nothing_crosses_organisations(
    client: httpx.AsyncClient, app: FastAPI, council: Council, db: AsyncSession
) -> None:
    other = await build_council(db, app)
    headers = bearer(app, other.admin)
    assert (
        await client.get(f"/api/v1/staff/{council.practitioner.id}", headers=headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/org/units/{council.team.id}", headers=headers)
    ).status_code == 404
    etag_probe = await client.patch(
        f"/api/v1/staff/{council.practitioner.id}",
        json={"display_name": "Hijacked"},
        headers={**headers, "If-Match": '"1"'},
    )
    assert etag_probe.status_code == 404
    listed = await client.get("/api/v1/staff?limit=200", headers=headers)
    ids = {s["id"] for s in listed.json()["data"]}
    assert str(council.practitioner.id) not in ids
    assert str(other.practitioner.id) in ids


async def test_non_admins_cannot_change_staff(
    client: httpx.AsyncClient, app: FastAPI, council: Council
) -> None:
    response = await client.patch(
        f"/api/v1/staff/{council.practitioner.id}",
        json={"roles": ["admin"]},
        headers={**bearer(app, council.team_manager), "If-Match": '"1"'},
    )
    assert response.status_code == 403
