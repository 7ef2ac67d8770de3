"""Check-ins: idempotent create, server-side scoring, consent to tell, the owner's trend."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import AccessTokens
from models.analytics.periods import TENURE_BANDS
from models.directory.staff import Role
from models.wellbeing import CheckIn, CheckInShare
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, make_org, make_staff, now_of
from tests.factories.wellbeing import pulse_answers
from wellbeing.catalogue import import_wording

URL = "/api/v1/wellbeing/checkins"


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "instrument": "pulse",
        "answers": {"mood": 4, "stress": 5, "exposure": 4, "supported": 2, "sleep": 3},
        "wants_to_talk": False,
        "share_with_supervisor": False,
    }
    return body | changes


async def _count(db: AsyncSession) -> int:
    return int((await db.exec(select(func.count()).select_from(CheckIn))).one())


async def test_create_scores_on_the_server_and_repeats_are_idempotent(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    me = await make_staff(db, await make_org(db, now=now), now=now)
    body = _body()
    first = await client.post(URL, json=body, headers=bearer(app, me))
    assert first.status_code == 201
    data = first.json()
    assert data["scores"] == {"wellbeing": 12, "load": 9}
    assert data["band"] == "getting_by"
    assert data["instrument_version"] == 1
    assert {"name": "Samaritans (free, 24 hours)", "contact": "116 123"} in data["signposting"]
    assert data["shared_with_supervisor"] is False

    again = await client.post(URL, json=body, headers=bearer(app, me))
    assert again.status_code == 200
    assert again.json() == data

    changed = await client.post(
        URL, json=body | {"answers": body["answers"] | {"mood": 1}}, headers=bearer(app, me)
    )
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"
    assert await _count(db) == 1

    someone_else = await make_staff(db, await make_org(db, now=now), now=now)
    stolen = await client.post(URL, json=body, headers=bearer(app, someone_else))
    assert stolen.status_code == 409


async def test_client_scores_are_not_accepted_and_bad_answers_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    me = await make_staff(db, await make_org(db, now=now), now=now)
    bad = [
        _body(scores={"wellbeing": 25}),
        _body(answers={"mood": 9, "stress": 1, "exposure": 1, "supported": 1, "sleep": 1}),
        _body(answers={"mood": "4", "stress": 1, "exposure": 1, "supported": 1, "sleep": 1}),
        _body(answers={"mood": 4}),
        _body(instrument="nope"),
        _body(share_with_supervisor=True),  # no supervisor on record
    ]
    for body in bad:
        response = await client.post(URL, json=body, headers=bearer(app, me))
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    assert await _count(db) == 0


async def test_only_an_active_member_named_by_a_valid_token_checks_in(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """The caller is read with the check-in's context (one statement), not before it: a
    deactivated person's valid token, or a token naming someone in another organisation,
    is still refused with 401 and nothing written, whatever the body asks (a share, a talk
    request, a repeat of a check-in they made while active); no token or a bad one, before
    the body is looked at."""
    now = now_of(app)
    org = await make_org(db, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    me = await make_staff(db, org, supervisor=supervisor, now=now)
    made = _body(share_with_supervisor=True, wants_to_talk=True, tell_supervisor=True)
    assert (await client.post(URL, json=made, headers=bearer(app, me))).status_code == 201
    assert await _count(db) == 1

    assert (await client.post(URL, json=_body())).status_code == 401
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (await client.post(URL, json={}, headers=bad_token)).status_code == 401

    me.active = False
    await db.flush()
    headers = bearer(app, me)
    for body in (
        _body(),
        _body(share_with_supervisor=True, wants_to_talk=True, tell_supervisor=True),
        _body(instrument="nope"),  # refused for its content only once the caller is known
        made,  # a repeat
    ):
        refused = await client.post(URL, json=body, headers=headers)
        assert refused.status_code == 401, body
        assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert await _count(db) == 1
    assert (await db.exec(select(func.count()).select_from(CheckInShare))).one() == 1
    requests = await client.get("/api/v1/wellbeing/talk-requests", headers=bearer(app, supervisor))
    assert len(requests.json()["data"]) == 1
    # A body that does not parse is answered 422 before the caller is read (as `GET /sync`
    # answers a bad parameter): nothing is written either way.
    assert (await client.post(URL, json={}, headers=headers)).status_code == 422

    # A valid token for a person of one organisation naming another (never issued).
    elsewhere = await make_org(db, now=now)
    tokens: AccessTokens = app.state.tokens
    someone = await make_staff(db, org, now=now)
    forged = tokens.issue(someone.id, elsewhere.id, now)
    refused = await client.post(URL, json=_body(), headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    assert await _count(db) == 1


async def test_wants_to_talk_reaches_the_supervisor_only_with_consent(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    me = await make_staff(db, org, supervisor=supervisor, now=now)
    quiet = await client.post(
        URL, json=_body(wants_to_talk=True, tell_supervisor=False), headers=bearer(app, me)
    )
    assert quiet.status_code == 201
    assert quiet.json()["supervisor_told"] is False
    assert any(s["contact"] == "116 123" for s in quiet.json()["signposting"])
    requests = await client.get("/api/v1/wellbeing/talk-requests", headers=bearer(app, supervisor))
    assert requests.json()["data"] == []

    told = await client.post(
        URL, json=_body(wants_to_talk=True, tell_supervisor=True), headers=bearer(app, me)
    )
    assert told.json()["supervisor_told"] is True
    requests = await client.get("/api/v1/wellbeing/talk-requests", headers=bearer(app, supervisor))
    [request] = requests.json()["data"]
    assert request["staff_id"] == str(me.id)
    assert request["checkin_id"] is None  # the check-in itself is not shared with them
    assert "scores" not in request
    assert "answers" not in request
    assert told.json()["talk_request"]["id"] == request["id"]
    # Nobody asked the practitioner anything: their list of requests sent to them is empty.
    mine = await client.get("/api/v1/wellbeing/talk-requests", headers=bearer(app, me))
    assert mine.status_code == 200
    assert mine.json()["data"] == []


async def test_tell_supervisor_is_optional_and_defaults_to_no(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    me = await make_staff(db, org, supervisor=supervisor, now=now)
    body = _body(wants_to_talk=True)
    created = await client.post(URL, json=body, headers=bearer(app, me))
    assert created.status_code == 201
    data = created.json()
    assert data["supervisor_told"] is False
    assert data["talk_request"] is None
    # The answer offers whom they could ask instead of telling nobody.
    assert [o["staff_id"] for o in data["talk_options"]] == [str(supervisor.id)]
    requests = await client.get("/api/v1/wellbeing/talk-requests", headers=bearer(app, supervisor))
    assert requests.json()["data"] == []
    schema = (await client.get("/api/v1/openapi.json")).json()["components"]["schemas"]
    field = schema["CheckInCreate"]["properties"]["tell_supervisor"]
    assert field["default"] is False
    assert "tell_supervisor" not in schema["CheckInCreate"].get("required", [])


async def test_share_defaults_to_14_days_and_can_be_revoked(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    me = await make_staff(db, org, supervisor=supervisor, now=now)
    created = await client.post(
        URL, json=_body(share_with_supervisor=True), headers=bearer(app, me)
    )
    assert created.status_code == 201
    checkin_id = created.json()["id"]
    assert created.json()["shared_with_supervisor"] is True
    share = (await db.exec(select(CheckInShare))).one()
    assert (share.expires_at - share.shared_at).days == 14

    revoke = await client.delete(f"{URL}/{checkin_id}/share", headers=bearer(app, me))
    assert revoke.status_code == 204
    seen = await client.get(f"{URL}/{checkin_id}", headers=bearer(app, supervisor))
    assert seen.status_code == 404
    mine = await client.get(f"{URL}/{checkin_id}", headers=bearer(app, me))
    assert mine.json()["shared_with_supervisor"] is False

    reshare = await client.post(
        f"{URL}/{checkin_id}/share", json={"days": 2}, headers=bearer(app, me)
    )
    assert reshare.status_code == 200
    assert (
        await client.get(f"{URL}/{checkin_id}", headers=bearer(app, supervisor))
    ).status_code == 200
    clock.advance(days=2, seconds=1)
    assert (
        await client.get(f"{URL}/{checkin_id}", headers=bearer(app, supervisor))
    ).status_code == 404
    other = await make_staff(db, org, now=now)
    assert (
        await client.delete(f"{URL}/{checkin_id}/share", headers=bearer(app, other))
    ).status_code == 404


async def test_my_checkins_are_mine_newest_first_and_paged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    other = await make_staff(db, org, now=now)
    ids = []
    for _ in range(3):
        response = await client.post(URL, json=_body(), headers=bearer(app, me))
        ids.append(response.json()["id"])
        clock.advance(hours=1)
    await client.post(URL, json=_body(), headers=bearer(app, other))
    first = await client.get(f"{URL}?limit=2", headers=bearer(app, me))
    assert [c["id"] for c in first.json()["data"]] == [ids[2], ids[1]]
    second = await client.get(
        f"{URL}?limit=2&cursor={first.json()['next_cursor']}", headers=bearer(app, me)
    )
    assert [c["id"] for c in second.json()["data"]] == [ids[0]]
    assert second.json()["next_cursor"] is None


async def test_my_trend_by_week_and_month(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)  # Monday 23 November 2026
    me = await make_staff(db, await make_org(db, now=now), now=now)
    for wellbeing, days in ((10, 0), (14, 1), (20, 7)):  # 23 Nov, 24 Nov, 1 Dec
        clock.advance(days=days)
        await client.post(
            URL, json=_body(answers=pulse_answers(wellbeing)), headers=bearer(app, me)
        )
    weekly = await client.get(
        "/api/v1/wellbeing/trends/me?instrument=pulse&period=week", headers=bearer(app, me)
    )
    assert weekly.status_code == 200
    points = weekly.json()["points"]
    assert [(p["period_start"], p["checkins"], p["scores"]["wellbeing"]) for p in points] == [
        ("2026-11-23", 2, 12.0),
        ("2026-11-30", 1, 20.0),
    ]
    monthly = await client.get(
        "/api/v1/wellbeing/trends/me?instrument=pulse&period=month", headers=bearer(app, me)
    )
    assert [(p["period_start"], p["checkins"]) for p in monthly.json()["points"]] == [
        ("2026-11-01", 2),
        ("2026-12-01", 1),
    ]
    bad = await client.get("/api/v1/wellbeing/trends/me?period=year", headers=bearer(app, me))
    assert bad.status_code == 422


async def test_licensed_instrument_needs_imported_wording(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    answers = {str(i): 3 for i in range(1, 18)}
    listed = await client.get("/api/v1/wellbeing/instruments", headers=bearer(app, me))
    stss = next(i for i in listed.json()["data"] if i["key"] == "stss")
    assert stss["available"] is False
    assert all(item["text"] is None for item in stss["items"])
    refused = await client.post(
        URL, json=_body(instrument="stss", answers=answers), headers=bearer(app, me)
    )
    assert refused.status_code == 422

    wording = {
        "instrument": "stss",
        "version": 1,
        "items": {str(i): f"Item {i}" for i in range(1, 18)},
    }
    await import_wording(db, org.id, wording, "We hold a licence from the author (ref 123).", now)
    listed = await client.get("/api/v1/wellbeing/instruments", headers=bearer(app, me))
    stss = next(i for i in listed.json()["data"] if i["key"] == "stss")
    assert stss["available"] is True
    assert stss["items"][0]["text"] == "Item 1"
    taken = await client.post(
        URL, json=_body(instrument="stss", answers=answers), headers=bearer(app, me)
    )
    assert taken.status_code == 201
    assert taken.json()["scores"]["total"] == 51
    assert taken.json()["band"] == "severe"
    # Another organisation has not imported it.
    elsewhere = await make_staff(db, await make_org(db, now=now), now=now)
    listed = await client.get("/api/v1/wellbeing/instruments", headers=bearer(app, elsewhere))
    assert next(i for i in listed.json()["data"] if i["key"] == "stss")["available"] is False
    assert (
        await db.exec(
            select(func.count()).select_from(CheckIn).where(col(CheckIn.instrument) == "stss")
        )
    ).one() == 1


async def test_a_create_answers_the_organisations_settings_text_and_path_read_at_once(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """One statement reads a check-in's share days, EAP contact, band text and unit path
    (tests/api/test_hot_path_statements.py); each still answers as the organisation set it."""
    now = now_of(app)
    org = await make_org(db, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    started = (now - timedelta(days=3 * 365 + 30)).date()
    me = await make_staff(db, org, supervisor=supervisor, started_on=started, now=now)  # no unit
    body = _body(share_with_supervisor=True)
    default = (await client.post(URL, json=body, headers=bearer(app, me))).json()
    assert default["signposting"][0]["contact"].startswith("Your employee assistance")
    assert default["support"] is not None
    assert default["share_expires_at"] is not None
    stored = await db.get(CheckIn, uuid.UUID(body["id"]))
    assert stored is not None
    assert stored.unit_path == []
    # The tenure band comes from the start date read in the same statement.
    assert stored.tenure_band == TENURE_BANDS[2]  # 2 to 5 years

    settings_url = "/api/v1/wellbeing/settings"
    current = await client.get(settings_url, headers=bearer(app, admin))
    changed = await client.put(
        settings_url,
        json={"share_days": 3, "employee_assistance": "Care First 0800 000 000"},
        headers=bearer(app, admin) | {"If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200
    texts_url = f"/api/v1/wellbeing/support-texts/pulse/{default['band']}"
    text = await client.get(texts_url, headers=bearer(app, admin))
    own = {"text": "Our own words for this band."}
    put = await client.put(
        texts_url, json=own, headers=bearer(app, admin) | {"If-Match": text.headers["ETag"]}
    )
    assert put.status_code == 200

    second = _body(share_with_supervisor=True)
    made = await client.post(URL, json=second, headers=bearer(app, me))
    assert made.status_code == 201
    view = made.json()
    assert view["signposting"][0] == {
        "name": "Employee assistance",
        "contact": "Care First 0800 000 000",
    }
    assert view["support"] == own["text"]
    assert view["share_expires_at"].startswith((now + timedelta(days=3)).date().isoformat())
    again = await client.post(URL, json=second, headers=bearer(app, me))
    assert again.status_code == 200
    assert again.json() == view
    # The first check-in, replayed, is shown with the settings and text as they are now.
    replayed = await client.post(URL, json=body, headers=bearer(app, me))
    assert replayed.status_code == 200
    assert replayed.json()["support"] == own["text"]
    assert replayed.json()["signposting"] == view["signposting"]
