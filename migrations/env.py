"""Alembic environment: async engine, batch mode for SQLite, the models' metadata."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from models.db import DatabaseSettings, create_engine
from models.tables import metadata

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.attributes.get("database_url")
    return str(url) if url else DatabaseSettings().database_url


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        literal_binds=connection is None,
    )


def run_migrations_offline() -> None:
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:  # enforcement is off while migrating: prove the result before it commits
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")


def _foreign_keys(connection: Connection, on: bool) -> None:
    """SQLite only, outside any transaction (the pragma is ignored inside one)."""
    if connection.dialect.name == "sqlite":
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
        cursor.close()


async def run_migrations_online() -> None:
    engine = create_engine(_url(), pool_size=1)
    try:
        async with engine.connect() as connection:
            # Batch mode rebuilds a SQLite table by copying it and dropping the old one. With
            # foreign keys enforced, that DROP deletes the old rows one by one, firing every
            # ON DELETE CASCADE / SET NULL that points at the table: rebuilding `staff` would
            # wipe every supervisor_id and delete every check-in. Alembic's advice: switch
            # enforcement off while migrating (each later connection turns it on again).
            await connection.run_sync(_foreign_keys, False)
            await connection.run_sync(_run_sync)
            await connection.commit()
            await connection.run_sync(_foreign_keys, True)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    existing = config.attributes.get("connection")
    if existing is not None:
        _run_sync(existing)
    else:
        asyncio.run(run_migrations_online())
