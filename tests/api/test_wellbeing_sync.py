"""Check-ins on the sync feed: the owner's own, a supervisor's only while shared."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.api.test_sync import drain
from tests.api.test_wellbeing_checkins import URL, _body
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import make_team


async def test_checkins_reach_the_owner_and_a_supervisor_only_while_shared(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    t = await make_team(db, now=now_of(app))
    me = t.supervisee
    private = _body()
    shared = _body(share_with_supervisor=True)
    for body in (private, shared):
        assert (await client.post(URL, json=body, headers=bearer(app, me))).status_code == 201

    mine, _ = await drain(client, app, me)
    own = {c["id"]: c for c in mine if c["type"] == "wellbeing_checkin"}
    assert set(own) == {private["id"], shared["id"]}
    assert own[shared["id"]]["data"]["shared_with_supervisor"] is True
    assert own[private["id"]]["data"]["answers"] == private["answers"]

    seen, cursor = await drain(client, app, t.supervisor)
    assert not [c for c in seen if c["type"] == "wellbeing_checkin"]  # the owner's shape
    theirs = [c for c in seen if c["type"] == "wellbeing_checkin_shared"]
    assert [(c["id"], c["op"]) for c in theirs] == [(shared["id"], "upsert")]
    assert theirs[0]["data"]["owner_id"] == str(me.id)

    for who in (t.manager, t.head, t.colleague, t.hr, t.admin, t.outsider):
        changes, _ = await drain(client, app, who)
        assert not [c for c in changes if c["type"].startswith("wellbeing_checkin")], who.email

    # Revoking the share tombstones it on the supervisor's phone at once.
    assert (
        await client.delete(f"{URL}/{shared['id']}/share", headers=bearer(app, me))
    ).status_code in {200, 204}
    after, cursor = await drain(client, app, t.supervisor, cursor)
    assert [(c["id"], c["type"], c["entity"], c["op"], c["data"]) for c in after] == [
        (shared["id"], "tombstone", "wellbeing_checkin", "delete", None)
    ]

    # A share that simply expires does the same, with no write at all.
    again = _body(share_with_supervisor=True)
    assert (await client.post(URL, json=again, headers=bearer(app, me))).status_code == 201
    seen, cursor = await drain(client, app, t.supervisor, cursor)
    assert [(c["id"], c["op"]) for c in seen] == [(again["id"], "upsert")]
    clock.advance(days=15)
    expired, _ = await drain(client, app, t.supervisor, cursor)
    assert [(c["id"], c["op"]) for c in expired] == [(again["id"], "delete")]


async def test_checkin_reads_carry_an_etag_that_follows_the_share(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    body = _body()
    me = bearer(app, t.supervisee)
    assert (await client.post(URL, json=body, headers=me)).status_code == 201
    first = await client.get(f"{URL}/{body['id']}", headers=me)
    again = await client.get(f"{URL}/{body['id']}", headers=me)
    assert first.headers["etag"] == again.headers["etag"]
    assert (await client.post(f"{URL}/{body['id']}/share", json={}, headers=me)).status_code in {
        200,
        201,
    }
    shared = await client.get(f"{URL}/{body['id']}", headers=me)
    assert shared.headers["etag"] != first.headers["etag"]
