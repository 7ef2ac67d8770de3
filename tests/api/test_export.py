"""`GET /me/export`: everything about me, nothing about anyone else."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.api.test_reflections import make_team
from tests.factories import bearer
from tests.reflection_factories import note_body

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
