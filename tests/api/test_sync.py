"""`GET /sync`: one cursor over what I may see, server-ordered, with tombstones."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import AccessTokens
from models import changes as changes_module
from models.access_log import AccessLog
from models.actor import Actor
from models.changes import (
    MOVED_SINCE,
    AnswersMoved,
    ChangeOp,
    FeedPage,
    MovedSince,
    Renderer,
    Shown,
    record_change,
    seq_cursor,
    sync_feed,
)
from models.db import ReadMostly, read_mostly, session_scope
from models.directory.organisation import Organisation
from models.directory.staff import Staff
from models.pagination import decode_cursor, encode_cursor
from tests.api.test_reflections import Team, make_team
from tests.conftest import ON_POSTGRESQL_ONLY
from tests.factories.directory import bearer, make_org, make_staff, now_of
from tests.factories.reflections import note_body
from tests.harness import Committed

SYNC = "/api/v1/sync"
URL = "/api/v1/reflections"


async def drain(
    client: httpx.AsyncClient, app: FastAPI, who: Staff, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str]:
    """Page through the feed until has_more is false; returns the changes and the cursor."""
    changes: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(SYNC, params=params, headers=bearer(app, who))
        assert response.status_code == 200
        page = response.json()
        changes.extend(page["changes"])
        cursor = page["next_cursor"]
        assert cursor
        if not page["has_more"]:
            return changes, cursor


def ops(changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["id"], c["op"]) for c in changes]


async def write(client: httpx.AsyncClient, app: FastAPI, team: Team, **fields: Any) -> str:
    body = note_body(**fields)
    response = await client.post(URL, json=body, headers=bearer(app, team.author))
    assert response.status_code == 201
    return str(body["id"])


async def test_empty_feed_still_gives_a_cursor_to_resume_from(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    changes, cursor = await drain(client, app, team.author)
    assert changes == []
    note = await write(client, app, team)
    later, _ = await drain(client, app, team.author, cursor)
    assert ops(later) == [(note, "upsert")]
    assert later[0]["type"] == "reflection"
    assert later[0]["data"]["title"] == "A hard visit"


async def test_pages_follow_server_order_and_each_change_comes_once(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    notes = [await write(client, app, team, title=f"Note {i}") for i in range(5)]
    first = await client.get(SYNC, params={"limit": 2}, headers=bearer(app, team.author))
    page = first.json()
    assert [c["id"] for c in page["changes"]] == notes[:2]
    assert page["has_more"] is True
    rest, cursor = await drain(client, app, team.author, page["next_cursor"], limit=2)
    assert [c["id"] for c in rest] == notes[2:]
    # Nothing new: the same cursor answers nothing, and again nothing.
    assert (await drain(client, app, team.author, cursor))[0] == []
    # An edit after I synced comes again, once, with the new content.
    etag = '"1"'
    update = {k: v for k, v in note_body(title="Edited").items() if k != "id"}
    put = await client.put(
        f"{URL}/{notes[0]}", json=update, headers={**bearer(app, team.author), "If-Match": etag}
    )
    assert put.status_code == 200
    again, _ = await drain(client, app, team.author, cursor)
    assert ops(again) == [(notes[0], "upsert")]
    assert again[0]["data"]["title"] == "Edited"


async def test_a_note_edited_several_times_before_a_sync_comes_once(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    note = await write(client, app, team)
    update = {k: v for k, v in note_body().items() if k != "id"}
    for version in (1, 2, 3):
        await client.put(
            f"{URL}/{note}",
            json=update | {"title": f"v{version + 1}"},
            headers={**bearer(app, team.author), "If-Match": f'"{version}"'},
        )
    changes, _ = await drain(client, app, team.author)
    assert ops(changes) == [(note, "upsert")]
    assert changes[0]["data"]["version"] == 4


async def test_deletes_come_as_tombstones_for_author_and_supervisor(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    note = await write(client, app, team)
    await client.post(f"{URL}/{note}/share", json={}, headers=bearer(app, team.author))
    _, author_cursor = await drain(client, app, team.author)
    seen, supervisor_cursor = await drain(client, app, team.supervisor)
    assert ops(seen) == [(note, "upsert")]
    assert (
        await client.delete(f"{URL}/{note}", headers=bearer(app, team.author))
    ).status_code == 204
    for who, cursor in ((team.author, author_cursor), (team.supervisor, supervisor_cursor)):
        changes, _ = await drain(client, app, who, cursor)
        assert changes == [
            {"type": "tombstone", "op": "delete", "entity": "reflection", "id": note, "data": None}
        ]


async def test_unsharing_sends_the_supervisor_a_tombstone(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    private = await write(client, app, team)
    shared = await write(client, app, team)
    before, cursor = await drain(client, app, team.supervisor)
    assert before == []
    await client.post(f"{URL}/{shared}/share", json={}, headers=bearer(app, team.author))
    seen, cursor = await drain(client, app, team.supervisor, cursor)
    assert ops(seen) == [(shared, "upsert")]
    assert seen[0]["data"]["body"]["feelings"] == "I felt anxious and unheard."
    # The supervisor receiving it through sync is a read of the author's data.
    logged = (
        await db.exec(select(AccessLog).where(col(AccessLog.reader_id) == team.supervisor.id))
    ).all()
    assert [str(e.resource_id) for e in logged] == [shared]

    await client.delete(f"{URL}/{shared}/share", headers=bearer(app, team.author))
    gone, _ = await drain(client, app, team.supervisor, cursor)
    assert gone == [
        {"type": "tombstone", "op": "delete", "entity": "reflection", "id": shared, "data": None}
    ]
    # The author's own feed shows the note still there, now unshared.
    mine, _ = await drain(client, app, team.author)
    assert ops(mine) == [(private, "upsert"), (shared, "upsert")]
    assert mine[1]["data"]["shared"] is False


async def test_a_supervisor_replaced_after_a_share_gets_a_tombstone_not_the_note(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    note = await write(client, app, team)
    await client.post(f"{URL}/{note}/share", json={}, headers=bearer(app, team.author))
    team.author.supervisor_id = team.other_supervisor.id
    await db.flush()
    changes, _ = await drain(client, app, team.supervisor)
    assert changes == [
        {"type": "tombstone", "op": "delete", "entity": "reflection", "id": note, "data": None}
    ]
    assert (await drain(client, app, team.other_supervisor))[0] == []


async def test_a_supervisor_replaced_after_syncing_a_shared_note_gets_a_tombstone(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    note = await write(client, app, team)
    await client.post(f"{URL}/{note}/share", json={}, headers=bearer(app, team.author))
    synced, cursor = await drain(client, app, team.supervisor)
    assert ops(synced) == [(note, "upsert")]
    # An admin moves the author to another supervisor: the note itself does not change.
    admin = bearer(app, team.admin)
    staff_url = f"/api/v1/staff/{team.author.id}"
    etag = (await client.get(staff_url, headers=admin)).headers["ETag"]
    moved = await client.patch(
        staff_url,
        json={"supervisor_id": str(team.other_supervisor.id)},
        headers={**admin, "If-Match": etag},
    )
    assert moved.status_code == 200
    changes, cursor = await drain(client, app, team.supervisor, cursor)
    assert changes == [
        {"type": "tombstone", "op": "delete", "entity": "reflection", "id": note, "data": None}
    ]
    assert (await drain(client, app, team.supervisor, cursor))[0] == []
    assert (await drain(client, app, team.other_supervisor))[0] == []
    # The author's own feed is untouched by the move.
    mine, _ = await drain(client, app, team.author)
    assert ops(mine) == [(note, "upsert")]


async def test_others_never_see_my_changes(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    note = await write(client, app, team)
    await client.post(
        f"{URL}/{note}/share", json={"bring_to_supervision": True}, headers=bearer(app, team.author)
    )
    for who in (
        team.manager,
        team.hr,
        team.admin,
        team.other_supervisor,
        team.colleague,
        team.stranger,
    ):
        assert (await drain(client, app, who))[0] == []


async def test_bad_cursors_are_422(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    for cursor in ("%%%", "eyJzZXEiOiJ4In0", "eyJzZXEiOi0xfQ", "W10"):
        response = await client.get(
            SYNC, params={"cursor": cursor}, headers=bearer(app, team.author)
        )
        assert response.status_code == 422, cursor
        assert response.headers["content-type"] == "application/problem+json"
    assert (
        await client.get(SYNC, params={"limit": 0}, headers=bearer(app, team.author))
    ).status_code == 422
    assert (await client.get(SYNC)).status_code == 401


async def test_the_caller_is_checked_before_the_page_and_its_parameters(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """The caller is read with the page (one statement): a deactivated person, or a token
    naming someone in another organisation, is refused as before, a bad cursor too; a
    missing token is refused before the parameters are looked at."""
    team = await make_team(db, app)
    await write(client, app, team)
    assert (await client.get(SYNC, params={"limit": 0})).status_code == 401
    assert (await client.get(SYNC, params={"cursor": "%%%"})).status_code == 401
    stranger_here = team.stranger
    page = await client.get(SYNC, headers=bearer(app, stranger_here))
    assert page.status_code == 200
    assert page.json()["changes"] == []  # nothing of the other organisation
    team.author.active = False
    await db.flush()
    for params in ({}, {"cursor": "%%%"}):
        refused = await client.get(SYNC, params=params, headers=bearer(app, team.author))
        assert refused.status_code == 401, params
        assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    # A valid token for a person of one organisation naming another (never issued).
    tokens: AccessTokens = app.state.tokens
    elsewhere = tokens.issue(team.colleague.id, stranger_here.organisation_id, now_of(app))
    refused = await client.get(SYNC, headers={"Authorization": f"Bearer {elsewhere}"})
    assert refused.status_code == 401


async def test_outside_the_tests_transaction_reads_and_writes_are_as_before(
    committed: Committed,
) -> None:
    """With real sessions (not the test transaction) a sync page reads without BEGIN on
    PostgreSQL until something writes (`read_mostly`): what a supervisor's read
    records (the access log) and what a reconciler records (a tombstone) must still be
    committed, and the page read after the tombstone must carry it."""
    app = committed.app()
    async with session_scope(committed.sessions) as db:
        team = await make_team(db, app)
        for member in (team.author, team.stranger):
            org = await db.get(Organisation, member.organisation_id)
            assert org is not None
            committed.track(org)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        note = await write(client, app, team)
        shared = await client.post(f"{URL}/{note}/share", json={}, headers=bearer(app, team.author))
        assert shared.status_code == 200
        mine, _ = await drain(client, app, team.author)  # writes nothing
        assert ops(mine) == [(note, "upsert")]
        synced, cursor = await drain(client, app, team.supervisor)
        assert ops(synced) == [(note, "upsert")]
        async with session_scope(committed.sessions) as db:
            logged = await db.exec(
                select(AccessLog).where(col(AccessLog.reader_id) == team.supervisor.id)
            )
            assert [str(e.resource_id) for e in logged.all()] == [note]
            author = await db.get(Staff, team.author.id)
            assert author is not None
            author.supervisor_id = team.other_supervisor.id  # not a change to the note
        changes, cursor = await drain(client, app, team.supervisor, cursor)
        assert changes == [
            {"type": "tombstone", "op": "delete", "entity": "reflection", "id": note, "data": None}
        ]
        assert (await drain(client, app, team.supervisor, cursor))[0] == []
        # A refused caller and a bad cursor leave nothing open behind them.
        assert (await client.get(SYNC)).status_code == 401
        bad = await client.get(SYNC, params={"cursor": "x"}, headers=bearer(app, team.author))
        assert bad.status_code == 422
        assert ops((await drain(client, app, team.author))[0]) == [(note, "upsert")]


async def _things_on_a_feed(
    committed: Committed, *entity_types: str
) -> tuple[Organisation, Staff, list[uuid.UUID]]:
    """A person with one committed change each for entities of `entity_types`, in order."""
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        me = await make_staff(db, org, now=now)
    ids = [uuid.uuid4() for _ in entity_types]
    for entity_type, entity_id in zip(entity_types, ids, strict=True):
        await _bump(committed, org, me, entity_type, entity_id)
    return org, me, ids


async def _bump(
    committed: Committed, org: Organisation, me: Staff, entity_type: str, entity_id: uuid.UUID
) -> None:
    """Another writer's committed change to `entity_id` (it moves to a new sequence)."""
    async with session_scope(committed.sessions) as other:
        await record_change(
            other,
            org.id,
            entity_type,
            entity_id,
            ChangeOp.upsert,
            [me.id],
            committed.clock(),
            owners=[me.id],
        )


