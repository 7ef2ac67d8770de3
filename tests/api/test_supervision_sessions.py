"""The session lifecycle over HTTP: schedule, record, sign off, addenda, cancel, actions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from models.directory.staff import Staff
from models.supervision import SupervisionAction, SupervisionSession
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import Team, make_team

SESSIONS = "/api/v1/supervision/sessions"
WHEN = "2026-11-20T10:00:00+00:00"


def _record(t: Team, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "held_at": "2026-11-20T10:05:00+00:00",
        "duration_minutes": 95,
        "management": "Caseload of 18; two new referrals allocated.",
        "development": "ASYE portfolio: direct work evidence.",
        "support": "Found the Smith family visit distressing.",
        "mediation": "Raised the duty rota with the team manager.",
        "support_private": True,
        "case_discussions": [
            {
                "case_reference": "CASE-001",
                "worried_about": "Neglect indicators at home visit.",
                "working_well": "Grandmother engaged.",
                "needs_to_happen": "Strategy discussion.",
                "scaling": 4,
                "decision": "Convene strategy discussion by Friday.",
                "rationale": "Escalating concerns over three visits.",
            }
        ],
        "actions": [
            {
                "description": "Book strategy discussion",
                "owner_id": str(t.supervisee.id),
                "due_on": "2026-11-27",
                "case_reference": "CASE-001",
            },
            {"description": "Check rota", "owner_id": str(t.supervisor.id)},
        ],
        "wellbeing_discussed": True,
    }
    body.update(changes)
    return body


async def _schedule(
    client: httpx.AsyncClient, app: FastAPI, by: Staff, supervisee: Staff, when: str = WHEN
) -> httpx.Response:
    return await client.post(
        SESSIONS,
        json={"supervisee_id": str(supervisee.id), "scheduled_for": when, "kind": "one_to_one"},
        headers=bearer(app, by),
    )


async def _recorded(
    client: httpx.AsyncClient, app: FastAPI, t: Team, **changes: Any
) -> dict[str, Any]:
    made = await _schedule(client, app, t.supervisor, t.supervisee)
    assert made.status_code == 201
    put = await client.put(
        f"{SESSIONS}/{made.json()['id']}/record",
        json=_record(t, **changes),
        headers={**bearer(app, t.supervisor), "If-Match": made.headers["ETag"]},
    )
    assert put.status_code == 200, put.text
    body: dict[str, Any] = put.json()
    body["etag"] = put.headers["ETag"]
    return body


async def test_schedule_record_and_sign_off_from_the_phone_contract(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    made = await _schedule(client, app, t.supervisor, t.supervisee)
    assert made.status_code == 201
    session = made.json()
    assert session["status"] == "scheduled"
    assert session["supervisor_id"] == str(t.supervisor.id)
    assert session["record"] is None
    sid = session["id"]

    put = await client.put(
        f"{SESSIONS}/{sid}/record",
        json=_record(t),
        headers={**bearer(app, t.supervisor), "If-Match": made.headers["ETag"]},
    )
    assert put.status_code == 200
    recorded = put.json()
    assert recorded["status"] == "recorded"
    assert recorded["held_minutes"] == 95
    assert recorded["counts_toward_cadence"] is True
    assert recorded["record"]["support"] == "Found the Smith family visit distressing."
    assert recorded["record"]["case_discussions"][0]["scaling"] == 4
    assert [a["description"] for a in recorded["actions"]] == [
        "Book strategy discussion",
        "Check rota",
    ]
    assert recorded["write_up_due_on"] == "2026-11-27"  # five working days after Friday 20th

    signed = await client.post(
        f"{SESSIONS}/{sid}/sign-off",
        json={"agreed": False, "comment": "The rota point was mine, not the team's."},
        headers=bearer(app, t.supervisee),
    )
    assert signed.status_code == 200
    assert signed.json()["status"] == "signed_off"
    assert signed.json()["record"]["sign_off_agreed"] is False

    locked = await client.put(
        f"{SESSIONS}/{sid}/record",
        json=_record(t),
        headers={**bearer(app, t.supervisor), "If-Match": signed.headers["ETag"]},
    )
    assert locked.status_code == 409
    addendum = await client.post(
        f"{SESSIONS}/{sid}/addenda",
        json={"text": "Strategy discussion held on 26th."},
        headers=bearer(app, t.supervisor),
    )
    assert addendum.status_code == 201
    assert addendum.json()["addenda"][0]["author_id"] == str(t.supervisor.id)
    assert addendum.json()["record"]["management"] == _record(t)["management"]

    status = await client.get("/api/v1/supervision/status", headers=bearer(app, t.supervisee))
    assert status.json()["last_held_on"] == "2026-11-20"
    assert status.json()["next_due_on"] == "2026-12-18"


async def test_who_may_schedule(client: httpx.AsyncClient, app: FastAPI, db: AsyncSession) -> None:
    t = await make_team(db, now=now_of(app))
    for person in (t.supervisor, t.manager, t.head):
        made = await _schedule(client, app, person, t.supervisee)
        assert made.status_code == 201, person.display_name
        # Whoever schedules, the session's supervisor is the line supervisor.
        assert made.json()["supervisor_id"] == str(t.supervisor.id)
    for person, status in (
        (t.supervisee, 403),
        (t.hr, 403),
        (t.admin, 403),
        (t.colleague, 404),
        (t.other_manager, 404),
        (t.outsider, 404),
    ):
        denied = await _schedule(client, app, person, t.supervisee)
        assert denied.status_code == status, person.display_name
    count = (await db.exec(select(func.count(col(SupervisionSession.id))))).one()
    assert count == 3


async def test_bad_schedules_are_422_and_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    base = {"supervisee_id": str(t.supervisee.id), "scheduled_for": WHEN}
    for bad in (
        {**base, "kind": "coffee"},
        {**base, "scheduled_for": "2026-11-20T10:00:00"},  # no offset
        {**base, "duration_minutes": 0},
        {**base, "extra": True},
        {"scheduled_for": WHEN},
    ):
        response = await client.post(SESSIONS, json=bad, headers=bearer(app, t.supervisor))
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
    assert (await db.exec(select(func.count(col(SupervisionSession.id))))).one() == 0


async def test_repeating_a_create_with_its_id_is_safe(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    body = {"id": str(uuid.uuid4()), "supervisee_id": str(t.supervisee.id), "scheduled_for": WHEN}
    first = await client.post(SESSIONS, json=body, headers=bearer(app, t.supervisor))
    again = await client.post(SESSIONS, json=body, headers=bearer(app, t.supervisor))
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    changed = {**body, "duration_minutes": 60}
    clash = await client.post(SESSIONS, json=changed, headers=bearer(app, t.supervisor))
    assert clash.status_code == 409
    assert (await db.exec(select(func.count(col(SupervisionSession.id))))).one() == 1


async def test_only_the_sessions_supervisor_records_with_a_fresh_etag(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    made = await _schedule(client, app, t.manager, t.supervisee)
    url = f"{SESSIONS}/{made.json()['id']}/record"
    etag = made.headers["ETag"]
    assert (
        await client.put(url, json=_record(t), headers=bearer(app, t.supervisor))
    ).status_code == 428
    stale = {**bearer(app, t.supervisor), "If-Match": '"99"'}
    assert (await client.put(url, json=_record(t), headers=stale)).status_code == 412
    for person, status in (
        (t.supervisee, 403),
        (t.manager, 403),
        (t.admin, 403),
        (t.colleague, 404),
        (t.hr, 404),
        (t.outsider, 404),
    ):
        denied = await client.put(
            url, json=_record(t), headers={**bearer(app, person), "If-Match": etag}
        )
        assert denied.status_code == status, person.display_name
    headers = {**bearer(app, t.supervisor), "If-Match": etag}
    stranger = _record(t, actions=[{"description": "x", "owner_id": str(t.colleague.id)}])
    assert (await client.put(url, json=stranger, headers=headers)).status_code == 422
    future = _record(t, held_at="2026-12-01T10:00:00+00:00")
    assert (await client.put(url, json=future, headers=headers)).status_code == 422
    too_high = _record(t)
    too_high["case_discussions"][0]["scaling"] = 11
    assert (await client.put(url, json=too_high, headers=headers)).status_code == 422
    unchanged = await client.get(
        f"{SESSIONS}/{made.json()['id']}", headers=bearer(app, t.supervisor)
    )
    assert unchanged.json()["status"] == "scheduled"
    assert unchanged.headers["ETag"] == etag
    assert (await db.exec(select(func.count(col(SupervisionAction.id))))).one() == 0


async def test_each_role_sees_what_the_brief_allows(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    sid = (await _recorded(client, app, t))["id"]
    url = f"{SESSIONS}/{sid}"
    for person in (t.supervisee, t.supervisor):
        full = (await client.get(url, headers=bearer(app, person))).json()
        assert full["access"] == "full"
        assert full["record"]["support"] == "Found the Smith family visit distressing."
    for person in (t.manager, t.head):
        seen = await client.get(url, headers=bearer(app, person))
        assert seen.status_code == 200
        body = seen.json()
        assert body["access"] == "management"
        assert body["record"]["support"] is None
        assert body["record"]["support_redacted"] is True
        assert body["record"]["management"].startswith("Caseload")
        assert "distressing" not in seen.text
    admin = await client.get(url, headers=bearer(app, t.admin))
    assert admin.json()["access"] == "metadata"
    assert admin.json()["record"] is None
    assert admin.json()["held_at"] is not None
    assert len(admin.json()["actions"]) == 2
    for text in ("distressing", "Caseload", "CASE-001 ", "Neglect"):
        assert text not in admin.text
    for person in (t.colleague, t.other_manager, t.hr, t.outsider):
        assert (await client.get(url, headers=bearer(app, person))).status_code == 404

    log = (
        await db.exec(
            select(AccessLog.reader_id, AccessLog.reason).where(
                col(AccessLog.subject_id) == t.supervisee.id
            )
        )
    ).all()
    reasons = {(reader, str(reason)) for reader, reason in log}
    assert (t.manager.id, "management_oversight") in reasons
    assert (t.head.id, "management_oversight") in reasons
    assert (t.admin.id, "administration") in reasons
    assert (t.supervisor.id, "supervision") in reasons
    assert all(reader != t.supervisee.id for reader, _ in log)


async def test_managers_see_support_when_it_is_not_private(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    sid = (await _recorded(client, app, t, support_private=False))["id"]
    body = (await client.get(f"{SESSIONS}/{sid}", headers=bearer(app, t.manager))).json()
    assert body["record"]["support"] == "Found the Smith family visit distressing."
    assert body["record"]["support_redacted"] is False


async def test_list_filters_and_pages(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    for day in ("2026-11-02", "2026-11-09", "2026-11-16"):
        await _schedule(client, app, t.supervisor, t.supervisee, f"{day}T10:00:00+00:00")
    await _recorded(client, app, t)
    first = await client.get(f"{SESSIONS}?limit=3", headers=bearer(app, t.manager))
    assert first.status_code == 200
    page = first.json()
    assert [s["scheduled_for"][:10] for s in page["data"]] == [
        "2026-11-20",
        "2026-11-16",
        "2026-11-09",
    ]
    assert "record" not in page["data"][0]
    second = await client.get(
        f"{SESSIONS}?limit=3&cursor={page['next_cursor']}", headers=bearer(app, t.manager)
    )
    assert [s["scheduled_for"][:10] for s in second.json()["data"]] == ["2026-11-02"]
    assert second.json()["next_cursor"] is None
    recorded = await client.get(
        f"{SESSIONS}?status=recorded&supervisee_id={t.supervisee.id}",
        headers=bearer(app, t.supervisee),
    )
    assert len(recorded.json()["data"]) == 1
    for person in (t.hr, t.colleague, t.other_manager, t.outsider):
        seen = await client.get(SESSIONS, headers=bearer(app, person))
        assert seen.json()["data"] == [], person.display_name
    assert (
        await client.get(f"{SESSIONS}?status=nope", headers=bearer(app, t.admin))
    ).status_code == 422
    assert (
        await client.get(f"{SESSIONS}?cursor=%%%", headers=bearer(app, t.admin))
    ).status_code == 422


async def test_cancel_keeps_reason_and_who(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    sid = (await _schedule(client, app, t.supervisor, t.supervisee)).json()["id"]
    url = f"{SESSIONS}/{sid}/cancel"
    assert (
        await client.post(url, json={"reason": "x"}, headers=bearer(app, t.admin))
    ).status_code == 403
    assert (
        await client.post(url, json={"reason": "x"}, headers=bearer(app, t.hr))
    ).status_code == 404
    assert (
        await client.post(url, json={"reason": " "}, headers=bearer(app, t.supervisee))
    ).status_code == 422
    done = await client.post(
        url, json={"reason": "Court hearing ran over"}, headers=bearer(app, t.supervisee)
    )
    assert done.status_code == 200
    assert done.json()["status"] == "cancelled"
    assert done.json()["cancelled_by"] == str(t.supervisee.id)
    assert done.json()["cancelled_reason"] == "Court hearing ran over"
    again = await client.post(url, json={"reason": "again"}, headers=bearer(app, t.supervisor))
    assert again.status_code == 409
    record = await client.put(
        f"{SESSIONS}/{sid}/record",
        json=_record(t),
        headers={**bearer(app, t.supervisor), "If-Match": done.headers["ETag"]},
    )
    assert record.status_code == 409
    admin = await client.get(f"{SESSIONS}/{sid}", headers=bearer(app, t.admin))
    assert admin.json()["cancelled_reason"] is None
    assert admin.json()["cancelled_by"] == str(t.supervisee.id)


async def test_sign_off_is_the_supervisees_alone(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    unrecorded = (await _schedule(client, app, t.supervisor, t.supervisee)).json()["id"]
    early = await client.post(
        f"{SESSIONS}/{unrecorded}/sign-off",
        json={"agreed": True},
        headers=bearer(app, t.supervisee),
    )
    assert early.status_code == 409
    recorded = await _recorded(client, app, t)
    url = f"{SESSIONS}/{recorded['id']}/sign-off"
    for person, status in ((t.supervisor, 403), (t.manager, 403), (t.colleague, 404)):
        denied = await client.post(url, json={"agreed": True}, headers=bearer(app, person))
        assert denied.status_code == status, person.display_name
    no_comment = await client.post(url, json={"agreed": False}, headers=bearer(app, t.supervisee))
    assert no_comment.status_code == 422
    stale = await client.post(
        url, json={"agreed": True}, headers={**bearer(app, t.supervisee), "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    signed = await client.post(
        url,
        json={"agreed": True},
        headers={**bearer(app, t.supervisee), "If-Match": recorded["etag"]},
    )
    assert signed.status_code == 200
    assert signed.json()["signed_off_at"] is not None
    twice = await client.post(url, json={"agreed": True}, headers=bearer(app, t.supervisee))
    assert twice.status_code == 409
    # Addenda only once signed, and only by the two people in the supervision.
    add = f"{SESSIONS}/{unrecorded}/addenda"
    assert (
        await client.post(add, json={"text": "x"}, headers=bearer(app, t.supervisor))
    ).status_code == 409
    add = f"{SESSIONS}/{recorded['id']}/addenda"
    assert (
        await client.post(add, json={"text": "x"}, headers=bearer(app, t.manager))
    ).status_code == 403


async def test_feedback_is_once_and_private(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    sid = (await _recorded(client, app, t))["id"]
    url = f"{SESSIONS}/{sid}/feedback"
    rating = {"helpful": 5, "felt_safe": 4, "comment": "Good space today"}
    assert (
        await client.post(url, json=rating, headers=bearer(app, t.supervisor))
    ).status_code == 403
    assert (
        await client.post(url, json={**rating, "helpful": 6}, headers=bearer(app, t.supervisee))
    ).status_code == 422
    given = await client.post(url, json=rating, headers=bearer(app, t.supervisee))
    assert given.status_code == 201
    assert given.json()["helpful"] == 5
    assert (
        await client.post(url, json=rating, headers=bearer(app, t.supervisee))
    ).status_code == 409
    for person in (t.supervisor, t.manager, t.supervisee):
        seen = await client.get(f"{SESSIONS}/{sid}", headers=bearer(app, person))
        assert "Good space today" not in seen.text
