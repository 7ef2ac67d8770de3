"""SCIM 2.0 Groups: what the council notices. Membership sets roles as the organisation maps
them; a named supervisor keeps the supervisor role; groups stay in their organisation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.identity import IdentityAudit, SsoConfig
from models.directory.organisation import Organisation
from models.directory.staff import Role, Staff
from tests.api.test_identity_scim import scim_token, user
from tests.conftest import FrozenClock
from tests.factories.directory import make_org, make_staff

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
async def org(db: AsyncSession, clock: FrozenClock) -> Organisation:
    organisation = await make_org(db, now=clock.now)
    db.add(
        SsoConfig(
            organisation_id=organisation.id,
            issuer="https://login.example/tenant/v2.0",
            client_id="harbour",
            group_roles={
                "Harbour Supervisors": ["supervisor"],
                "Harbour Managers": ["manager", "supervisor"],
                "oid-hr-group": ["hr"],
            },
            created_at=clock.now,
            updated_at=clock.now,
        )
    )
    await db.flush()
    return organisation


@pytest.fixture
async def admin(db: AsyncSession, org: Organisation, clock: FrozenClock) -> Staff:
    return await make_staff(db, org, Role.admin, now=clock.now)


@pytest.fixture
async def scim(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff
) -> AsyncIterator[httpx.AsyncClient]:
    token = await scim_token(client, app, admin)
    client.headers["Authorization"] = f"Bearer {token}"
    yield client
    client.headers.pop("Authorization", None)


async def new_user(scim: httpx.AsyncClient, name: str) -> str:
    response = await scim.post("/scim/v2/Users", json=user(f"{name}@council.example"))
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def group(name: str, *members: str, **extra: object) -> dict[str, object]:
    return {
        "schemas": [GROUP],
        "displayName": name,
        "members": [{"value": m} for m in members],
        **extra,
    }


def patch(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH], "Operations": list(operations)}


async def roles_of(db: AsyncSession, user_id: str) -> list[str]:
    staff = (await db.exec(select(Staff).where(col(Staff.id) == uuid.UUID(user_id)))).one()
    await db.refresh(staff)
    return sorted(staff.roles)


async def test_membership_sets_roles_as_the_organisation_maps_them(
    scim: httpx.AsyncClient, db: AsyncSession
) -> None:
    amy, ben = await new_user(scim, "amy"), await new_user(scim, "ben")
    created = await scim.post("/scim/v2/Groups", json=group("Harbour Supervisors", amy))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/scim+json"
    body = created.json()
    assert [m["value"] for m in body["members"]] == [amy]
    assert body["members"][0]["display"] == "Amy"
    assert created.headers["ETag"] == body["meta"]["version"]
    assert await roles_of(db, amy) == ["supervisor"]
    assert await roles_of(db, ben) == ["practitioner"]

    # Entra ID's PATCH: capitalised ops, members added and removed by filter.
    group_id = body["id"]
    added = await scim.patch(
        f"/scim/v2/Groups/{group_id}",
        json=patch({"op": "Add", "path": "members", "value": [{"value": ben}]}),
    )
    assert added.status_code == 200, added.text
    assert sorted(m["value"] for m in added.json()["members"]) == sorted([amy, ben])
    assert await roles_of(db, ben) == ["supervisor"]
    removed = await scim.patch(
        f"/scim/v2/Groups/{group_id}",
        json=patch({"op": "Remove", "path": f'members[value eq "{amy}"]'}),
    )
    assert removed.status_code == 200, removed.text
    assert [m["value"] for m in removed.json()["members"]] == [ben]
    assert await roles_of(db, amy) == ["practitioner"]

    # A group mapped by externalId (Entra's object id), roles from every group one is in.
    hr = await scim.post("/scim/v2/Groups", json=group("HR people", ben, externalId="oid-hr-group"))
    assert hr.status_code == 201, hr.text
    assert await roles_of(db, ben) == ["hr", "supervisor"]
    # Replace: the group now holds amy only.
    replaced = await scim.put(f"/scim/v2/Groups/{group_id}", json=group("Harbour Managers", amy))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["displayName"] == "Harbour Managers"
    assert await roles_of(db, amy) == ["manager", "supervisor"]
    assert await roles_of(db, ben) == ["hr"]
    # Deleted: its members lose what it gave them.
    gone = await scim.delete(f"/scim/v2/Groups/{group_id}")
    assert gone.status_code == 204
    assert (await scim.get(f"/scim/v2/Groups/{group_id}")).status_code == 404
    assert await roles_of(db, amy) == ["practitioner"]


async def test_a_named_supervisor_keeps_the_role_and_it_is_said(
    scim: httpx.AsyncClient, db: AsyncSession, org: Organisation, clock: FrozenClock
) -> None:
    sue = await new_user(scim, "sue")
    group_id = (await scim.post("/scim/v2/Groups", json=group("Harbour Supervisors", sue))).json()[
        "id"
    ]
    supervisor = (await db.exec(select(Staff).where(col(Staff.id) == uuid.UUID(sue)))).one()
    await make_staff(db, org, supervisor=supervisor, now=clock.now)  # sue supervises them
    response = await scim.patch(
        f"/scim/v2/Groups/{group_id}",
        json=patch({"op": "remove", "path": f'members[value eq "{sue}"]'}),
    )
    assert response.status_code == 200, response.text
    assert "members" not in response.json()
    assert await roles_of(db, sue) == ["practitioner", "supervisor"]
    said = (
        await db.exec(
            select(IdentityAudit).where(
                col(IdentityAudit.organisation_id) == org.id,
                col(IdentityAudit.action) == "scim.supervisor_role_kept",
            )
        )
    ).all()
    assert [str(a.subject_id) for a in said] == [sue]


async def test_filter_paging_and_bad_input(scim: httpx.AsyncClient) -> None:
    for n in range(5):
        made = await scim.post("/scim/v2/Groups", json=group(f"Team {n}"))
        assert made.status_code == 201, made.text
    found = await scim.get("/scim/v2/Groups", params={"filter": 'displayName eq "team 3"'})
    assert found.status_code == 200
    assert [g["displayName"] for g in found.json()["Resources"]] == ["Team 3"]
    none = await scim.get("/scim/v2/Groups", params={"filter": 'displayName eq "Nobody"'})
    assert none.json()["totalResults"] == 0
    first = (await scim.get("/scim/v2/Groups", params={"startIndex": 1, "count": 2})).json()
    rest = (await scim.get("/scim/v2/Groups", params={"startIndex": 3, "count": 10})).json()
    assert first["totalResults"] == rest["totalResults"] == 5
    assert first["itemsPerPage"] == 2
    names = [g["displayName"] for g in first["Resources"] + rest["Resources"]]
    assert sorted(names) == [f"Team {n}" for n in range(5)]
    slim = await scim.get("/scim/v2/Groups", params={"excludedAttributes": "members"})
    assert all("members" not in g for g in slim.json()["Resources"])

    again = await scim.post("/scim/v2/Groups", json=group("Team 1"))
    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"
    for bad in (
        group(""),
        group("Odd", "not-a-uuid"),
        group("Odd", "00000000-0000-0000-0000-000000000000"),
        {"schemas": [GROUP]},
    ):
        response = await scim.post("/scim/v2/Groups", json=bad)
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"] == "application/scim+json"
    bad_filter = await scim.get("/scim/v2/Groups", params={"filter": "displayName eq"})
    assert bad_filter.status_code == 400
    assert (await scim.get("/scim/v2/Groups/not-an-id")).status_code == 404
    assert (await scim.post("/scim/v2/Groups/.search", json={})).status_code == 501


async def test_groups_stay_in_their_organisation(
    scim: httpx.AsyncClient,
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    clock: FrozenClock,
) -> None:
    mine = (await scim.post("/scim/v2/Groups", json=group("Harbour Supervisors"))).json()["id"]
    other = await make_org(db, now=clock.now)
    stranger = await make_staff(db, other, now=clock.now)
    # A member from another organisation is refused.
    response = await scim.patch(
        f"/scim/v2/Groups/{mine}",
        json=patch({"op": "add", "path": "members", "value": [{"value": str(stranger.id)}]}),
    )
    assert response.status_code == 400
    assert sorted(stranger.roles) == ["practitioner"]
    # Another organisation's token sees none of this organisation's groups.
    other_admin = await make_staff(db, other, Role.admin, now=clock.now)
    own_token = client.headers.pop("Authorization")
    other_token = await scim_token(client, app, other_admin)
    client.headers["Authorization"] = f"Bearer {other_token}"
    assert (await client.get(f"/scim/v2/Groups/{mine}")).status_code == 404
    assert (await client.delete(f"/scim/v2/Groups/{mine}")).status_code == 404
    assert (await client.get("/scim/v2/Groups")).json()["totalResults"] == 0
    client.headers["Authorization"] = own_token
    assert (await client.get(f"/scim/v2/Groups/{mine}")).status_code == 200
    # No token at all: 401.
    client.headers.pop("Authorization")
    assert (await client.get("/scim/v2/Groups")).status_code == 401


async def test_without_a_mapping_groups_leave_roles_alone(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    plain = await make_org(db, now=clock.now)
    admin = await make_staff(db, plain, Role.admin, now=clock.now)
    client.headers["Authorization"] = f"Bearer {await scim_token(client, app, admin)}"
    manager = await make_staff(db, plain, Role.manager, now=clock.now)
    made = await client.post("/scim/v2/Groups", json=group("Anything", str(manager.id)))
    assert made.status_code == 201, made.text
    await db.refresh(manager)
    assert manager.roles == ["manager"]


async def test_a_user_scim_deletes_leaves_their_groups(scim: httpx.AsyncClient) -> None:
    kim = await new_user(scim, "kim")
    group_id = (await scim.post("/scim/v2/Groups", json=group("Harbour Supervisors", kim))).json()[
        "id"
    ]
    assert (await scim.delete(f"/scim/v2/Users/{kim}")).status_code == 204
    members = (await scim.get(f"/scim/v2/Groups/{group_id}")).json().get("members")
    assert members is None
