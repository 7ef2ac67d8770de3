"""`GET /me/export`: everything about me, nothing about anyone else."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.notifications.outbox import Due, NotificationKind, enqueue
from tests.api.test_reflections import make_team
from tests.api.test_supervision_sessions import _recorded
from tests.api.test_wellbeing_checkins import URL as CHECKINS
from tests.api.test_wellbeing_checkins import _body
from tests.factories.directory import bearer, now_of
from tests.factories.reflections import note_body
from tests.factories.supervision import make_absence
from tests.factories.supervision import make_team as make_supervision_team

URL = "/api/v1/reflections"


async def test_export_holds_my_profile_notes_tombstones_and_access_log(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    auth = bearer(app, team.author)
    kept, deleted = note_body(title="Kept"), note_body(title="Gone")
    await client.post(URL, json=kept, headers=auth)
    await client.post(URL, json=deleted, headers=auth)
    await client.delete(f"{URL}/{deleted['id']}", headers=auth)
    await client.post(f"{URL}/{kept['id']}/share", json={}, headers=auth)
    await client.get(f"{URL}/{kept['id']}", headers=bearer(app, team.supervisor))
    await client.post(URL, json=note_body(title="Colleague's"), headers=bearer(app, team.colleague))

    response = await client.get("/api/v1/me/export", headers=auth)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    export = response.json()
    assert export["profile"]["id"] == str(team.author.id)
    assert "password_hash" not in export["profile"]
    notes = {n["id"]: n for n in export["reflections"]}
    assert set(notes) == {kept["id"], deleted["id"]}
    assert notes[kept["id"]]["body"] == kept["body"]
    assert notes[kept["id"]]["shared_with_id"] == str(team.supervisor.id)
    assert notes[deleted["id"]]["title"] is None
    assert notes[deleted["id"]]["deleted_at"] is not None
    [read] = export["reads_of_my_data"]
    assert (read["reader_id"], read["resource_id"]) == (str(team.supervisor.id), kept["id"])
    assert export["my_reads_of_others"] == []

    theirs = (await client.get("/api/v1/me/export", headers=bearer(app, team.supervisor))).json()
    assert theirs["reflections"] == []
    assert [r["subject_id"] for r in theirs["my_reads_of_others"]] == [str(team.author.id)]
    assert theirs["reads_of_my_data"] == []
    assert (await client.get("/api/v1/me/export")).status_code == 401


async def test_export_carries_my_supervision_absences_and_checkins_and_nobody_elses(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_supervision_team(db, now=now_of(app))
    recorded = await _recorded(client, app, t)
    checkin = _body()
    assert (
        await client.post(CHECKINS, json=checkin, headers=bearer(app, t.supervisee))
    ).status_code == 201
    await make_absence(db, t.supervisee, date(2026, 12, 1), date(2026, 12, 5), now=now_of(app))

    device = await client.post(
        "/api/v1/devices",
        json={"platform": "android", "token": "fcm-token-abc"},
        headers=bearer(app, t.supervisee),
    )
    assert device.status_code == 201

    nudge = Due(
        organisation_id=t.org.id,
        recipient_id=t.supervisee.id,
        kind=NotificationKind.checkin_nudge,
        subject_id=t.supervisee.id,
        occurrence="2026-W48",
        deliver_after=now_of(app) + timedelta(hours=12),  # deferred past quiet hours
    )
    await enqueue(db, [nudge], now_of(app))

    mine = (await client.get("/api/v1/me/export", headers=bearer(app, t.supervisee))).json()
    assert [(n["kind"], n["occurrence"]) for n in mine["notifications"]] == [
        ("checkin_nudge", "2026-W48")
    ]
    assert [d["platform"] for d in mine["devices"]] == ["android"]
    assert "fcm-token-abc" not in str(mine)  # the push token is a credential, not exported
    assert mine["preferences"]["timezone"] == "Europe/London"
    assert [s["id"] for s in mine["supervision_sessions"]] == [recorded["id"]]
    record = mine["supervision_sessions"][0]["record"]
    assert record["support"] == recorded["record"]["support"]  # my own private section too
    assert [c["id"] for c in mine["checkins"]] == [checkin["id"]]
    assert mine["checkins"][0]["answers"] == checkin["answers"]
    assert len(mine["absences"]) == 1

    # The supervisor's export is about the supervisor: not the supervisee's sessions or answers.
    theirs = (await client.get("/api/v1/me/export", headers=bearer(app, t.supervisor))).json()
    assert theirs["supervision_sessions"] == []
    assert theirs["checkins"] == []
    assert theirs["absences"] == []
    assert theirs["devices"] == []
    assert theirs["notifications"] == []