def _feed_reader(
    committed: Committed,
    org: Organisation,
    me: Staff,
    renderers: Mapping[str, Renderer | AnswersMoved],
) -> Callable[[str | None], Awaitable[FeedPage]]:
    """`read(cursor)`: the page the phone gets (`sync_feed`), with real commits."""

    async def read(cursor: str | None) -> FeedPage:
        page = await sync_feed(
            committed.sessions,
            org.id,
            me.id,
            cursor=cursor,
            limit=50,
            renderers=renderers,
            now=committed.clock(),
        )
        assert page is not None
        return page

    return read


def _show_things(
    during: Callable[[], Awaitable[None]] | None = None, order: list[str] | None = None
) -> Renderer:
    """A renderer showing each id as a "thing"; `during()` runs in its first render, and
    each render is noted in `order`."""
    pending = [during] if during is not None else []

    async def render(
        _session: AsyncSession, _actor: Actor, wanted: Sequence[uuid.UUID], _now: datetime
    ) -> Mapping[uuid.UUID, BaseModel | Shown]:
        if order is not None:
            order.append("thing")
        while pending:
            await pending.pop()()
        return {i: Shown("thing", {"id": i}) for i in wanted}

    return render


@ON_POSTGRESQL_ONLY
async def test_an_entity_changed_between_the_page_and_its_render_comes_once(
    committed: Committed,
) -> None:
    """A change committing after the page is read and before its entities are rendered:
    the entity is not sent on this page (what was rendered may already be the newer state)
    but with its new change, on the next page. PostgreSQL only: on SQLite the render's
    transaction holds the writer back, so this cannot happen there (the next test covers
    the moment that can)."""
    org, me, ids = await _things_on_a_feed(committed, "thing", "thing", "thing")
    render = _show_things(during=lambda: _bump(committed, org, me, "thing", ids[1]))
    read = _feed_reader(committed, org, me, {"thing": render})

    first = await read(None)
    assert [c.id for c in first.changes] == [ids[0], ids[2]]
    second = await read(first.next_cursor)
    assert [c.id for c in second.changes] == [ids[1]]
    assert (await read(second.next_cursor)).changes == []


