"""Talk requests: reach a person who can act, once; seen, acknowledged, closed; nobody else."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import sweep_organisation
from models.directory.staff import Role
from models.notifications.outbox import Notification, NotificationKind
from models.wellbeing import TalkRequest, WellbeingSettings
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, make_staff, now_of
from tests.factories.supervision import make_absence, make_team
from tests.factories.wellbeing import pulse_answers

URL = "/api/v1/wellbeing/talk-requests"


def _checkin(**changes: object) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "instrument": "pulse",
        "answers": pulse_answers(8),
        "wants_to_talk": True,
        "tell_supervisor": True,
    } | changes


async def _kinds(db: AsyncSession, recipient: uuid.UUID) -> list[str]:
    """The talk-request notifications `recipient` has (the team's other reminders aside)."""
    stmt = select(Notification).where(col(Notification.recipient_id) == recipient)
    return sorted(n.kind for n in (await db.exec(stmt)).all() if n.kind.startswith("talk"))


async def test_a_check_in_reaches_the_supervisor_once_and_the_owner_sees_it_seen(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    t = await make_team(db, now=now_of(app))
    me, sup = t.supervisee, t.supervisor
    made = await client.post("/api/v1/wellbeing/checkins", json=_checkin(), headers=bearer(app, me))
    assert made.status_code == 201
    request = made.json()["talk_request"]
    assert request["recipient_id"] == str(sup.id)
    assert request["status"] == "open"
    assert request["notified_at"] is None
    assert request["recipient_available"] is True

    # The sweep tells the supervisor once (inbox), however often it runs.
    await sweep_organisation(db, t.org.id, clock())
    await sweep_organisation(db, t.org.id, clock.advance(minutes=5))
    assert await _kinds(db, sup.id) == [NotificationKind.talk_request.value]
    mine = (await client.get(f"{URL}/mine", headers=bearer(app, me))).json()["data"]
    assert mine[0]["notified_at"] is not None
    assert mine[0]["seen_at"] is None

    # The supervisor lists it: seen, logged; no answers, no scores, no check-in link.
    listed = await client.get(URL, headers=bearer(app, sup))
    [item] = listed.json()["data"]
    assert item["staff_id"] == str(me.id)
    assert item["checkin_id"] is None
    assert set(item) >= {"raised_at", "status"}
    assert "scores" not in item
    log = (await client.get("/api/v1/me/access-log", headers=bearer(app, me))).json()["data"]
    assert [e["resource_type"] for e in log] == ["wellbeing_talk_request"]

    # Acknowledge (If-Match), then close with an outcome; the owner is told once.
    one = await client.get(f"{URL}/{item['id']}", headers=bearer(app, sup))
    assert (
        await client.post(f"{URL}/{item['id']}/acknowledge", headers=bearer(app, sup))
    ).status_code == 428
    acked = await client.post(
        f"{URL}/{item['id']}/acknowledge",
        headers=bearer(app, sup) | {"If-Match": one.headers["ETag"]},
    )
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    stale = await client.post(
        f"{URL}/{item['id']}/close",
        json={"outcome": "talked"},
        headers=bearer(app, sup) | {"If-Match": one.headers["ETag"]},
    )
    assert stale.status_code == 412
    closed = await client.post(
        f"{URL}/{item['id']}/close",
        json={"outcome": "talked"},
        headers=bearer(app, sup) | {"If-Match": acked.headers["ETag"]},
    )
    assert closed.json()["outcome"] == "talked"
    await sweep_organisation(db, t.org.id, clock.advance(minutes=5))
    assert await _kinds(db, me.id) == [NotificationKind.talk_request_acknowledged.value]
    mine = (await client.get(f"{URL}/mine", headers=bearer(app, me))).json()["data"]
    assert mine[0]["status"] == "closed"
    assert mine[0]["seen_at"] is not None
    assert mine[0]["outcome"] == "talked"


async def test_whoever_is_named_supervisor_can_act_whatever_their_roles(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    # The reproduction: a manager-only director supervising a head of service.
    t = await make_team(db, now=now_of(app))
    head = t.head
    director = await make_staff(db, t.org, Role.manager, now=now_of(app))
    head.supervisor_id = director.id
    await db.flush()
    made = await client.post(
        "/api/v1/wellbeing/checkins", json=_checkin(), headers=bearer(app, head)
    )
    assert made.json()["supervisor_told"] is True
    listed = await client.get(URL, headers=bearer(app, director))
    assert listed.status_code == 200
    assert [r["staff_id"] for r in listed.json()["data"]] == [str(head.id)]


async def test_nobody_else_sees_a_talk_request(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    made = await client.post(
        "/api/v1/wellbeing/checkins", json=_checkin(), headers=bearer(app, t.supervisee)
    )
    request_id = made.json()["talk_request"]["id"]
    for who in (t.head, t.manager, t.colleague, t.other_manager, t.hr, t.admin, t.outsider):
        assert (await client.get(URL, headers=bearer(app, who))).json()["data"] == [], who
        one = await client.get(f"{URL}/{request_id}", headers=bearer(app, who))
        assert one.status_code == 404
        close = await client.post(
            f"{URL}/{request_id}/close",
            json={"outcome": "talked"},
            headers=bearer(app, who) | {"If-Match": '"1"'},
        )
        assert close.status_code == 404


async def test_supervisor_on_leave_or_none_offers_the_alternatives_at_once(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    contact = await make_staff(db, t.org, Role.practitioner, now=now)
    db.add(
        WellbeingSettings(
            organisation_id=t.org.id,
            wellbeing_contact_id=contact.id,
            employee_assistance="Care First 0800 000 000",
            updated_at=now,
        )
    )
    await make_absence(db, t.supervisor, now.date(), now.date() + timedelta(days=9), now=now)
    made = await client.post(
        "/api/v1/wellbeing/checkins", json=_checkin(), headers=bearer(app, t.supervisee)
    )
    body = made.json()
    request = body["talk_request"]
    assert request["recipient_available"] is False
    assert request["recipient_away_until"] == (now.date() + timedelta(days=9)).isoformat()
    assert [(o["to"], o["staff_id"]) for o in request["alternatives"]] == [
        ("unit_manager", str(t.manager.id)),
        ("wellbeing_contact", str(contact.id)),
    ]
    assert {"name": "Samaritans (free, 24 hours)", "contact": "116 123"} in request["signposting"]
    assert any(s["contact"] == "Care First 0800 000 000" for s in request["signposting"])
    # No notification while the supervisor is away.
    await sweep_organisation(db, t.org.id, now)
    assert await _kinds(db, t.supervisor.id) == []

    # The practitioner sends it to the unit manager instead and withdraws the first.
    redirected = await client.post(
        URL,
        json={"id": str(uuid.uuid4()), "to": "unit_manager", "checkin_id": body["id"]},
        headers=bearer(app, t.supervisee),
    )
    assert redirected.status_code == 201
    assert redirected.json()["recipient_id"] == str(t.manager.id)
    first = await client.get(f"{URL}/{request['id']}", headers=bearer(app, t.supervisee))
    not_mine = await client.post(
        f"{URL}/{request['id']}/close",
        json={"outcome": "talked"},
        headers=bearer(app, t.supervisee) | {"If-Match": first.headers["ETag"]},
    )
    assert not_mine.status_code == 422
    withdrawn = await client.post(
        f"{URL}/{request['id']}/close",
        json={"outcome": "declined_by_practitioner"},
        headers=bearer(app, t.supervisee) | {"If-Match": first.headers["ETag"]},
    )
    assert withdrawn.json()["status"] == "closed"
    await sweep_organisation(db, t.org.id, clock.advance(minutes=5))
    assert await _kinds(db, t.manager.id) == [NotificationKind.talk_request.value]
    # The manager acts on it by relationship (it was sent to them), not by the supervisor role.
    listed = await client.get(URL, headers=bearer(app, t.manager))
    assert [r["to"] for r in listed.json()["data"]] == ["unit_manager"]

    # Someone with nobody on record: no 422, the answer says so and offers the rest.
    loner = await make_staff(db, t.org, now=now)
    alone = await client.post(
        "/api/v1/wellbeing/checkins", json=_checkin(), headers=bearer(app, loner)
    )
    assert alone.status_code == 201
    assert alone.json()["talk_request"] is None
    assert [o["to"] for o in alone.json()["talk_options"]] == ["wellbeing_contact"]
    nobody = await client.post(
        URL, json={"id": str(uuid.uuid4()), "to": "supervisor"}, headers=bearer(app, loner)
    )
    assert nobody.status_code == 422
    assert nobody.headers["content-type"] == "application/problem+json"


async def test_raising_on_its_own_is_offline_creatable(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    body = {"id": str(uuid.uuid4())}
    first = await client.post(URL, json=body, headers=bearer(app, t.supervisee))
    assert first.status_code == 201
    again = await client.post(URL, json=body, headers=bearer(app, t.supervisee))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = await client.post(
        URL, json=body | {"to": "unit_manager"}, headers=bearer(app, t.supervisee)
    )
    assert other.status_code == 409
    stolen = await client.post(URL, json=body, headers=bearer(app, t.colleague))
    assert stolen.status_code == 409
    count = (
        await db.exec(select(TalkRequest).where(col(TalkRequest.owner_id) == t.supervisee.id))
    ).all()
    assert len(count) == 1
    # The feed carries it to both people (the supervisor's copy is logged on read).
    feed = (await client.get("/api/v1/sync", headers=bearer(app, t.supervisor))).json()
    assert [c["type"] for c in feed["changes"]] == ["wellbeing_talk_request_to_me"]
    assert feed["changes"][0]["data"]["staff_id"] == str(t.supervisee.id)
    export = (await client.get("/api/v1/me/export", headers=bearer(app, t.supervisee))).json()
    assert [r["id"] for r in export["talk_requests"]] == [first.json()["id"]]


async def test_a_new_supervisor_does_not_inherit_and_the_old_one_loses_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    made = await client.post(URL, json={"id": str(uuid.uuid4())}, headers=bearer(app, t.supervisee))
    assert made.status_code == 201
    synced = (await client.get("/api/v1/sync", headers=bearer(app, t.supervisor))).json()
    t.supervisee.supervisor_id = t.colleague.id
    await db.flush()
    for who in (t.supervisor, t.colleague):
        assert (await client.get(URL, headers=bearer(app, who))).json()["data"] == []
    later = await client.get(
        f"/api/v1/sync?cursor={synced['next_cursor']}", headers=bearer(app, t.supervisor)
    )
    assert [(c["op"], c["id"]) for c in later.json()["changes"]] == [("delete", made.json()["id"])]
