"""Reflective notes over HTTP: offline-safe creates, If-Match updates, tombstones, sharing,
and who can read what (a test per role)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import AccessTokens
from models.access_log import AccessLog
from models.changes import Change
from models.directory.staff import Role, Staff
from models.reflection import RESOURCE_TYPE, Reflection
from supervision.reflections.templates import ReflectionTag
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.reflections import note_body

URL = "/api/v1/reflections"


@dataclass
class Team:
    author: Staff
    supervisor: Staff
    other_supervisor: Staff
    manager: Staff
    hr: Staff
    admin: Staff
    colleague: Staff
    stranger: Staff  # a supervisor and admin in another organisation


async def make_team(db: AsyncSession, app: FastAPI) -> Team:
    now = now_of(app)
    org = await make_org(db, now=now)
    manager = await make_staff(db, org, Role.manager, now=now)
    unit = await make_unit(db, org, manager=manager, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, Role.practitioner, unit=unit, now=now)
    author = await make_staff(db, org, unit=unit, supervisor=supervisor, now=now)
    return Team(
        author=author,
        supervisor=supervisor,
        other_supervisor=await make_staff(db, org, Role.supervisor, unit=unit, now=now),
        manager=manager,
        hr=await make_staff(db, org, Role.hr, now=now),
        admin=await make_staff(db, org, Role.admin, now=now),
        colleague=await make_staff(db, org, unit=unit, supervisor=supervisor, now=now),
        stranger=await make_staff(
            db, await make_org(db, now=now), Role.supervisor, Role.admin, Role.hr, now=now
        ),
    )


async def count_rows(db: AsyncSession) -> int:
    return len((await db.exec(select(Reflection.id))).all())


async def count_changes(db: AsyncSession) -> int:
    """Change rows about notes (each new note writes one, for its author)."""
    stmt = select(Change.id).where(col(Change.entity_type) == RESOURCE_TYPE)
    return len((await db.exec(stmt)).all())


async def test_templates_list_prompts_and_tags(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    response = await client.get(f"{URL}/templates", headers=bearer(app, team.author))
    assert response.status_code == 200
    catalogue = response.json()
    templates = {t["id"]: [p["key"] for p in t["prompts"]] for t in catalogue["templates"]}
    assert set(templates) == {
        "free",
        "gibbs",
        "what_so_what_now_what",
        "restorative",
        "signs_of_safety",
    }
    assert templates["gibbs"] == [
        "description",
        "feelings",
        "evaluation",
        "analysis",
        "conclusion",
        "action_plan",
    ]
    assert "scaling" in templates["signs_of_safety"]
    groups = [t["group"] for t in catalogue["tags"]]
    assert (groups.count("value"), groups.count("pillar"), groups.count("approach")) == (6, 5, 3)
    assert (await client.get(f"{URL}/templates")).status_code == 401


async def test_create_then_repeat_answers_200_with_the_same_body(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body()
    first = await client.post(URL, json=body, headers=bearer(app, team.author))
    assert first.status_code == 201
    assert first.headers["ETag"] == '"1"'
    note = first.json()
    assert note["id"] == body["id"]
    assert note["title"] == "A hard visit"
    assert note["body"] == body["body"]
    assert note["shared"] is False

    again = await client.post(URL, json=body, headers=bearer(app, team.author))
    assert again.status_code == 200
    assert again.json() == note
    assert await count_rows(db) == 1


async def test_same_id_with_a_different_body_is_a_conflict(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body()
    assert (await client.post(URL, json=body, headers=bearer(app, team.author))).status_code == 201
    changed = {**body, "title": "Another title"}
    response = await client.post(URL, json=changed, headers=bearer(app, team.author))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    # Someone else reusing the id gets the same answer and reads nothing.
    theirs = await client.post(URL, json=body, headers=bearer(app, team.colleague))
    assert theirs.status_code == 409
    got = await client.get(f"{URL}/{body['id']}", headers=bearer(app, team.author))
    assert got.json()["title"] == "A hard visit"
    assert await count_rows(db) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"body": {"no_such_prompt": "x"}},
        {"template": "signs_of_safety", "body": {"scaling": "11"}},
        {"template": "signs_of_safety", "body": {"scaling": "high"}},
        {"template": "signs_of_safety", "body": {"scaling": 11}},
        {"template": "signs_of_safety", "body": {"scaling": -1}},
        {"template": "signs_of_safety", "body": {"scaling": True}},
        {"template": "signs_of_safety", "body": {"scaling": 4.5}},
        {"template": "signs_of_safety", "body": {"worries": 3}},
        {"body": {"text": None}},
        {"tags": ["not-a-tag"]},
        {"tags": ["compassion", "compassion"]},
        {"mood": 9},
        {"title": ""},
        {"title": "x" * 201},
        {"unexpected": True},
        {"id": "not-a-uuid"},
    ],
)
async def test_bad_notes_are_422_and_create_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, change: dict[str, Any]
) -> None:
    team = await make_team(db, app)
    response = await client.post(URL, json=note_body(**change), headers=bearer(app, team.author))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert await count_rows(db) == 0


@pytest.mark.parametrize(
    ("sent", "answered"),
    [(4, 4), (0, 0), (None, None), ("4", 4), ("", None), ("10", 10)],
)
async def test_signs_of_safety_scaling_is_the_scaling_integer(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, sent: object, answered: object
) -> None:
    """Scaling is the same 0-10 integer as a case discussion's; the text form ("4", or "" for
    no answer) that reflections took before issue 17 is still accepted on input."""
    team = await make_team(db, app)
    body = note_body(template="signs_of_safety", body={"worries": "Dad", "scaling": sent})
    response = await client.post(URL, json=body, headers=bearer(app, team.author))
    assert response.status_code == 201
    assert response.json()["body"] == {"worries": "Dad", "scaling": answered}
    got = await client.get(f"{URL}/{body['id']}", headers=bearer(app, team.author))
    assert got.json()["body"]["scaling"] == answered
    # Replaying the create in either form is the same note.
    again = await client.post(URL, json=body, headers=bearer(app, team.author))
    assert again.status_code == 200


async def test_old_and_new_scaling_forms_are_the_same_note(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body(template="signs_of_safety", body={"scaling": "7"})
    assert (await client.post(URL, json=body, headers=bearer(app, team.author))).status_code == 201
    replay = body | {"body": {"scaling": 7}}
    again = await client.post(URL, json=replay, headers=bearer(app, team.author))
    assert again.status_code == 200
    assert again.json()["body"] == {"scaling": 7}


async def test_update_needs_a_fresh_etag(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body()
    await client.post(URL, json=body, headers=bearer(app, team.author))
    update = {k: v for k, v in body.items() if k != "id"} | {"title": "Rewritten"}
    url = f"{URL}/{body['id']}"
    missing = await client.put(url, json=update, headers=bearer(app, team.author))
    assert missing.status_code == 428
    stale = await client.put(
        url, json=update, headers={**bearer(app, team.author), "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    ok = await client.put(url, json=update, headers={**bearer(app, team.author), "If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.headers["ETag"] == '"2"'
    assert ok.json()["title"] == "Rewritten"
    # The ETag that was current before is now stale: the lost update is refused.
    lost = await client.put(
        url,
        json=update | {"title": "Lost"},
        headers={**bearer(app, team.author), "If-Match": '"1"'},
    )
    assert lost.status_code == 412
    got = await client.get(url, headers=bearer(app, team.author))
    assert (got.json()["title"], got.headers["ETag"]) == ("Rewritten", '"2"')
    # Nobody else may update it, even with the right ETag.
    theirs = await client.put(
        url, json=update, headers={**bearer(app, team.supervisor), "If-Match": '"2"'}
    )
    assert theirs.status_code == 404


async def test_delete_leaves_a_tombstone_and_repeats_are_harmless(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body()
    await client.post(URL, json=body, headers=bearer(app, team.author))
    url = f"{URL}/{body['id']}"
    assert (await client.delete(url, headers=bearer(app, team.supervisor))).status_code == 404
    assert (await client.delete(url, headers=bearer(app, team.author))).status_code == 204
    assert (await client.delete(url, headers=bearer(app, team.author))).status_code == 204
    assert (await client.get(url, headers=bearer(app, team.author))).status_code == 404
    assert (await client.get(URL, headers=bearer(app, team.author))).json()["data"] == []
    row = (
        await db.exec(select(Reflection).where(col(Reflection.id) == uuid.UUID(body["id"])))
    ).one()
    assert row.deleted_at is not None
    assert row.content is None
    # A replayed create cannot bring it back.
    replay = await client.post(URL, json=body, headers=bearer(app, team.author))
    assert replay.status_code == 409


async def test_stale_if_match_on_delete_is_refused(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body()
    await client.post(URL, json=body, headers=bearer(app, team.author))
    url = f"{URL}/{body['id']}"
    stale = await client.delete(url, headers={**bearer(app, team.author), "If-Match": '"3"'})
    assert stale.status_code == 412
    assert (await client.get(url, headers=bearer(app, team.author))).status_code == 200


async def test_my_list_is_mine_only_newest_first_and_paged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    clock = app.state.clock
    ids = []
    for i in range(3):
        body = note_body(title=f"Note {i}")
        ids.append(body["id"])
        await client.post(URL, json=body, headers=bearer(app, team.author))
        clock.advance(minutes=1)
    await client.post(URL, json=note_body(), headers=bearer(app, team.colleague))
    first = await client.get(f"{URL}?limit=2", headers=bearer(app, team.author))
    assert [n["id"] for n in first.json()["data"]] == [ids[2], ids[1]]
    cursor = first.json()["next_cursor"]
    second = await client.get(f"{URL}?limit=2&cursor={cursor}", headers=bearer(app, team.author))
    assert [n["id"] for n in second.json()["data"]] == [ids[0]]
    assert second.json()["next_cursor"] is None
    bad = await client.get(f"{URL}?cursor=nonsense", headers=bearer(app, team.author))
    assert bad.status_code == 422


async def shared_note(client: httpx.AsyncClient, app: FastAPI, team: Team, **share: bool) -> str:
    body = note_body()
    await client.post(URL, json=body, headers=bearer(app, team.author))
    response = await client.post(
        f"{URL}/{body['id']}/share", json=share, headers=bearer(app, team.author)
    )
    assert response.status_code == 200
    assert response.json()["shared"] is True
    return str(body["id"])


async def test_author_sees_everything_of_their_own_note(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    note_id = await shared_note(client, app, team)
    got = await client.get(f"{URL}/{note_id}", headers=bearer(app, team.author))
    assert got.status_code == 200
    assert got.json()["body"]["feelings"] == "I felt anxious and unheard."
    assert (await db.exec(select(AccessLog))).all() == []


async def test_supervisor_reads_only_while_shared_and_each_read_is_logged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body()
    await client.post(URL, json=body, headers=bearer(app, team.author))
    url = f"{URL}/{body['id']}"
    assert (await client.get(url, headers=bearer(app, team.supervisor))).status_code == 404

    await client.post(f"{url}/share", json={}, headers=bearer(app, team.author))
    got = await client.get(url, headers=bearer(app, team.supervisor))
    assert got.status_code == 200
    assert got.json()["body"] == body["body"]
    log = await client.get("/api/v1/me/access-log", headers=bearer(app, team.author))
    [entry] = log.json()["data"]
    assert entry["reader_id"] == str(team.supervisor.id)
    assert entry["resource_id"] == body["id"]
    assert entry["reason"] == "shared_with_me"

    unshared = await client.delete(f"{url}/share", headers=bearer(app, team.author))
    assert unshared.status_code == 200
    assert unshared.json()["shared"] is False
    assert (await client.get(url, headers=bearer(app, team.supervisor))).status_code == 404


@pytest.mark.parametrize(
    "who", ["manager", "hr", "admin", "other_supervisor", "colleague", "stranger"]
)
async def test_nobody_else_can_read_a_note_even_when_shared(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, who: str
) -> None:
    team = await make_team(db, app)
    note_id = await shared_note(client, app, team, bring_to_supervision=True)
    someone: Staff = getattr(team, who)
    response = await client.get(f"{URL}/{note_id}", headers=bearer(app, someone))
    assert response.status_code == 404
    mine = await client.get(URL, headers=bearer(app, someone))
    assert mine.json()["data"] == []


async def test_a_supervisor_who_is_replaced_loses_sight_and_the_new_one_gets_none(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    note_id = await shared_note(client, app, team)
    team.author.supervisor_id = team.other_supervisor.id
    await db.flush()
    for supervisor in (team.supervisor, team.other_supervisor):
        got = await client.get(f"{URL}/{note_id}", headers=bearer(app, supervisor))
        assert got.status_code == 404
        listed = await client.get(f"{URL}/shared-with-me", headers=bearer(app, supervisor))
        assert listed.json()["data"] == []


async def test_shared_with_me_lists_supervisees_shared_notes_and_logs_each(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    shared = await shared_note(client, app, team, bring_to_supervision=True)
    await client.post(URL, json=note_body(), headers=bearer(app, team.author))  # private
    response = await client.get(f"{URL}/shared-with-me", headers=bearer(app, team.supervisor))
    assert response.status_code == 200
    [note] = response.json()["data"]
    assert (note["id"], note["bring_to_supervision"]) == (shared, True)
    assert note["author_id"] == str(team.author.id)
    logged = (
        await db.exec(select(AccessLog).where(col(AccessLog.reader_id) == team.supervisor.id))
    ).all()
    assert [(e.subject_id, str(e.resource_id)) for e in logged] == [(team.author.id, shared)]

    for who in (team.author, team.hr, team.admin, team.manager):
        refused = await client.get(f"{URL}/shared-with-me", headers=bearer(app, who))
        assert refused.status_code == 403
    other = await client.get(f"{URL}/shared-with-me", headers=bearer(app, team.other_supervisor))
    assert other.json()["data"] == []


async def test_sharing_without_a_supervisor_is_refused(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body()
    await client.post(URL, json=body, headers=bearer(app, team.hr))
    response = await client.post(f"{URL}/{body['id']}/share", json={}, headers=bearer(app, team.hr))
    assert response.status_code == 422
    got = await client.get(f"{URL}/{body['id']}", headers=bearer(app, team.hr))
    assert got.json()["shared"] is False
    # Only the author shares or unshares.
    mine = await shared_note(client, app, team)
    for verb in ("post", "delete"):
        kwargs: dict[str, Any] = {"json": {}} if verb == "post" else {}
        attempt = await getattr(client, verb)(
            f"{URL}/{mine}/share", headers=bearer(app, team.supervisor), **kwargs
        )
        assert attempt.status_code == 404


async def test_the_table_holds_no_plaintext(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    body = note_body(title="Elm Street worries", tags=["trauma_informed"], mood=1)
    await client.post(URL, json=body, headers=bearer(app, team.author))
    raw = (await db.exec(sa.text("SELECT * FROM reflections"))).all()  # type: ignore[call-overload]
    assert len(raw) == 1
    dump = " ".join(str(value) for value in raw[0])
    for secret in ("Elm Street", "anxious", "trauma_informed", "compassion", "feelings"):
        assert secret not in dump
    assert "v1.k1." in dump


async def test_the_largest_note_fits_and_reads_back_whole(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    worst = "\x01" * 10_000  # escaped as \u0001 in JSON: the most bytes per character
    prompts = ["description", "feelings", "evaluation", "analysis", "conclusion", "action_plan"]
    body = note_body(title="😀" * 200, body=dict.fromkeys(prompts, worst), tags=list(ReflectionTag))
    created = await client.post(URL, json=body, headers=bearer(app, team.author))
    assert created.status_code == 201
    got = await client.get(f"{URL}/{body['id']}", headers=bearer(app, team.author))
    assert got.json()["body"] == body["body"]
    assert got.json()["title"] == "😀" * 200


async def test_only_an_active_member_named_by_a_valid_token_writes_a_note(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """The caller is checked with the write (by the INSERT itself on PostgreSQL): a
    deactivated person's valid token is refused with 401 and nothing written (a new note, a
    repeat of one made while active, or another note under its id: 401, not 409), as is a
    token naming the person in an organisation they are not in; no token or a bad one,
    before the body is looked at."""
    now = now_of(app)
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    made = note_body()
    assert (await client.post(URL, json=made, headers=bearer(app, me))).status_code == 201
    assert await count_rows(db) == 1
    assert await count_changes(db) == 1
    assert (await client.post(URL, json=note_body())).status_code == 401
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (await client.post(URL, json={}, headers=bad_token)).status_code == 401
    tokens: AccessTokens = app.state.tokens
    elsewhere = (await make_org(db, now=now)).id
    wrong_org = {"Authorization": f"Bearer {tokens.issue(me.id, elsewhere, now)}"}
    for body in (note_body(), made):
        assert (await client.post(URL, json=body, headers=wrong_org)).status_code == 401

    me.active = False
    await db.flush()
    headers = bearer(app, me)
    for body in (note_body(), made, made | {"title": "Another note under its id"}):
        refused = await client.post(URL, json=body, headers=headers)
        assert refused.status_code == 401, body
        assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert await count_rows(db) == 1
    assert await count_changes(db) == 1
    # A body that does not parse is answered 422 before the caller is read (as a check-in's
    # and `GET /sync`'s are): nothing is written either way.
    assert (await client.post(URL, json={}, headers=headers)).status_code == 422
    assert await count_rows(db) == 1
