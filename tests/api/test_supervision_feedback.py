"""Session feedback: once per held session, sealed at rest, readable only by the supervisee."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.crypto import SEALED_COLUMNS, SealedColumn
from models.supervision import SessionFeedback, SessionStatus
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import make_session, make_team

SESSIONS = "/api/v1/supervision/sessions"
RATING = {"helpful": 4, "felt_safe": 2, "comment": "Felt rushed; could not raise the Smith visit"}


async def test_only_the_supervisee_rates_once_and_reads_it_back(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    held = await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=(now - timedelta(days=2)).date()
    )
    url = f"{SESSIONS}/{held.id}/feedback"
    for person in (t.supervisor, t.manager):
        refused = await client.post(url, json=RATING, headers=bearer(app, person))
        assert refused.status_code == 403
    for person in (t.hr, t.admin, t.colleague, t.other_manager, t.outsider):
        refused = await client.post(url, json=RATING, headers=bearer(app, person))
        assert refused.status_code in (403, 404), person
    mine = bearer(app, t.supervisee)
    assert (await client.get(url, headers=mine)).status_code == 404  # nothing given yet
    given = await client.post(url, json=RATING, headers=mine)
    assert given.status_code == 201, given.text
    assert given.json()["comment"] == RATING["comment"]
    again = await client.post(url, json={**RATING, "helpful": 5}, headers=mine)
    assert again.status_code == 409
    read = await client.get(url, headers=mine)
    assert read.status_code == 200
    assert read.json()["helpful"] == 4
    assert read.json()["felt_safe"] == 2
    assert read.json()["comment"] == RATING["comment"]
    rows = (await db.exec(select(SessionFeedback))).all()
    assert len(rows) == 1
    assert rows[0].helpful == 4


async def test_no_other_role_can_read_a_rating(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    held = await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=(now - timedelta(days=2)).date()
    )
    url = f"{SESSIONS}/{held.id}/feedback"
    assert (
        await client.post(url, json=RATING, headers=bearer(app, t.supervisee))
    ).status_code == 201
    others = {
        "supervisor": t.supervisor,
        "manager": t.manager,
        "head of service": t.head,
        "hr": t.hr,
        "admin": t.admin,
        "colleague": t.colleague,
        "other manager": t.other_manager,
        "outsider": t.outsider,
    }
    for role, person in others.items():
        headers = bearer(app, person)
        answer = await client.get(url, headers=headers)
        assert answer.status_code == 404, role
        assert "Smith" not in answer.text
        session_view = await client.get(f"{SESSIONS}/{held.id}", headers=headers)
        assert "Smith" not in session_view.text, role
        assert '"felt_safe"' not in session_view.text, role
        export = await client.get("/api/v1/me/export", headers=headers)
        assert export.status_code == 200
        assert export.json()["session_feedback"] == [], role


async def test_unheld_session_cannot_be_rated_and_bad_input_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    planned = await make_session(db, t.supervisee, t.supervisor, now=now)
    cancelled = await make_session(
        db, t.supervisee, t.supervisor, now=now, status=SessionStatus.cancelled
    )
    held = await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=(now - timedelta(days=2)).date()
    )
    mine = bearer(app, t.supervisee)
    for sess in (planned, cancelled):
        answer = await client.post(f"{SESSIONS}/{sess.id}/feedback", json=RATING, headers=mine)
        assert answer.status_code == 409
    url = f"{SESSIONS}/{held.id}/feedback"
    for bad in (
        {**RATING, "helpful": 0},
        {**RATING, "felt_safe": 6},
        {**RATING, "comment": "x" * 2001},
        {**RATING, "secret": 1},
        {"helpful": 3},
    ):
        answer = await client.post(url, json=bad, headers=mine)
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await db.exec(select(SessionFeedback))).all() == []


async def test_comment_is_sealed_at_rest_rotated_and_exported_to_its_author(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    held = await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=(now - timedelta(days=2)).date()
    )
    url = f"{SESSIONS}/{held.id}/feedback"
    assert (
        await client.post(url, json=RATING, headers=bearer(app, t.supervisee))
    ).status_code == 201
    stored = (await db.exec(select(col(SessionFeedback.comment)))).one()
    assert stored is not None
    assert stored.startswith("v1.k1.")
    assert "Smith" not in stored
    assert SealedColumn("supervision_feedback", "comment") in SEALED_COLUMNS
    export = await client.get("/api/v1/me/export", headers=bearer(app, t.supervisee))
    assert export.status_code == 200
    [item] = export.json()["session_feedback"]
    assert item["session_id"] == str(held.id)
    assert item["comment"] == RATING["comment"]
    assert item["helpful"] == 4
    assert item["felt_safe"] == 2
