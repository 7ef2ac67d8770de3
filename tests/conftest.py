"""Test harness: every database test runs on SQLite and on PostgreSQL.

The schema is built by running the Alembic migrations (never `create_all`). Each test runs
inside one connection-level transaction that is rolled back at the end; the app's
per-request sessions join it through savepoints, so their commits stay invisible to
other tests. `HARBOUR_TEST_DATABASES=sqlite` runs SQLite alone, but never under CI=true:
there PostgreSQL must answer or the run fails.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from api.settings import Settings
from migrations import alembic_config
from models.db import create_engine
from tests.harness import Committed, committed_harness

PG_ADMIN_DSN = os.environ.get(
    "HARBOUR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Under pytest-xdist (`make test` runs `-n 2`) each worker ("gw0", "gw1") has a database of its
# own; every scratch database a test makes is named after this one, so it is per worker too.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
PG_TEST_DB = os.environ.get("HARBOUR_TEST_PG_DATABASE", "harbour_test") + (
    f"_{XDIST_WORKER}" if XDIST_WORKER else ""
)
# A fixed test key ring: "k1" seals, "k0" only opens (as after a rotation has begun).
TEST_ENCRYPTION_KEYS = ",".join(
    (
        "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "k0:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
    )
)
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = [
    b.strip() for b in os.environ.get("HARBOUR_TEST_DATABASES", "sqlite,postgresql").split(",")
]

if IN_CI and "postgresql" not in BACKENDS:
    raise pytest.UsageError("CI=true: the suite must run on PostgreSQL too")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `slow` test files first (a demo seed, CLI runs, processes, a browser: tens of
    seconds each), so that under `make test`'s two workers (one file at a time to each, in
    this order) the long ones start early and the short ones fill in behind them, rather
    than one worker finishing a long file alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pg_url(database: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{database}"


# Every PostgreSQL database this process made, dropped when the session ends
# (`_drop_made_databases`), so a run leaves none behind.
MADE_PG_DATABASES: set[str] = set()


async def _admin_connection() -> asyncpg.Connection:
    """A connection to the server's admin database; fail loudly (never skip) when
    PostgreSQL cannot be reached."""
    try:
        return await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_DSN} ({exc}). Start it, or run "
            "HARBOUR_TEST_DATABASES=sqlite outside CI.",
            pytrace=False,
        )


async def recreate_pg_database(name: str) -> None:
    """Drop and create `name` (dropped again at the end of the session)."""
    conn = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        MADE_PG_DATABASES.add(name)
    finally:
        await conn.close()


async def drop_pg_database(name: str) -> None:
    conn = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        MADE_PG_DATABASES.discard(name)
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
def _drop_made_databases() -> Iterator[None]:
    """Set up first and torn down last: after every engine is disposed, drop the databases
    the session made (the test database and each test's scratch ones)."""
    yield
    for name in sorted(MADE_PG_DATABASES):
        asyncio.run(drop_pg_database(name))


async def migrated_engine(backend: str, tmp: Path, name: str) -> AsyncEngine:
    if backend == "sqlite":
        path = tmp / f"{name}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        await recreate_pg_database(name)
        url = pg_url(name)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    return create_engine(url, pool_size=5)


@pytest.fixture(scope="session")
def test_settings() -> Settings:
    return Settings(
        env="test",
        encryption_keys=TEST_ENCRYPTION_KEYS,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        scheduler="off",
        argon2_memory_kib=64,
        argon2_time_cost=1,
    )


@pytest.fixture(scope="session")
async def engines(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, AsyncEngine]]:
    tmp = tmp_path_factory.mktemp("db")
    made: dict[str, AsyncEngine] = {}
    try:
        for backend in BACKENDS:
            made[backend] = await migrated_engine(backend, tmp, PG_TEST_DB)
        yield made
    finally:
        for engine in made.values():
            await engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# For a test of behaviour only PostgreSQL has: it runs there alone, rather than being
# collected on SQLite and skipped (the `backend` fixture, and every fixture built on it,
# takes this parameter instead).
ON_POSTGRESQL_ONLY = pytest.mark.parametrize(
    "backend", [b for b in BACKENDS if b == "postgresql"], indirect=True
)


@pytest.fixture
async def connection(
    engines: dict[str, AsyncEngine], backend: str
) -> AsyncIterator[AsyncConnection]:
    async with engines[backend].connect() as conn:
        transaction = await conn.begin()
        if backend == "postgresql":
            # This transaction never commits, so the trigger that numbers change rows at
            # commit (models/changes.py) runs at the end of each statement instead. Real
            # commits (the `committed` harness) exercise the deferred path.
            await conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
        try:
            yield conn
        finally:
            await transaction.rollback()


def joined_sessions(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions that join the test's transaction; their commits release savepoints."""
    return async_sessionmaker(
        bind=conn,
        class_=AsyncSession,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )


class _TurnTakingSession(AsyncSession):
    """A joined session that waits for the others of its factory to close before it opens."""

    turn: asyncio.Lock

    async def __aenter__(self) -> _TurnTakingSession:
        await self.turn.acquire()
        await super().__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            self.turn.release()


def turn_taking_sessions(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """`joined_sessions` for code that opens sessions side by side (delivery's lanes): the
    test's one connection cannot carry two transactions at once, so each session waits its
    turn, while the lanes' provider calls still overlap."""
    turns = type("TurnTakingSession", (_TurnTakingSession,), {"turn": asyncio.Lock()})
    return async_sessionmaker(
        bind=conn,
        class_=turns,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def db(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    async with joined_sessions(connection)() as session:
        yield session


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 23, 9, 30, tzinfo=UTC))


AppFactory = Callable[..., FastAPI]


@pytest.fixture
def make_app(
    connection: AsyncConnection, test_settings: Settings, clock: FrozenClock
) -> AppFactory:
    """Build an app instance over the test's transaction (call it twice for two servers)."""

    def build(**overrides: object) -> FastAPI:
        settings = test_settings.model_copy(update=overrides) if overrides else test_settings
        return create_app(
            settings, session_factory=joined_sessions(connection), clock=clock, scheduler=False
        )

    return build


@pytest.fixture
def app(make_app: AppFactory) -> FastAPI:
    return make_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def committed(
    engines: dict[str, AsyncEngine], backend: str, test_settings: Settings, clock: FrozenClock
) -> AsyncIterator[Committed]:
    """Real commits on the test database, from separate connections (concurrency tests).

    Nothing is rolled back for you: `track()` every organisation you create, and it is
    deleted (with everything under it) at the end.
    """
    async for harness in committed_harness(engines[backend], test_settings, clock):
        yield harness
