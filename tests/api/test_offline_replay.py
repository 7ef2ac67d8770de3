"""A phone that retries blindly after every timeout ends with exactly the notes its user wrote."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.reflection import Reflection
from tests.api.test_reflections import make_team
from tests.factories.directory import bearer
from tests.factories.reflections import note_body

URL = "/api/v1/reflections"


def without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "id"}


async def test_replaying_a_whole_offline_queue_twice_changes_nothing_the_second_time(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    auth = bearer(app, team.author)
    kept, dropped = note_body(title="Kept"), note_body(title="Dropped")
    edited = without_id(kept) | {"title": "Kept, edited in the car park"}

    async def replay() -> list[int]:
        """The queue as the phone stored it, sent in order."""
        return [
            (await client.post(URL, json=kept, headers=auth)).status_code,
            (await client.post(URL, json=dropped, headers=auth)).status_code,
            (
                await client.put(
                    f"{URL}/{kept['id']}", json=edited, headers={**auth, "If-Match": '"1"'}
                )
            ).status_code,
            (
                await client.post(
                    f"{URL}/{kept['id']}/share", json={"bring_to_supervision": True}, headers=auth
                )
            ).status_code,
            (await client.delete(f"{URL}/{dropped['id']}", headers=auth)).status_code,
        ]

    assert await replay() == [201, 201, 200, 200, 204]
    # Every response was lost to a timeout; the phone sends the whole queue again.
    # The create of a deleted note and the applied edit are refused, not re-applied.
    assert await replay() == [409, 409, 412, 200, 204]
    # The phone resolves the 412 by reading: its edit is already the current version.
    current = await client.get(f"{URL}/{kept['id']}", headers=auth)
    assert current.json()["title"] == "Kept, edited in the car park"
    assert current.headers["ETag"] == '"2"'

    mine = (await client.get(URL, headers=auth)).json()["data"]
    assert [(n["id"], n["title"], n["shared"]) for n in mine] == [
        (kept["id"], "Kept, edited in the car park", True)
    ]
    assert len((await db.exec(select(Reflection))).all()) == 2  # the note and one tombstone
    shared = await client.get(f"{URL}/shared-with-me", headers=bearer(app, team.supervisor))
    assert [n["title"] for n in shared.json()["data"]] == ["Kept, edited in the car park"]


async def test_two_devices_editing_offline_the_second_must_merge(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    auth = bearer(app, team.author)
    body = note_body()
    await client.post(URL, json=body, headers=auth)
    url = f"{URL}/{body['id']}"
    phone = without_id(body) | {"title": "From the phone"}
    tablet = without_id(body) | {"title": "From the tablet"}
    assert (
        await client.put(url, json=phone, headers={**auth, "If-Match": '"1"'})
    ).status_code == 200
    refused = await client.put(url, json=tablet, headers={**auth, "If-Match": '"1"'})
    assert refused.status_code == 412
    latest = await client.get(url, headers=auth)
    merged = tablet | {"title": latest.json()["title"] + " / from the tablet"}
    retry = await client.put(url, json=merged, headers={**auth, "If-Match": latest.headers["ETag"]})
    assert retry.status_code == 200
    assert retry.json()["title"] == "From the phone / from the tablet"


async def test_a_number_is_not_a_boolean_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """`0` is not `false` (pydantic's lax mode would take it as one): the document types
    `bring_to_supervision` as a boolean, so a number is a 422 and the note stays private."""
    team = await make_team(db, app)
    auth = bearer(app, team.author)
    note = note_body(title="Private")
    assert (await client.post(URL, json=note, headers=auth)).status_code == 201
    for number in (0, 1, 0.0):
        refused = await client.post(
            f"{URL}/{note['id']}/share", json={"bring_to_supervision": number}, headers=auth
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(f"{URL}/{note['id']}", headers=auth)).json()["shared"] is False
