"""Session rules at the edges: implausible input, deadlines under the policy, who supervises."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.pagination import encode_cursor
from tests.api.test_supervision_sessions import SESSIONS, _record, _recorded, _schedule
from tests.factories.directory import bearer, make_staff, now_of
from tests.factories.supervision import make_team


async def test_implausible_dates_and_forged_cursors_are_422(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    far = await _schedule(client, app, t.supervisor, t.supervisee, "0001-01-01T00:00:00+00:00")
    assert far.status_code == 422
    made = await _schedule(client, app, t.supervisor, t.supervisee)
    ancient = await client.put(
        f"{SESSIONS}/{made.json()['id']}/record",
        json=_record(t, held_at="1066-10-14T09:00:00+00:00"),
        headers={**bearer(app, t.supervisor), "If-Match": made.headers["ETag"]},
    )
    assert ancient.status_code == 422
    naive = encode_cursor({"k": "2026-11-20T10:00:00", "id": str(uuid.uuid4())})
    for url in (f"{SESSIONS}?cursor={naive}", f"/api/v1/supervision/actions?cursor={naive}"):
        response = await client.get(url, headers=bearer(app, t.supervisor))
        assert response.status_code == 422, url
    leave = {"starts_on": "9999-12-01", "ends_on": "9999-12-31", "kind": "sickness"}
    assert (
        await client.post("/api/v1/me/absences", json=leave, headers=bearer(app, t.supervisee))
    ).status_code == 422


async def test_nul_characters_are_refused_not_crashed_on(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    made = await _schedule(client, app, t.supervisor, t.supervisee)
    response = await client.put(
        f"{SESSIONS}/{made.json()['id']}/record",
        json=_record(t, support="a\x00b"),
        headers={**bearer(app, t.supervisor), "If-Match": made.headers["ETag"]},
    )
    assert response.status_code == 422
    cancel = await client.post(
        f"{SESSIONS}/{made.json()['id']}/cancel",
        json={"reason": "\x00"},
        headers=bearer(app, t.supervisor),
    )
    assert cancel.status_code == 422
    export = await client.get(
        "/api/v1/supervision/cases/a%00b/decisions", headers=bearer(app, t.supervisor)
    )
    assert export.status_code == 422


async def test_bank_holidays_in_the_policy_move_the_write_up_deadline(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    sid = (await _recorded(client, app, t))["id"]
    before = await client.get(f"{SESSIONS}/{sid}", headers=bearer(app, t.supervisor))
    assert before.json()["write_up_due_on"] == "2026-11-27"  # held Friday 20th
    assert before.json()["sign_off_due_on"] == "2026-11-30"  # written Monday 23rd
    policy = (await client.get("/api/v1/supervision/policy", headers=bearer(app, t.admin))).json()
    policy["bank_holidays"] = ["2026-11-24", "2026-11-26"]
    put = await client.put(
        "/api/v1/supervision/policy",
        json=policy,
        headers={**bearer(app, t.admin), "If-Match": '"1"'},
    )
    assert put.status_code == 200
    after = await client.get(f"{SESSIONS}/{sid}", headers=bearer(app, t.supervisor))
    assert after.json()["write_up_due_on"] == "2026-12-01"
    assert after.json()["sign_off_due_on"] == "2026-12-02"


async def test_a_manager_scheduling_for_someone_without_a_supervisor_supervises(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    loner = await make_staff(db, t.org, unit=t.team, now=now_of(app))
    made = await _schedule(client, app, t.manager, loner)
    assert made.status_code == 201
    assert made.json()["supervisor_id"] == str(t.manager.id)
    put = await client.put(
        f"{SESSIONS}/{made.json()['id']}/record",
        json=_record(t, actions=[]),
        headers={**bearer(app, t.manager), "If-Match": made.headers["ETag"]},
    )
    assert put.status_code == 200
    assert put.json()["access"] == "full"


async def test_a_manager_above_may_cancel_but_not_record(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    made = await _schedule(client, app, t.supervisor, t.supervisee)
    sid = made.json()["id"]
    denied = await client.put(
        f"{SESSIONS}/{sid}/record",
        json=_record(t),
        headers={**bearer(app, t.head), "If-Match": made.headers["ETag"]},
    )
    assert denied.status_code == 403
    cancelled = await client.post(
        f"{SESSIONS}/{sid}/cancel",
        json={"reason": "Supervisor off sick"},
        headers={**bearer(app, t.head), "If-Match": made.headers["ETag"]},
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled_by"] == str(t.head.id)
    assert cancelled.json()["access"] == "management"
