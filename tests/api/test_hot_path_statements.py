"""The phone's hot paths make a fixed, counted set of SQL statements.

Each test counts the statements one request sends on the test's connection and asserts the
exact list (so the count), on SQLite and on PostgreSQL. A change that adds a query to a hot
path fails here, not in a benchmark (`make bench-load`, docs/PERFORMANCE.md). The
harness's SAVEPOINT / RELEASE around each request are left out: the app sends BEGIN and
COMMIT there instead, outside the statement stream.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from api.security import Passwords
from models.changes import UNASSIGNED, Change
from models.db import create_engine, create_session_factory, session_scope
from models.directory.organisation import Organisation
from models.directory.staff import Role, Staff
from models.reflection import Reflection
from models.wellbeing import CheckIn
from tests.conftest import FrozenClock
from tests.factories.analytics import PLAIN_RHO, publish, set_privacy
from tests.factories.directory import (
    PASSWORD,
    bearer,
    make_org,
    make_staff,
    make_unit,
    now_of,
    password_login,
)
from tests.factories.reflections import note_body
from tests.factories.wellbeing import make_checkin, pulse_answers
from tests.harness import Committed, supervised_pair
from wellbeing import checkins

CHECKINS = "/api/v1/wellbeing/checkins"
NOTES = "/api/v1/reflections"
# The statements every authenticated request starts with: the caller's staff row.
AUTH = ["SELECT staff"]


def _summary(sql: str) -> str:
    """`VERB table` of one statement (enough to tell the statements of a path apart)."""
    text = " ".join(sql.split())
    if text.startswith("WITH RECURSIVE up") and "wellbeing_settings" in text:
        return "SELECT check-in context"
    if text.startswith("WITH RECURSIVE up"):
        return "SELECT units (path up the tree)"
    if text.startswith("SELECT page.id") and " FROM staff " in text:
        return "SELECT staff and changes"  # the sync feed's caller and page
    answers_moved = re.match(r"^SELECT (\w+)\.", text)
    if answers_moved and " AS moved_since" in text:
        # A render that also says which of the page's rows moved since it was read.
        return f"SELECT {answers_moved.group(1)} and moved since read"
    created = re.match(
        r"^WITH created_(\w+) AS \(INSERT INTO (\w+) .*\) INSERT INTO changes ", text
    )
    if created and created.group(1) == created.group(2):
        return f"INSERT {created.group(1)} and its change"
    for pattern in (
        r"^(INSERT) INTO (\w+)",
        r"^(UPDATE) (\w+)",
        r"^(DELETE) FROM (\w+)",
        r"^(SELECT) .*? FROM (\w+)",
    ):
        found = re.match(pattern, text)
        if found:
            return f"{found.group(1)} {found.group(2)}"
    return text[:40]


@contextmanager
def counting(connection: AsyncConnection) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(*args: Any) -> None:
        sql = str(args[2])
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            statements.append(_summary(sql))

    target = connection.sync_connection
    assert target is not None
    event.listen(target, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(target, "before_cursor_execute", before)


def _created(table: str, backend: str) -> list[str]:
    """A new entity's insert, with its owner's change: in the insert's own statement on
    PostgreSQL (a data-modifying CTE, `models.changes.logged_insert`), after it on SQLite."""
    if backend == "postgresql":
        return [f"INSERT {table} and its change"]
    return [f"INSERT {table}", *_log(backend)]


def _log(backend: str) -> list[str]:
    """Recording a change: the readers' rows on PostgreSQL (numbered at commit, by the
    trigger of migration 0014); the counter, then the rows, on SQLite."""
    if backend == "postgresql":
        return ["INSERT changes"]
    return ["UPDATE change_counters", "INSERT changes"]


@dataclass
class Team:
    org: Organisation
    supervisor: Staff
    me: Staff
    path: list[str]


async def _team(db: AsyncSession, app: FastAPI) -> Team:
    """A practitioner three units deep, with a supervisor; the organisation's first change
    is made, so its change counter exists (as in any organisation in use)."""
    now = now_of(app)
    org = await make_org(db, now=now)
    top = await make_unit(db, org, now=now)
    service = await make_unit(db, org, parent=top, now=now)
    team = await make_unit(db, org, parent=service, now=now)
    for _ in range(20):  # the rest of the tree, which a check-in no longer reads
        await make_unit(db, org, parent=service, now=now)
    passwords: Passwords = app.state.passwords
    supervisor = await make_staff(db, org, Role.supervisor, unit=team, now=now)
    me = await make_staff(
        db,
        org,
        unit=team,
        supervisor=supervisor,
        password_hash=passwords.hash(PASSWORD),
        now=now,
    )
    return Team(org, supervisor, me, [str(top.id), str(service.id), str(team.id)])


def _checkin(**changes: Any) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "instrument": "pulse", "answers": pulse_answers(14)}
    return body | changes


async def test_a_checkin_is_one_read_and_its_insert(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    connection: AsyncConnection,
    backend: str,
) -> None:
    t = await _team(db, app)
    headers = bearer(app, t.me)
    assert (await client.post(CHECKINS, json=_checkin(), headers=headers)).status_code == 201
    with counting(connection) as statements:
        response = await client.post(CHECKINS, json=_checkin(), headers=headers)
    assert response.status_code == 201
    stored = await db.get(CheckIn, uuid.UUID(response.json()["id"]))
    assert stored is not None
    assert stored.unit_path == t.path  # top of the tree down to the caller's team
    assert statements == [
        # One read: the caller (the token's person, if still active: no separate read), the
        # share days and the EAP contact (signposting), the support text for the band
        # scored, and the path up the tree (never the whole tree).
        "SELECT check-in context",
        # ON CONFLICT DO NOTHING: no lookup before it; the change log in the same statement
        # on PostgreSQL
        *_created("wellbeing_checkins", backend),
    ]


async def test_a_shared_checkin_adds_only_the_share(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    connection: AsyncConnection,
    backend: str,
) -> None:
    t = await _team(db, app)
    headers = bearer(app, t.me)
    assert (await client.post(CHECKINS, json=_checkin(), headers=headers)).status_code == 201
    # (Saying "I'd like to talk" as well raises a talk request, issue 16's aggregate, with
    # statements of its own; this counts the share.)
    body = _checkin(share_with_supervisor=True)
    with counting(connection) as statements:
        response = await client.post(CHECKINS, json=body, headers=headers)
    assert response.status_code == 201
    assert response.json()["shared_with_supervisor"] is True
    assert statements == [
        "SELECT check-in context",  # the caller with it (no read of its own)
        *(
            # The owner's change with the check-in, the supervisor's after the share
            ["INSERT wellbeing_checkins and its change", "INSERT wellbeing_checkin_shares"]
            if backend == "postgresql"
            else ["INSERT wellbeing_checkins", "INSERT wellbeing_checkin_shares"]
        ),
        *_log(backend),  # the readers in one statement (on SQLite both)
    ]


async def test_a_repeated_checkin_reads_what_it_made(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    connection: AsyncConnection,
    backend: str,
) -> None:
    t = await _team(db, app)
    headers = bearer(app, t.me)
    body = _checkin()
    first = await client.post(CHECKINS, json=body, headers=headers)
    with counting(connection) as statements:
        again = await client.post(CHECKINS, json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    # The caller is read with the context: no read of its own.
    assert statements == [
        "SELECT check-in context",
        *_created("wellbeing_checkins", backend)[:1],  # conflicts: nothing logged
        "SELECT wellbeing_checkins",
        "SELECT wellbeing_checkin_shares",
    ]


async def test_a_new_note_is_one_statement_and_an_edit_four(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    connection: AsyncConnection,
    backend: str,
) -> None:
    t = await _team(db, app)
    headers = bearer(app, t.me)
    assert (await client.post(NOTES, json=note_body(), headers=headers)).status_code == 201
    body = note_body()
    with counting(connection) as statements:
        created = await client.post(NOTES, json=body, headers=headers)
    assert created.status_code == 201
    if backend == "postgresql":
        # The INSERT checks the caller is active itself (`create_once_as`): no read first.
        assert statements == ["INSERT reflections and its change"]
    else:
        assert statements == [*AUTH, *_created("reflections", backend)]

    # A repeat: the insert does nothing, and one read (of the note, only while the caller
    # is active) tells a repeat from a refused caller.
    with counting(connection) as statements:
        again = await client.post(NOTES, json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == created.json()
    assert again.headers["ETag"] == created.headers["ETag"]
    if backend == "postgresql":
        assert statements == ["INSERT reflections and its change", "SELECT reflections"]
    else:
        assert statements == [*AUTH, "INSERT reflections", "SELECT reflections"]

    del body["id"]
    edit = headers | {"If-Match": created.headers["ETag"]}
    with counting(connection) as statements:
        updated = await client.put(f"{NOTES}/{created.json()['id']}", json=body, headers=edit)
    assert updated.status_code == 200
    assert statements == [
        *AUTH,
        "SELECT reflections",  # FOR UPDATE: the version the If-Match is checked against
        "UPDATE reflections",
        *_log(backend),
    ]


async def test_a_sync_page_is_a_fixed_set_of_statements_whatever_the_history(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    connection: AsyncConnection,
    backend: str,
) -> None:
    t = await _team(db, app)
    headers = bearer(app, t.me)
    first_page: list[list[str]] = []
    for size in (2, 8):
        for n in range(size):
            # Three bands on the page (struggling, getting by, doing well).
            body = _checkin(share_with_supervisor=n == 0, answers=pulse_answers(5 + 10 * (n % 3)))
            assert (await client.post(CHECKINS, json=body, headers=headers)).status_code == 201
            assert (await client.post(NOTES, json=note_body(), headers=headers)).status_code == 201
        with counting(connection) as statements:
            page = await client.get("/api/v1/sync?limit=50", headers=headers)
        assert page.status_code == 200
        first_page.append(statements)
        assert statements == [
            # The caller (are they still active?), the page, and whether anything is there
            # to reconcile (nothing: all the caller's own), in one statement.
            "SELECT staff and changes",
            # With their shares, the texts for their bands (was one read each, then one
            # more statement) and the organisation's contact for the signposting, joined.
            "SELECT wellbeing_checkins",
            # The notes, rendered last, and (PostgreSQL) whether any of the page's rows
            # moved to a later change since it was read, in one statement; on SQLite that
            # is a statement of its own.
            *(
                ["SELECT reflections and moved since read"]
                if backend == "postgresql"
                else ["SELECT reflections", "SELECT changes"]
            ),
        ]
        with counting(connection) as statements:
            cursor = page.json()["next_cursor"]
            current = await client.get(f"/api/v1/sync?cursor={cursor}", headers=headers)
        assert current.status_code == 200
        assert current.json()["changes"] == []
        assert statements == ["SELECT staff and changes"]  # up to date: one statement
    assert first_page[0] == first_page[1]


async def test_a_supervisor_sync_still_runs_the_reconcilers(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    connection: AsyncConnection,
) -> None:
    t = await _team(db, app)
    body = _checkin(share_with_supervisor=True)
    assert (await client.post(CHECKINS, json=body, headers=bearer(app, t.me))).status_code == 201
    with counting(connection) as statements:
        page = await client.get("/api/v1/sync", headers=bearer(app, t.supervisor))
    assert page.status_code == 200
    assert [c["id"] for c in page.json()["changes"]] == [body["id"]]
    # The supervisor sees someone else's check-in: the page says so, and the reconcilers
    # look (and find nothing, so the page is not read again).
    # (Notes, sessions, actions, check-ins, talk requests, incidents: six reads.)
    assert statements[:7] == ["SELECT staff and changes", *["SELECT changes"] * 6]
    assert statements[7:].count("SELECT changes") == 1  # moved since read


async def test_me_is_one_statement(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, connection: AsyncConnection
) -> None:
    t = await _team(db, app)
    with counting(connection) as statements:
        response = await client.get("/api/v1/me", headers=bearer(app, t.me))
    assert response.status_code == 200
    assert statements == AUTH


async def test_a_token_refresh_is_four_statements(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, connection: AsyncConnection
) -> None:
    t = await _team(db, app)
    login = await password_login(client, t.me.email)
    token = login.json()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": token}
    with counting(connection) as statements:
        response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 200
    assert statements == [
        "SELECT refresh_tokens",
        "UPDATE refresh_tokens",  # spent: the conditional UPDATE a racing reuse loses
        "SELECT staff",
        "INSERT refresh_tokens",
    ]


async def test_me_outside_a_transaction_still_checks_the_token_and_the_person(
    committed: Committed,
) -> None:
    """With real sessions (not the test transaction) `GET /me` reads without BEGIN/COMMIT
    on PostgreSQL: it must answer exactly as before, and refuse a deactivated person."""
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        me = await make_staff(db, org, now=now)
        gone = await make_staff(db, org, active=False, now=now)
    app = committed.app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/api/v1/me", headers=bearer(app, me))
        assert response.status_code == 200
        assert response.json()["id"] == str(me.id)
        assert response.json()["email"] == me.email
        refused = await client.get("/api/v1/me", headers=bearer(app, gone))
        assert refused.status_code == 401
        assert (await client.get("/api/v1/me")).status_code == 401
        # The pooled connection went back clean: a write in the next request commits.
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "instrument": "pulse",
            "answers": pulse_answers(14),
        }
        created = await client.post(CHECKINS, json=body, headers=bearer(app, me))
        assert created.status_code == 201
    async with session_scope(committed.sessions) as db:
        assert await db.get(CheckIn, uuid.UUID(body["id"])) is not None


async def test_an_analytics_read_is_a_fixed_set_of_statements_whatever_the_tree(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    connection: AsyncConnection,
    clock: FrozenClock,
) -> None:
    """HR's wellbeing by unit reads the asked node and its children only (issue 14, item 5):
    the rest of the published tree is neither fetched nor filtered in Python."""
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=PLAIN_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    top = await make_unit(db, org, "Directorate", now=now)
    for n in range(6):  # services under the directorate, a team under each: not asked for
        service = await make_unit(db, org, f"Service {n}", parent=top, now=now)
        team = await make_unit(db, org, f"Team {n}", parent=service, now=now)
        for _ in range(2):
            person = await make_staff(db, org, unit=team, now=now)
            await make_checkin(db, person, at=now, wellbeing=15)
    clock.advance(days=40)
    await publish(db, org, app)
    url = f"/api/v1/analytics/wellbeing?period=month&unit_id={top.id}"
    with counting(connection) as statements:
        response = await client.get(url, headers=bearer(app, hr))
    assert response.status_code == 200
    november = [c for c in response.json()["cells"] if c["period"] == "2026-11-01"]
    assert {c["label"] for c in november} == {"Directorate"} | {f"Service {n}" for n in range(6)}
    assert statements == [
        *AUTH,
        "SELECT units",  # the unit is the organisation's
        "SELECT wellbeing_settings",  # k
        "SELECT analytics_figures",  # the directorate and its services, never the teams
        "SELECT analytics_budget_ledger",  # which periods are published
        "INSERT wellbeing_analytics_audit",
    ]


@contextmanager
def sent_to_the_server(engine: AsyncEngine) -> Iterator[tuple[list[str], list[str]]]:
    """What the app's connections send, with real sessions: the statements (as `counting`
    summarises them) and, on PostgreSQL, the transaction control asyncpg sends itself
    (BEGIN, COMMIT, ROLLBACK: SQLAlchemy's statement events never see them)."""
    statements: list[str] = []
    control: list[str] = []

    def before(*args: Any) -> None:
        statements.append(_summary(str(args[2])))

    def logged(record: Any) -> None:
        verb = record.query.split()[0].rstrip(";").upper()
        if verb in ("BEGIN", "COMMIT", "ROLLBACK"):
            control.append(verb)

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if engine.dialect.name == "postgresql":
            dbapi_connection.driver_connection.add_query_logger(logged)

    def checkin(dbapi_connection: Any, _record: Any) -> None:
        if engine.dialect.name == "postgresql" and dbapi_connection is not None:
            dbapi_connection.driver_connection.remove_query_logger(logged)

    target = engine.sync_engine
    hooks = [("before_cursor_execute", before), ("checkout", checkout), ("checkin", checkin)]
    for name, hook in hooks:
        event.listen(target, name, hook)
    try:
        yield statements, control
    finally:
        for name, hook in hooks:
            event.remove(target, name, hook)


async def loggers_called() -> None:
    """asyncpg hands each query to its query loggers with `loop.call_soon` as the query
    ends; one yield to the loop runs every callback scheduled before it (FIFO), so the
    statements of a request that has answered are all logged after this."""
    await asyncio.sleep(0)


async def test_a_plain_checkin_and_a_note_commit_without_a_transaction_block(
    committed: Committed, backend: str
) -> None:
    """With real sessions, a plain check-in and a new note write one statement each on
    PostgreSQL (the insert with its owner's change), sent outside a transaction block: no
    BEGIN or COMMIT round trip. A shared check-in, or one telling the supervisor, writes
    several, in one transaction. Each is on its owner's feed, numbered."""
    org, supervisor, me = await supervised_pair(committed)
    app = committed.app()
    headers = bearer(app, me)
    postgresql = backend == "postgresql"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        plain, note = _checkin(), note_body()
        with sent_to_the_server(committed.engine) as (statements, control):
            assert (await client.post(CHECKINS, json=plain, headers=headers)).status_code == 201
            await loggers_called()
        if postgresql:
            assert statements == [
                "SELECT check-in context",
                "INSERT wellbeing_checkins and its change",
            ]
            assert control == []
        with sent_to_the_server(committed.engine) as (statements, control):
            assert (await client.post(NOTES, json=note, headers=headers)).status_code == 201
            await loggers_called()
        if postgresql:
            assert statements == ["INSERT reflections and its change"]  # the caller checked in it
            assert control == []
        with sent_to_the_server(committed.engine) as (statements, control):
            again = await client.post(CHECKINS, json=plain, headers=headers)
            assert again.status_code == 200
            await loggers_called()
        if postgresql:
            assert control == []  # a repeat writes nothing
        shared = _checkin(share_with_supervisor=True)
        talk = _checkin(wants_to_talk=True, tell_supervisor=True)
        for body in (shared, talk):
            with sent_to_the_server(committed.engine) as (statements, control):
                response = await client.post(CHECKINS, json=body, headers=headers)
                assert response.status_code == 201, response.text
                await loggers_called()
            if postgresql:
                assert statements[0] == "SELECT check-in context"
                assert control == ["BEGIN", "COMMIT"]  # its writes commit together
        feed = await client.get("/api/v1/sync?limit=50", headers=headers)
        assert feed.status_code == 200
        ids = {c["id"] for c in feed.json()["changes"]}
        assert {plain["id"], note["id"], shared["id"], talk["id"]} <= ids
        mine = await client.get("/api/v1/sync?limit=50", headers=bearer(app, supervisor))
        assert shared["id"] in {c["id"] for c in mine.json()["changes"]}
    async with session_scope(committed.sessions) as db:
        seqs = (
            await db.exec(
                select(col(Change.seq)).where(
                    col(Change.organisation_id) == org.id,
                    col(Change.entity_id).in_([uuid.UUID(plain["id"]), uuid.UUID(note["id"])]),
                )
            )
        ).all()
    assert len(seqs) == 2
    assert UNASSIGNED not in seqs  # numbered as their statements committed


async def test_a_note_from_a_deactivated_person_writes_nothing_outside_a_transaction(
    committed: Committed, backend: str
) -> None:
    """With real sessions, a new note's one statement is also the check of its caller
    (PostgreSQL, outside a transaction block): a deactivated person's new note, repeat, or
    other note under a taken id is 401 and leaves no note and no change; the refusal is
    told from a repeat by one read, and an active person's repeat still answers 200."""
    org, _supervisor, me = await supervised_pair(committed)
    app = committed.app()
    headers = bearer(app, me)
    made = note_body()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        first = await client.post(NOTES, json=made, headers=headers)
        assert first.status_code == 201
        again = await client.post(NOTES, json=made, headers=headers)
        assert (again.status_code, again.json()) == (200, first.json())
        other = made | {"title": "Another note under its id"}
        assert (await client.post(NOTES, json=other, headers=headers)).status_code == 409
        async with session_scope(committed.sessions) as db:
            gone = await db.get(Staff, me.id)
            assert gone is not None
            gone.active = False
        fresh = note_body()
        for body in (fresh, made, other):
            with sent_to_the_server(committed.engine) as (statements, control):
                refused = await client.post(NOTES, json=body, headers=headers)
                await loggers_called()
            assert refused.status_code == 401, body
            if backend == "postgresql":
                assert statements == ["INSERT reflections and its change", "SELECT reflections"]
                assert control == []
    async with session_scope(committed.sessions) as db:
        notes = await db.exec(select(col(Reflection.id)).where(col(Reflection.author_id) == me.id))
        assert notes.all() == [uuid.UUID(made["id"])]
        found = await db.exec(
            select(col(Change.entity_id)).where(col(Change.organisation_id) == org.id)
        )
        assert found.all() == [uuid.UUID(made["id"])]


class _Failed(Exception):
    pass


async def test_a_shared_checkin_that_fails_after_its_insert_leaves_nothing(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writes of a shared check-in are one transaction, also where a plain one's single
    write is not in a transaction block: a failure after the insert undoes it."""
    org, supervisor, me = await supervised_pair(committed)
    app = committed.app()

    async def fail(*_args: Any, **_kwargs: Any) -> None:
        raise _Failed

    monkeypatch.setattr(checkins, "record_change", fail)
    body = _checkin(share_with_supervisor=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        with pytest.raises(_Failed):
            await client.post(CHECKINS, json=body, headers=bearer(app, me))
        monkeypatch.undo()
        # A conflicting repeat of a plain one writes nothing either (its insert does nothing).
        plain = _checkin()
        assert (await client.post(CHECKINS, json=plain, headers=bearer(app, me))).status_code == 201
        other = plain | {"answers": pulse_answers(3)}
        assert (await client.post(CHECKINS, json=other, headers=bearer(app, me))).status_code == 409
    async with session_scope(committed.sessions) as db:
        assert await db.get(CheckIn, uuid.UUID(body["id"])) is None
        found = await db.exec(
            select(col(Change.entity_id)).where(col(Change.organisation_id) == org.id)
        )
        assert found.all() == [uuid.UUID(plain["id"])]


async def test_a_new_process_s_first_request_may_be_a_checkin(committed: Committed) -> None:
    """Before an engine has connected its dialect does not know the database's isolation
    level: the first check-in of a new process runs in a transaction, as before, and the
    next ones without."""
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        me = await make_staff(db, org, now=now)
    fresh = create_engine(committed.engine.url.render_as_string(hide_password=False))
    try:
        app = create_app(
            committed.settings,
            session_factory=create_session_factory(fresh),
            clock=committed.clock,
            scheduler=False,
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            for _ in range(2):
                response = await client.post(CHECKINS, json=_checkin(), headers=bearer(app, me))
                assert response.status_code == 201
    finally:
        await fresh.dispose()
