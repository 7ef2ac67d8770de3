"""Where supervision meets reflections and the sync feed: the agenda and the phone's feed."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from models.directory.staff import Staff
from tests.api.test_supervision_sessions import SESSIONS, _record, _recorded, _schedule
from tests.api.test_sync import drain
from tests.factories.directory import bearer, now_of
from tests.factories.reflections import note_body
from tests.factories.supervision import Team, make_team


async def test_a_note_brought_to_supervision_is_on_the_agenda_for_the_two_people_only(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    body = note_body(title="The Elm Street visit")
    assert (
        await client.post("/api/v1/reflections", json=body, headers=bearer(app, t.supervisee))
    ).status_code == 201
    shared = await client.post(
        f"/api/v1/reflections/{body['id']}/share",
        json={"bring_to_supervision": True},
        headers=bearer(app, t.supervisee),
    )
    assert shared.status_code == 200
    session_id = (await _schedule(client, app, t.supervisor, t.supervisee)).json()["id"]
    url = f"{SESSIONS}/{session_id}/agenda"

    for who in (t.supervisee, t.supervisor):
        agenda = await client.get(url, headers=bearer(app, who))
        assert agenda.status_code == 200
        assert [(r["id"], r["title"]) for r in agenda.json()["reflections"]] == [
            (body["id"], "The Elm Street visit")
        ]
        assert "feelings" not in agenda.text  # titles only, never the body
    manager = await client.get(url, headers=bearer(app, t.manager))
    assert manager.status_code == 200
    assert manager.json()["reflections"] == []
    for who in (t.colleague, t.hr, t.outsider):
        assert (await client.get(url, headers=bearer(app, who))).status_code == 404
    logged = (
        await db.exec(
            select(AccessLog).where(
                col(AccessLog.subject_id) == t.supervisee.id,
                col(AccessLog.reader_id) == t.supervisor.id,
            )
        )
    ).all()
    assert logged  # the supervisor's read of the note title is in the supervisee's log


async def test_sessions_and_actions_reach_the_feeds_of_the_people_in_the_supervision(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    recorded = await _recorded(client, app, t)
    session_id = recorded["id"]

    for who in (t.supervisee, t.supervisor):
        changes, _ = await drain(client, app, who)
        sessions = [c for c in changes if c["type"] == "supervision_session"]
        actions = [c for c in changes if c["type"] == "supervision_action"]
        assert [(c["id"], c["op"]) for c in sessions] == [(session_id, "upsert")]
        assert sessions[0]["data"]["status"] == "recorded"
        assert sessions[0]["data"]["record"]["support"] == recorded["record"]["support"]
        assert sorted(c["data"]["description"] for c in actions) == [
            "Book strategy discussion",
            "Check rota",
        ]
    for who in (t.manager, t.colleague, t.hr, t.admin, t.outsider):
        changes, _ = await drain(client, app, who)
        assert not [c for c in changes if c["type"].startswith("supervision_")]


async def _move_supervisee(
    client: httpx.AsyncClient, app: FastAPI, t: Team, new_supervisor: Staff
) -> None:
    headers = bearer(app, t.admin)
    url = f"/api/v1/staff/{t.supervisee.id}"
    etag = (await client.get(url, headers=headers)).headers["etag"]
    moved = await client.patch(
        url, json={"supervisor_id": str(new_supervisor.id)}, headers={**headers, "If-Match": etag}
    )
    assert moved.status_code == 200


async def test_a_current_supervisor_who_stops_being_one_gets_tombstones(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    session_id = (await _schedule(client, app, t.supervisor, t.supervisee)).json()["id"]
    # The supervisee moves to the colleague before the session is written up: the write-up
    # reaches the colleague's feed, as the supervisee's current supervisor.
    await _move_supervisee(client, app, t, t.colleague)
    etag = (
        await client.get(f"{SESSIONS}/{session_id}", headers=bearer(app, t.supervisor))
    ).headers["etag"]
    put = await client.put(
        f"{SESSIONS}/{session_id}/record",
        json=_record(t),
        headers={**bearer(app, t.supervisor), "If-Match": etag},
    )
    assert put.status_code == 200
    seen, cursor = await drain(client, app, t.colleague)
    synced = {c["id"] for c in seen if c["type"].startswith("supervision_") and c["op"] == "upsert"}
    assert session_id in synced
    assert len(synced) == 3  # the session and its two actions

    # Then the supervisee moves again: the colleague may no longer see any of it.
    await _move_supervisee(client, app, t, t.manager)
    assert (
        await client.get(f"{SESSIONS}/{session_id}", headers=bearer(app, t.colleague))
    ).status_code == 404
    after, _ = await drain(client, app, t.colleague, cursor)
    assert {(c["id"], c["op"], c["data"]) for c in after} == {(i, "delete", None) for i in synced}

    # The session's own supervisor keeps what they ran: no tombstones for them.
    theirs, _ = await drain(client, app, t.supervisor)
    assert {c["op"] for c in theirs if c["type"].startswith("supervision_")} == {"upsert"}
