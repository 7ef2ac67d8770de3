"""Inbox, devices and preferences: each caller sees and changes only their own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import session_scope
from models.directory.staff import Staff
from models.notifications.outbox import Device, Due, Notification, NotificationKind, enqueue
from models.notifications.preferences import NotificationPreferences
from tests.api.test_sync import drain
from tests.factories.directory import bearer, make_org, make_staff, now_of
from tests.factories.notifications import make_notification
from tests.harness import Committed

INBOX = "/api/v1/notifications"
DEVICES = "/api/v1/devices"
PREFS = "/api/v1/me/preferences"


async def test_inbox_lists_only_mine_newest_first_and_pages(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    other = await make_staff(db, org, now=now)
    older = await make_notification(db, me, now=now, deliver_after=now - timedelta(hours=2))
    newer = await make_notification(db, me, now=now, deliver_after=now - timedelta(hours=1))
    await make_notification(db, other, now=now)
    # Deferred by quiet hours: not in the inbox yet.
    await make_notification(db, me, now=now, deliver_after=now + timedelta(hours=3))

    first = await client.get(INBOX, params={"limit": 1}, headers=bearer(app, me))
    assert first.status_code == 200
    assert [n["id"] for n in first.json()["data"]] == [str(newer)]
    cursor = first.json()["next_cursor"]
    second = await client.get(INBOX, params={"cursor": cursor}, headers=bearer(app, me))
    assert [n["id"] for n in second.json()["data"]] == [str(older)]
    assert second.json()["next_cursor"] is None
    shown = second.json()["data"][0]
    assert set(shown) == {
        "id", "kind", "subject_id", "occurrence", "created_at", "deliver_after", "read_at"
    }  # fmt: skip


async def test_mark_read_is_mine_only_and_idempotent(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    other = await make_staff(db, org, now=now)
    mine = await make_notification(db, me, now=now)

    refused = await client.post(f"{INBOX}/{mine}/read", headers=bearer(app, other))
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    row = (await db.exec(select(Notification).where(col(Notification.id) == mine))).one()
    assert row.read_at is None

    read = await client.post(f"{INBOX}/{mine}/read", headers=bearer(app, me))
    assert read.status_code == 200
    first_read = read.json()["read_at"]
    assert first_read is not None
    again = await client.post(f"{INBOX}/{mine}/read", headers=bearer(app, me))
    assert again.json()["read_at"] == first_read
    missing = await client.post(f"{INBOX}/{uuid.uuid4()}/read", headers=bearer(app, me))
    assert missing.status_code == 404


async def test_enqueue_is_idempotent_per_occurrence_and_feeds_sync(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    other = await make_staff(db, org, now=now)
    subject = uuid.uuid4()
    due = Due(org.id, me.id, NotificationKind.action_due, subject, "2026-11-23", now)
    first = await enqueue(db, [due, due], now)
    assert len(first) == 1
    assert await enqueue(db, [due], now) == []
    # A different occurrence of the same reminder is a new notification.
    later = Due(org.id, me.id, NotificationKind.action_due, subject, "2026-11-24", now)
    assert len(await enqueue(db, [later], now)) == 1
    rows = (
        await db.exec(select(Notification).where(col(Notification.recipient_id) == me.id))
    ).all()
    assert len(rows) == 2

    changes, _ = await drain(client, app, me)
    notes = [c for c in changes if c["type"] == "notification"]
    assert {c["id"] for c in notes} == {str(r.id) for r in rows}
    assert all(c["op"] == "upsert" and c["data"]["kind"] == "action_due" for c in notes)
    theirs, _ = await drain(client, app, other)
    assert [c for c in theirs if c["type"] == "notification"] == []


async def test_devices_register_idempotently_and_delete_only_mine(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    other = await make_staff(db, org, now=now)
    body = {"platform": "ios", "token": "a" * 64}

    created = await client.post(DEVICES, json=body, headers=bearer(app, me))
    assert created.status_code == 201
    again = await client.post(DEVICES, json=body, headers=bearer(app, me))
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]
    assert "token" not in created.json()
    device_id = created.json()["id"]

    bad = await client.post(
        DEVICES, json={"platform": "windows", "token": "x"}, headers=bearer(app, me)
    )
    assert bad.status_code == 422
    extra = await client.post(DEVICES, json={**body, "name": "x"}, headers=bearer(app, me))
    assert extra.status_code == 422

    assert (
        await client.delete(f"{DEVICES}/{device_id}", headers=bearer(app, other))
    ).status_code == 404
    rows = (await db.exec(select(Device).where(col(Device.staff_id) == me.id))).all()
    assert len(rows) == 1
    assert (
        await client.delete(f"{DEVICES}/{device_id}", headers=bearer(app, me))
    ).status_code == 204
    assert (
        await client.delete(f"{DEVICES}/{device_id}", headers=bearer(app, me))
    ).status_code == 404
    assert (await client.post(DEVICES, json=body)).status_code == 401


async def test_preferences_default_then_replace_and_timezone_lives_on_staff(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    other = await make_staff(db, org, now=now)

    got = await client.get(PREFS, headers=bearer(app, me))
    assert got.status_code == 200
    assert got.json() == {
        "timezone": "Europe/London",
        "quiet_hours_start": "21:00:00",
        "quiet_hours_end": "08:00:00",
        "checkin_nudge_weekday": 1,
        "checkin_nudge_time": "09:00:00",
        "push_enabled": True,
    }
    wanted = {
        "timezone": "America/New_York",
        "quiet_hours_start": "22:30:00",
        "quiet_hours_end": "07:00:00",
        "checkin_nudge_weekday": 5,
        "checkin_nudge_time": "14:00:00",
        "push_enabled": False,
    }
    # An update needs the ETag of what was read: none is 428, another is 412, nothing changes.
    missing = await client.put(PREFS, json=wanted, headers=bearer(app, me))
    assert missing.status_code == 428
    stale = await client.put(PREFS, json=wanted, headers={**bearer(app, me), "If-Match": '"x"'})
    assert stale.status_code == 412
    assert (await client.get(PREFS, headers=bearer(app, me))).json() == got.json()
    put = await client.put(
        PREFS, json=wanted, headers={**bearer(app, me), "If-Match": got.headers["ETag"]}
    )
    assert put.status_code == 200
    assert put.json() == wanted
    assert put.headers["ETag"] != got.headers["ETag"]
    again = await client.get(PREFS, headers=bearer(app, me))
    assert again.json() == wanted
    assert again.headers["ETag"] == put.headers["ETag"]
    # The read before the change is stale now.
    replay = await client.put(
        PREFS, json=wanted, headers={**bearer(app, me), "If-Match": got.headers["ETag"]}
    )
    assert replay.status_code == 412
    staff = (await db.exec(select(Staff).where(col(Staff.id) == me.id))).one()
    await db.refresh(staff)
    assert staff.timezone == "America/New_York"
    # Someone else's preferences are untouched.
    assert (await client.get(PREFS, headers=bearer(app, other))).json()["push_enabled"] is True

    for bad in (
        {**wanted, "timezone": "Mars/Olympus"},
        {**wanted, "checkin_nudge_weekday": 8},
        {**wanted, "quiet_hours_end": None},
        {**wanted, "colour": "blue"},
    ):
        refused = await client.put(
            PREFS, json=bad, headers={**bearer(app, me), "If-Match": put.headers["ETag"]}
        )
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(PREFS, headers=bearer(app, me))).json() == wanted


async def test_two_phones_saving_preferences_at_once_one_wins_the_other_is_told(
    committed: Committed,
) -> None:
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        me = await make_staff(db, org, now=now)
    app = committed.app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        read = await client.get(PREFS, headers=bearer(app, me))
        headers = {**bearer(app, me), "If-Match": read.headers["ETag"]}
        bodies = [
            {**read.json(), "push_enabled": False},
            {**read.json(), "quiet_hours_start": None, "quiet_hours_end": None},
        ]
        answers = await asyncio.gather(
            *(client.put(PREFS, json=body, headers=headers) for body in bodies)
        )
        assert sorted(a.status_code for a in answers) == [200, 412]
        (winner,) = [a for a in answers if a.status_code == 200]
        assert (await client.get(PREFS, headers=bearer(app, me))).json() == winner.json()
    async with committed.sessions() as db:
        stmt = select(NotificationPreferences).where(col(NotificationPreferences.staff_id) == me.id)
        assert len((await db.exec(stmt)).all()) == 1
