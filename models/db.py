"""The async engine and session factory, for SQLite (the default) and PostgreSQL."""

from __future__ import annotations

import functools
import time
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from models.json_text import json_loads

_T = TypeVar("_T")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./harbour.db"
SQLITE_BUSY_TIMEOUT_MS = 15_000
# Rows per multi-row statement, ids per IN list: well under every driver's parameter limit
# (asyncpg and SQLite allow 32,767 parameters in one statement).
CHUNK = 500
# A pooled PostgreSQL connection idle longer than this is pinged before use (see `_ping_if_idle`).
PING_AFTER_IDLE_SECONDS = 5.0


class DatabaseSettings(BaseSettings):
    """Where the database is: `HARBOUR_DATABASE_URL` (or `.env`). The app's settings extend
    this; the migrations read it alone, so they never import the API."""

    model_config = SettingsConfigDict(
        env_prefix="HARBOUR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """Build the engine for `url` with the settings each database needs."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, json_deserializer=json_loads)
        _configure_sqlite(engine)
        return engine
    # Up to twice `pool_size` connections, opened as needed and all kept: with `pool_size`
    # kept and as many again as overflow, each overflow connection was closed on return
    # and reopened moments later under load (256 new connections in 6 s of `GET /me`, each
    # an asyncpg connect, the SSL attempt, authentication and a PostgreSQL backend started:
    # docs/PERFORMANCE.md). The most a process holds is unchanged.
    engine = create_async_engine(
        url, echo=echo, pool_size=2 * pool_size, max_overflow=0, json_deserializer=json_loads
    )
    _ping_if_idle(engine)
    _begin_at_first_write(engine)
    return engine


def _ping_if_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection is alive before use, when it has been idle a while.

    SQLAlchemy's `pool_pre_ping` pings on every checkout, and the asyncpg dialect's ping is
    three round trips (BEGIN, an empty query, ROLLBACK): on `GET /me` that was as many round
    trips as the request itself. A connection checked in less than
    `PING_AFTER_IDLE_SECONDS` ago was working then; older ones are pinged as before, and one
    that fails is replaced (the pool retries on `DisconnectionError`). If the server restarts
    while connections are busy, a request that was using one fails, as it would with a
    pre-ping, and the first disconnect error invalidates the whole pool.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["harbour_idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.get("harbour_idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        if since is None:
            return  # just connected
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise exc.DisconnectionError("the pooled connection did not answer a ping") from error


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, foreign keys, and transactions that take the write lock up front.

    Python's sqlite3 module opens transactions lazily and lets a reader upgrade to a writer
    mid-transaction, which is where "database is locked" comes from: two readers both try
    to upgrade and one must fail. Taking the RESERVED lock at BEGIN (`BEGIN IMMEDIATE`)
    makes writers queue on `busy_timeout` instead. WAL keeps readers outside transactions
    unblocked. SQLite is the quick-start and test database; production runs PostgreSQL.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on error (the worker's unit of work).
    Entered and left as `async with factory()` (the tests' turn-taking sessions of
    delivery's lanes wait their turn there); a request's session is `get_session`'s."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# Set on an engine `create_engine` made on PostgreSQL: its read-mostly units read without
# a transaction block until their first write (`_begin_before_a_write`).
_READS_WITHOUT_BEGIN = "_harbour_reads_without_begin"


def _begin_at_first_write(engine: AsyncEngine) -> None:
    """Mark `engine` as one whose read-mostly units (`read_mostly`, `read_keeping`) read in
    autocommit and begin a transaction at their first write: each of their connections
    listens for it (`_begin_before_a_write`), that connection alone. SQLAlchemy takes a
    slower path for every statement on an engine or a connection with any cursor-execute
    listener (9-11 us a statement, measured in-process), so no other connection has one."""
    setattr(engine.sync_engine, _READS_WITHOUT_BEGIN, True)


def _begin_before_a_write(
    conn: sa.Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    _executemany: bool,
) -> tuple[str, Any]:
    """On a read-mostly connection in autocommit, the first statement that is not a plain
    SELECT (an INSERT, UPDATE or DELETE, a flush, SELECT .. FOR UPDATE, any SQL text) first
    puts the driver back at the engine's isolation level, so the driver sends BEGIN before
    it: from there on the connection is in a transaction that the unit commits or rolls
    back, and the pool rolls back if neither happened."""
    compiled = context.compiled
    clause = compiled.statement if compiled is not None else None
    if isinstance(clause, sa.Select | sa.CompoundSelect) and (
        getattr(clause, "_for_update_arg", None) is None
    ):
        return statement, parameters
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is not None and getattr(dbapi_connection, "autocommit", False):
        conn.dialect.reset_isolation_level(dbapi_connection)
    return statement, parameters


def _reads_without_begin(factory: async_sessionmaker[AsyncSession]) -> AsyncEngine | None:
    """The engine of `factory` if its read-mostly units read without a transaction block
    (`_begin_at_first_write`; not SQLite, not a factory bound to a connection)."""
    bind = factory.kw.get("bind")
    if isinstance(bind, AsyncEngine) and getattr(bind.sync_engine, _READS_WITHOUT_BEGIN, False):
        return bind
    return None


class ReadMostly:
    """A unit of work that nearly always only reads (`read_mostly`, `read_keeping`): its
    connection, and an ORM session on that connection, made only when something asks for
    one (a renderer, a reconciler); a read that needs none makes none.

    Entered with `async with`, it ends when the block does: the session (if one was made)
    commits and closes, then the connection commits and goes back to the pool, in one hop
    into SQLAlchemy's sync side (`_end_unit`); if the block raises, both roll back
    instead."""

    __slots__ = ("_factory", "_session", "connection")

    def __init__(
        self,
        connection: AsyncConnection,
        factory: async_sessionmaker[AsyncSession],
        session: AsyncSession | None = None,
    ) -> None:
        self.connection = connection
        self._factory = factory
        self._session = session

    async def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._factory(bind=self.connection)
        return self._session

    async def __aenter__(self) -> ReadMostly:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        session = self._session.sync_session if self._session is not None else None
        await greenlet_spawn(_end_unit, session, self.connection.sync_connection, exc_type is None)


def _end_unit(session: Session | None, connection: sa.Connection | None, commit: bool) -> None:
    """`ReadMostly`'s end, in one hop (the session's commit, its close and the connection's
    end were a hop each): the session commits (or rolls back) and closes, then the
    connection commits if the session did (or there was none) and the block completed,
    and rolls back otherwise; the close runs whatever fails."""
    done = False
    try:
        if session is not None:
            try:
                if commit:
                    session.commit()
                    done = True
                else:
                    session.rollback()
            finally:
                session.close()
        else:
            done = commit
    finally:
        _end_reading(connection, done)


@asynccontextmanager
async def read_mostly(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[ReadMostly]:
    """`session_scope` for a unit of work that nearly always only reads (the sync feed):
    commit on success, roll back on error, as there. On PostgreSQL its reads run outside a
    transaction block (autocommit) and its first write begins the transaction
    (`_begin_before_a_write`), so a request that writes nothing saves the BEGIN and COMMIT
    round trips. At READ COMMITTED, PostgreSQL's default and ours, each statement of a
    transaction reads its own snapshot anyway: a read made before the BEGIN sees what it
    would have seen inside. At another level, on SQLite, and for a factory bound to a
    connection (the tests' transaction) it is `session_scope`'s session and its connection.

    A session made on the connection (`ReadMostly.session`) joins its transaction: it
    flushes at the end, and the connection commits (or rolls back) what it wrote.

    The checkout with autocommit set, and the commit (or rollback) with the close, are a
    hop into SQLAlchemy's sync side each (they were two each)."""
    engine = _reads_without_begin(factory)
    if engine is None:
        async with session_scope(factory) as session:
            yield ReadMostly(await session.connection(), factory, session)
        return
    sync_connection = await greenlet_spawn(_connect_reading, engine.sync_engine)
    async with ReadMostly(AsyncConnection(engine, sync_connection), factory) as unit:
        yield unit


def _connect_reading(engine: sa.Engine) -> sa.Connection:
    """A read-mostly connection (`read_mostly`): at READ COMMITTED, in autocommit."""
    connection = engine.connect()
    try:
        if connection.default_isolation_level == "READ COMMITTED":
            connection.execution_options(isolation_level="AUTOCOMMIT")
            event.listen(connection, "before_cursor_execute", _begin_before_a_write, retval=True)
    except BaseException:
        connection.close()
        raise
    return connection


def _end_reading(connection: sa.Connection | None, commit: bool) -> None:
    if connection is None:
        return
    try:
        if commit:
            connection.commit()
        else:
            connection.rollback()
    finally:
        connection.close()


async def read_once(
    factory: async_sessionmaker[AsyncSession], read: Callable[[sa.Connection], _T]
) -> _T:
    """Run `read` (one statement, or a few that only read) on a pooled connection and give
    the connection back: for a route that reads and writes nothing (`GET /me`). On
    PostgreSQL it runs without a transaction block, saving the BEGIN and COMMIT round trips
    (a single statement is its own consistent snapshot). No session is made, and nothing is
    committed.

    The checkout, the read and the return happen in one hop into SQLAlchemy's sync side:
    `async with engine.connect()`, setting autocommit, `execute` and the close were four
    hops (a greenlet each), 75-80 us of CPU on each `GET /me` (measured in-process,
    docs/PERFORMANCE.md). A factory bound to a connection (the tests' transaction) runs
    `read` on a session's connection, joining that transaction as a session does."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        async with factory() as session:
            return await session.run_sync(lambda sync: read(sync.connection()))
    return await greenlet_spawn(_read_outside_a_transaction, bind.sync_engine, read)


def _read_outside_a_transaction(engine: sa.Engine, read: Callable[[sa.Connection], _T]) -> _T:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        return read(connection)


async def read_keeping(
    factory: async_sessionmaker[AsyncSession],
    read: Callable[[sa.Connection], _T],
    keep: Callable[[_T], bool],
) -> tuple[_T, ReadMostly | None]:
    """`read_once`, and if what it read needs more (`keep(found)`), the `read_mostly` unit
    that goes on from it on the same connection: a request that reads on takes one pooled
    connection, not one for its first read and then another (under load, a second wait in
    the pool's queue). Answers what `read` found and the unit, not yet entered: the caller
    enters it (`async with`) at once, and that ends it.

    The unit is None when `keep` says no (the connection went back in the same hop as the
    read, as `read_once`'s does), and where a unit cannot go on from the read: on SQLite,
    for a factory bound to a connection (the tests' transaction) and at an isolation level
    other than READ COMMITTED (a `read_mostly` unit is then in a transaction from its
    start). There the caller opens `read_mostly` itself, after the read, as before."""
    engine = _reads_without_begin(factory)
    if engine is None:
        return await read_once(factory, read), None
    found, kept = await greenlet_spawn(_read_and_keep, engine.sync_engine, read, keep)
    if kept is None:
        return found, None
    return found, ReadMostly(AsyncConnection(engine, kept), factory)


def _read_and_keep(
    engine: sa.Engine, read: Callable[[sa.Connection], _T], keep: Callable[[_T], bool]
) -> tuple[_T, sa.Connection | None]:
    """`read_keeping`'s hop: the checkout, autocommit, the read, and either the return or,
    at READ COMMITTED, the connection made read-mostly (`_connect_reading`)."""
    connection = engine.connect()
    try:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        found = read(connection)
        if keep(found) and connection.default_isolation_level == "READ COMMITTED":
            event.listen(connection, "before_cursor_execute", _begin_before_a_write, retval=True)
            return found, connection
    except BaseException:
        connection.close()
        raise
    connection.close()
    return found, None


def named_rows(result: sa.Result[Any]) -> list[Any]:
    """A result's rows as named tuples of its columns, for code that reads many of their
    attributes (the sync feed's page, its renders). SQLAlchemy's `Row` answers `row.name`
    only after a failing `hasattr` on its class (0.4-0.8 us an attribute, measured on the
    sync page's rows), and a page reads some 1,300; a named tuple answers in a tenth of
    that, and is made in about 0.2 us. Indexing and unpacking work as on a `Row`."""
    make = _row_maker(tuple(result.keys()))
    return [make(row) for row in result]


@functools.lru_cache(maxsize=64)
def _row_maker(keys: tuple[str, ...]) -> Callable[[Iterable[Any]], Any]:
    """The named tuple class of a statement's columns (built once a statement), its `_make`."""
    row_class: Any = namedtuple("NamedRow", keys)  # type: ignore[misc]  # its fields: the columns
    make: Callable[[Iterable[Any]], Any] = row_class._make
    return make


# A session's options that put its connection in autocommit as the session procures it
# (SQLAlchemy 2.1's session-wide execution options; the pool puts the connection back at
# the engine's level when it is returned).
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def one_write_session(factory: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A request's session for a unit of work that writes one statement (a new check-in or
    note on PostgreSQL: the INSERT, its owner's change row written by the same statement),
    to be ended by `end_session` as `get_session`'s is.

    On PostgreSQL at READ COMMITTED its connection is in autocommit: each statement is a
    transaction of its own, so the one write is atomic by itself and no BEGIN or COMMIT
    round trip is sent. At READ COMMITTED each statement of a transaction reads its own
    snapshot anyway, so the reads before the write see what they would have seen inside
    one. Change rows are numbered as at any commit: the deferred trigger (migration 0014)
    runs as the statement's own transaction commits. Code that may write more than one
    statement in such a session, or that locks rows (`FOR UPDATE`: outside a transaction
    the lock ends with its statement), calls `in_transaction` first. Elsewhere
    (SQLite, a factory bound to the tests' transaction, another isolation level) it is an
    ordinary session, in a transaction."""
    bind = factory.kw.get("bind")
    if (
        isinstance(bind, AsyncEngine)
        and bind.dialect.name == "postgresql"
        # Known once the engine has connected (before, the dialect has no such attribute):
        # a new process's first requests are in a transaction, as before.
        and getattr(bind.dialect, "default_isolation_level", None) == "READ COMMITTED"
    ):
        return factory(execution_options=_AUTOCOMMIT)
    return factory()


class OneWrite:
    """`async with OneWrite(factory) as session`: a `one_write_session`, ended as
    `get_session` ends a request's (committed if the block completes, rolled back if it
    raises, then closed, in one hop: `end_session`). For a route that opens its session
    itself, not by a generator dependency: FastAPI enters each of those in an exit stack
    with a cancel scope of its own, on every request."""

    __slots__ = ("_session",)

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._session = one_write_session(factory)

    async def __aenter__(self) -> AsyncSession:
        return self._session

    async def __aexit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        await end_session(self._session, commit=exc_type is None)


async def in_transaction(session: AsyncSession) -> None:
    """From here on, `session`'s statements run in one transaction (the driver sends BEGIN
    with the next one), committed or rolled back where the session ends: for code about to
    write more than one statement in a `one_write_session`. Elsewhere nothing to do (the
    session is in a transaction already)."""
    if session.sync_session.execution_options.get("isolation_level") == "AUTOCOMMIT":
        await session.run_sync(_leave_autocommit)


def _leave_autocommit(session: Session) -> None:
    connection = session.connection()
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and getattr(dbapi_connection, "autocommit", False):
        connection.dialect.reset_isolation_level(dbapi_connection)


async def end_session(session: AsyncSession, *, commit: bool) -> None:
    """Commit (or roll back) and close a request's `session` (`api.deps.get_session`), in
    one hop into SQLAlchemy's sync side.

    `async with factory()` closes in a task of its own, shielded from cancellation
    (SQLAlchemy's `_run_to_completion`), after a hop of its own for the commit: a task
    created, scheduled and awaited, and three hops, on every request. Here the close
    follows the commit in the same hop, and runs whether or not the commit fails (also
    when the request is cancelled during it: the cancellation is thrown into the hop, and
    the close runs as the exception leaves)."""
    await session.run_sync(_commit_and_close if commit else _rollback_and_close)


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


# `in_list(column, name)`: the column is one of the list parameter `name`.
InList = Callable[[Any, str], Any]


def per_database(build: Callable[[InList], _T]) -> dict[str, _T]:
    """A statement built once for each database, for a hot path: `build(in_list)`, where
    `in_list(column, name)` is `column = ANY(:name)` on PostgreSQL (one array parameter, so
    one prepared statement whatever the list's length, and nothing expanded per execution)
    and an expanding `IN` on SQLite. Run it as `stmt[dialect_name(session)]`."""
    return {
        "postgresql": build(lambda column, name: _any_of_array(column, name)),
        "sqlite": build(lambda column, name: column.in_(sa.bindparam(name, expanding=True))),
    }


def _any_of_array(column: Any, name: str | None, **value: Any) -> sa.ColumnElement[bool]:
    """PostgreSQL's `column = ANY(:name)`, the list bound as one array parameter."""
    array = postgresql.ARRAY(column.type)
    found: sa.ColumnElement[bool] = column == sa.any_(sa.bindparam(name, type_=array, **value))
    return found


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def one_of(session: AsyncSession, column: Any, values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """`column IN (values)`, built where it runs (`per_database` builds a statement once);
    on PostgreSQL `column = ANY(:values)`, the values one array parameter. For the sweeps'
    thousands of ids: an IN list of thousands of parameters costs more to build, bind and
    plan than the query costs to run, and each length is a new prepared statement."""
    listed = list(values)
    if is_postgresql(session):
        return _any_of_array(column, None, value=listed)
    found: sa.ColumnElement[bool] = column.in_(listed)
    return found


def insert_for(session: AsyncSession, table: Any) -> Any:
    """INSERT with ON CONFLICT support (`on_conflict_do_nothing/update`) on the session's
    database."""
    if is_postgresql(session):
        return postgresql.insert(table)
    return sqlite.insert(table)
