"""`GET /me/access-log`: the person sees who read their data; nobody else sees it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessReason, record_access
from models.directory.service import actor_for
from models.directory.staff import Role
from tests.factories.directory import bearer, make_org, make_staff, now_of


async def test_owner_sees_reads_of_their_data_newest_first_and_paged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    owner = await make_staff(db, org, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    other = await make_staff(db, org, now=now)
    note_ids = [uuid.uuid4() for _ in range(3)]
    for i, note_id in enumerate(note_ids):
        await record_access(
            db,
            actor_for(supervisor),
            owner.id,
            "reflection",
            note_id,
            AccessReason.shared_with_me,
            now + timedelta(minutes=i),
        )
    # Reading your own data is not an access to log.
    await record_access(
        db, actor_for(owner), owner.id, "reflection", note_ids[0], AccessReason.supervision, now
    )

    first = await client.get("/api/v1/me/access-log?limit=2", headers=bearer(app, owner))
    assert first.status_code == 200
    page = first.json()
    assert [e["resource_id"] for e in page["data"]] == [str(note_ids[2]), str(note_ids[1])]
    assert page["data"][0]["reader_id"] == str(supervisor.id)
    assert page["data"][0]["reason"] == "shared_with_me"
    second = await client.get(
        f"/api/v1/me/access-log?limit=2&cursor={page['next_cursor']}", headers=bearer(app, owner)
    )
    assert [e["resource_id"] for e in second.json()["data"]] == [str(note_ids[0])]
    assert second.json()["next_cursor"] is None

    for someone in (supervisor, other):
        theirs = await client.get("/api/v1/me/access-log", headers=bearer(app, someone))
        assert theirs.json()["data"] == []


async def test_bad_cursor_is_a_problem_not_a_crash(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    owner = await make_staff(db, await make_org(db, now=now), now=now)
    response = await client.get("/api/v1/me/access-log?cursor=%%%", headers=bearer(app, owner))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_forged_cursor_without_a_time_zone_is_422(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    from models.pagination import encode_cursor

    now = now_of(app)
    owner = await make_staff(db, await make_org(db, now=now), now=now)
    cursor = encode_cursor({"k": "2026-01-01T00:00:00", "id": str(uuid.uuid4())})
    response = await client.get(
        f"/api/v1/me/access-log?cursor={cursor}", headers=bearer(app, owner)
    )
    assert response.status_code == 422