async def test_an_entity_changed_between_the_page_and_the_unit_of_work_comes_once(
    committed: Committed, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page is read before the rest of it (`sync_feed`): a change committing in
    between is not sent on this page but on the next, on both databases. On PostgreSQL the
    rest goes on from the page's read on the same connection, outside a transaction block
    (`read_keeping`); on SQLite the unit of work that renders it opens after the read
    (this is the one moment another writer can commit there)."""
    org, me, ids = await _things_on_a_feed(committed, "thing", "thing", "thing")
    bumps = [ids[1]]

    async def bump() -> None:
        while bumps:
            await _bump(committed, org, me, "thing", bumps.pop())

    if backend == "postgresql":
        rest = changes_module._rest_of_feed

        async def bumped_first(unit: ReadMostly, *args: Any, **kwargs: Any) -> FeedPage:
            await bump()
            return await rest(unit, *args, **kwargs)

        monkeypatch.setattr("models.changes._rest_of_feed", bumped_first)
    else:
        opened = read_mostly

        @asynccontextmanager
        async def bumped_before(factory: Any) -> AsyncIterator[Any]:
            await bump()
            async with opened(factory) as unit:
                yield unit

        monkeypatch.setattr("models.changes.read_mostly", bumped_before)
    read = _feed_reader(committed, org, me, {"thing": _show_things()})

    first = await read(None)
    assert not bumps
    assert [c.id for c in first.changes] == [ids[0], ids[2]]
    second = await read(first.next_cursor)
    assert [c.id for c in second.changes] == [ids[1]]
    assert (await read(second.next_cursor)).changes == []


@contextmanager
def checkouts(engine: AsyncEngine) -> Iterator[list[object]]:
    """The connections taken from `engine`'s pool meanwhile (one entry a checkout)."""
    taken: list[object] = []

    def checked_out(dbapi_connection: object, *_args: object) -> None:
        taken.append(dbapi_connection)

    event.listen(engine.sync_engine, "checkout", checked_out)
    try:
        yield taken
    finally:
        event.remove(engine.sync_engine, "checkout", checked_out)


async def test_a_page_with_rows_takes_one_pooled_connection(
    committed: Committed, backend: str
) -> None:
    """On PostgreSQL a page's renders go on from its first read on the same connection
    (`read_keeping`): one checkout a page, up to date or not (two, one after the other,
    waited for twice in the pool's queue under load). On SQLite the unit of work is a
    transaction opened after the read, on a connection of its own."""
    org, me, ids = await _things_on_a_feed(committed, "thing", "thing")
    read = _feed_reader(committed, org, me, {"thing": _show_things()})
    with checkouts(committed.engine) as taken:
        page = await read(None)
    assert [c.id for c in page.changes] == ids
    assert len(taken) == (1 if backend == "postgresql" else 2)
    with checkouts(committed.engine) as taken:
        assert (await read(page.next_cursor)).changes == []
    assert len(taken) == 1


@ON_POSTGRESQL_ONLY
@pytest.mark.parametrize("answers", [True, False])
async def test_the_last_render_answers_moved_since_read(
    committed: Committed, answers: bool
) -> None:
    """A renderer that can answer "moved since read" from its own statement (`AnswersMoved`)
    is run last, after one that comes later on the page, so a change committing during an
    earlier render is still seen (PostgreSQL). One whose statement finds nothing leaves the
    question to the feed's own statement, with the same outcome."""
    org, me, [probed, *ids] = await _things_on_a_feed(
        committed, "probed", "thing", "thing", "thing"
    )
    order: list[str] = []
    render = _show_things(during=lambda: _bump(committed, org, me, "thing", ids[1]), order=order)

    async def render_answering(
        session: AsyncSession,
        _actor: Actor,
        wanted: Sequence[uuid.UUID],
        _now: datetime,
        moved: MovedSince | None,
    ) -> Mapping[uuid.UUID, BaseModel | Shown]:
        order.append("probed")
        assert moved is not None
        if answers:
            connection = await session.connection()
            rows = (await connection.execute(sa.select(MOVED_SINCE), moved.params)).all()
            moved.answer(rows)
            assert moved.found is not None
        return {i: Shown("probed", {"id": i}) for i in wanted}

    read = _feed_reader(
        committed, org, me, {"thing": render, "probed": AnswersMoved(render_answering)}
    )

    first = await read(None)
    assert order == ["thing", "probed"]
    assert [c.id for c in first.changes] == [probed, ids[0], ids[2]]
    second = await read(first.next_cursor)
    assert [c.id for c in second.changes] == [ids[1]]
    assert (await read(second.next_cursor)).changes == []


@pytest.mark.parametrize("seq", [0, 1, 9, 10, 255, 65_536, 2**40, 2**63 - 1])
def test_the_feeds_cursor_is_the_listings_cursor(seq: int) -> None:
    """`seq_cursor` writes the cursor `encode_cursor` writes, and it reads back."""
    assert seq_cursor(seq) == encode_cursor({"seq": seq})
    assert decode_cursor(seq_cursor(seq)) == {"seq": seq}
