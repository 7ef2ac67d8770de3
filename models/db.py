"""The async engine and session factory, for SQLite (the default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./harbour.db"
SQLITE_BUSY_TIMEOUT_MS = 15_000
# Rows per multi-row statement, ids per IN list: well under every driver's parameter limit
# (asyncpg and SQLite allow 32,767 parameters in one statement).
CHUNK = 500


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
        engine = create_async_engine(url, echo=echo)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


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
    """One transaction: commit on success, roll back on error (the worker's unit of work)."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def insert_for(session: AsyncSession, table: Any) -> Any:
    """INSERT with ON CONFLICT support (`on_conflict_do_nothing/update`) on the session's
    database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
