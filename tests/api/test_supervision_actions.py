"""Supervision actions: who sees and updates them; open ones carry to the next agenda."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.api.test_supervision_sessions import SESSIONS, _record, _recorded, _schedule
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import make_team

ACTIONS = "/api/v1/supervision/actions"


async def test_actions_listed_for_the_relationship_and_managers_only(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    await _recorded(client, app, t)
    for person in (t.supervisee, t.supervisor, t.manager, t.head, t.admin):
        seen = await client.get(f"{ACTIONS}?status=open", headers=bearer(app, person))
        assert seen.status_code == 200
        assert len(seen.json()["data"]) == 2, person.display_name
    for person in (t.colleague, t.other_manager, t.hr, t.outsider):
        seen = await client.get(ACTIONS, headers=bearer(app, person))
        assert seen.json()["data"] == [], person.display_name
    paged = await client.get(f"{ACTIONS}?limit=1", headers=bearer(app, t.supervisee))
    rest = await client.get(
        f"{ACTIONS}?limit=1&cursor={paged.json()['next_cursor']}", headers=bearer(app, t.supervisee)
    )
    assert rest.json()["data"][0]["id"] != paged.json()["data"][0]["id"]
    assert rest.json()["next_cursor"] is None


async def test_update_status_with_if_match(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    recorded = await _recorded(client, app, t)
    action = recorded["actions"][0]
    url = f"{ACTIONS}/{action['id']}"
    got = await client.get(url, headers=bearer(app, t.supervisee))
    etag = got.headers["ETag"]
    assert (
        await client.patch(url, json={"status": "done"}, headers=bearer(app, t.supervisee))
    ).status_code == 428
    for person, status in ((t.manager, 403), (t.admin, 403), (t.colleague, 404), (t.hr, 404)):
        denied = await client.patch(
            url, json={"status": "done"}, headers={**bearer(app, person), "If-Match": etag}
        )
        assert denied.status_code == status, person.display_name
    bad = await client.patch(
        url, json={"status": "finished"}, headers={**bearer(app, t.supervisee), "If-Match": etag}
    )
    assert bad.status_code == 422
    done = await client.patch(
        url, json={"status": "done"}, headers={**bearer(app, t.supervisee), "If-Match": etag}
    )
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["completed_at"] is not None
    stale = await client.patch(
        url, json={"status": "open"}, headers={**bearer(app, t.supervisor), "If-Match": etag}
    )
    assert stale.status_code == 412
    open_only = await client.get(f"{ACTIONS}?status=open", headers=bearer(app, t.supervisee))
    assert [a["id"] for a in open_only.json()["data"]] == [recorded["actions"][1]["id"]]


async def test_rewriting_a_record_keeps_named_actions_and_drops_the_rest(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    recorded = await _recorded(client, app, t)
    keep = recorded["actions"][0]
    action_etag = (
        await client.get(f"{ACTIONS}/{keep['id']}", headers=bearer(app, t.supervisee))
    ).headers["ETag"]
    await client.patch(
        f"{ACTIONS}/{keep['id']}",
        json={"status": "done"},
        headers={**bearer(app, t.supervisee), "If-Match": action_etag},
    )
    body = _record(
        t,
        actions=[
            {
                "id": keep["id"],
                "description": "Book strategy discussion (with police)",
                "owner_id": str(t.supervisee.id),
            },
            {"description": "New action", "owner_id": str(t.supervisee.id)},
        ],
    )
    rewritten = await client.put(
        f"{SESSIONS}/{recorded['id']}/record",
        json=body,
        headers={**bearer(app, t.supervisor), "If-Match": recorded["etag"]},
    )
    assert rewritten.status_code == 200
    actions = rewritten.json()["actions"]
    assert [a["description"] for a in actions] == [
        "Book strategy discussion (with police)",
        "New action",
    ]
    assert actions[0]["id"] == keep["id"]
    assert actions[0]["status"] == "done"
    assert (
        await client.get(
            f"{ACTIONS}/{recorded['actions'][1]['id']}", headers=bearer(app, t.supervisor)
        )
    ).status_code == 404
    unknown = _record(
        t,
        actions=[
            {
                "id": recorded["actions"][1]["id"],
                "description": "x",
                "owner_id": str(t.supervisee.id),
            }
        ],
    )
    response = await client.put(
        f"{SESSIONS}/{recorded['id']}/record",
        json=unknown,
        headers={**bearer(app, t.supervisor), "If-Match": rewritten.headers["ETag"]},
    )
    assert response.status_code == 422


async def test_open_actions_carry_over_to_the_next_sessions_agenda(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    recorded = await _recorded(client, app, t)
    first, second = recorded["actions"]
    etag = (
        await client.get(f"{ACTIONS}/{second['id']}", headers=bearer(app, t.supervisor))
    ).headers["ETag"]
    await client.patch(
        f"{ACTIONS}/{second['id']}",
        json={"status": "done"},
        headers={**bearer(app, t.supervisor), "If-Match": etag},
    )
    following = await _schedule(
        client, app, t.supervisor, t.supervisee, "2026-12-18T10:00:00+00:00"
    )
    url = f"{SESSIONS}/{following.json()['id']}/agenda"
    agenda = await client.get(url, headers=bearer(app, t.supervisee))
    assert agenda.status_code == 200
    assert [a["id"] for a in agenda.json()["carried_actions"]] == [first["id"]]
    assert agenda.json()["reflections"] == []
    managers = await client.get(url, headers=bearer(app, t.manager))
    assert [a["id"] for a in managers.json()["carried_actions"]] == [first["id"]]
    assert (await client.get(url, headers=bearer(app, t.colleague))).status_code == 404
    # The session where an action was agreed does not carry it to itself.
    own = await client.get(f"{SESSIONS}/{recorded['id']}/agenda", headers=bearer(app, t.supervisor))
    assert own.json()["carried_actions"] == []
