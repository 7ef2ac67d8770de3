"""`read_mostly`: reads without a transaction on PostgreSQL, and
the first write begins one that commits at the end or rolls back on error, as
`session_scope`'s does."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import read_mostly, session_scope
from models.directory.organisation import Organisation
from tests.factories.directory import make_org
from tests.harness import Committed


class _Refused(Exception):
    pass


async def _in_transaction(session: AsyncSession) -> bool | None:
    """Whether the driver's connection is inside a transaction block (PostgreSQL; None on
    SQLite, where the session always opens one)."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return None
    raw = await connection.get_raw_connection()
    return bool(raw.driver_connection.is_in_transaction())  # type: ignore[union-attr]


async def _exists(committed: Committed, org_id: uuid.UUID) -> bool:
    async with session_scope(committed.sessions) as db:
        found = await db.exec(select(col(Organisation.id)).where(col(Organisation.id) == org_id))
        return found.first() is not None


async def test_reads_run_outside_a_transaction_until_the_first_write(
    committed: Committed, backend: str
) -> None:
    now = committed.clock()
    async with read_mostly(committed.sessions) as unit:
        session = await unit.session()
        await session.exec(select(sa.literal(1)))
        await session.exec(select(col(Organisation.id)).limit(1))
        if backend == "postgresql":
            assert await _in_transaction(session) is False  # no BEGIN for the reads
        org = await make_org(session, now=now)  # the first write (an ORM flush) begins one
        committed.track(org)
        if backend == "postgresql":
            assert await _in_transaction(session) is True
    assert await _exists(committed, org.id)  # committed at the end


async def _write_then_fail(committed: Committed) -> uuid.UUID:
    async with read_mostly(committed.sessions) as unit:
        session = await unit.session()
        await session.exec(select(sa.literal(1)))
        org = await make_org(session, now=committed.clock())
        committed.track(org)  # (should it be committed after all)
        await session.exec(
            sa.update(Organisation)
            .where(col(Organisation.id) == org.id)
            .values(name="renamed in the same transaction")
        )
        raise _Refused(org.id)


async def test_a_write_rolls_back_with_the_error(committed: Committed) -> None:
    now = committed.clock()
    with pytest.raises(_Refused) as refused:
        await _write_then_fail(committed)
    org_id = refused.value.args[0]
    assert not await _exists(committed, org_id)
    # The pooled connection went back clean: the next unit of work reads and commits.
    async with read_mostly(committed.sessions) as unit:
        session = await unit.session()
        await session.exec(select(sa.literal(1)))
        if await _in_transaction(session) is not None:
            assert await _in_transaction(session) is False
        again = await make_org(session, now=now)
        committed.track(again)
    assert await _exists(committed, again.id)


async def test_a_locking_read_begins_the_transaction(committed: Committed, backend: str) -> None:
    """On PostgreSQL a SELECT .. FOR UPDATE is not a plain read: BEGIN goes first, so the
    lock is held until the end. SQLite has no row locks and `read_mostly` is an ordinary
    transaction there: the same read answers the same row."""
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
    async with read_mostly(committed.sessions) as unit:
        session = await unit.session()
        locking = select(col(Organisation.id)).where(col(Organisation.id) == org.id)
        assert (await session.exec(locking.with_for_update())).all() == [org.id]
        in_transaction = await _in_transaction(session)
        assert in_transaction is (True if backend == "postgresql" else None)


async def _in_transaction_on(connection: AsyncConnection) -> bool | None:
    if connection.dialect.name != "postgresql":
        return None
    raw = await connection.get_raw_connection()
    return bool(raw.driver_connection.is_in_transaction())  # type: ignore[union-attr]


async def test_a_session_made_after_the_reads_joins_and_commits(
    committed: Committed, backend: str
) -> None:
    """`read_mostly`: the feed reads on the connection and makes a session only to render
    or reconcile; what that session writes is committed with the unit."""
    now = committed.clock()
    async with read_mostly(committed.sessions) as unit:
        await unit.connection.execute(select(col(Organisation.id)).limit(1))
        if backend == "postgresql":
            assert await _in_transaction_on(unit.connection) is False
        session = await unit.session()
        assert await unit.session() is session  # one session for the unit
        org = await make_org(session, now=now)
        committed.track(org)
        if backend == "postgresql":
            assert await _in_transaction_on(unit.connection) is True
    assert await _exists(committed, org.id)


async def _read_write_then_fail(committed: Committed) -> uuid.UUID:
    async with read_mostly(committed.sessions) as unit:
        await unit.connection.execute(select(sa.literal(1)))
        org = await make_org(await unit.session(), now=committed.clock())
        committed.track(org)  # (should it be committed after all)
        await unit.connection.execute(select(col(Organisation.id)).limit(1))
        raise _Refused(org.id)


async def test_a_unit_that_fails_after_a_write_keeps_nothing(committed: Committed) -> None:
    with pytest.raises(_Refused) as refused:
        await _read_write_then_fail(committed)
    assert not await _exists(committed, refused.value.args[0])
    async with read_mostly(committed.sessions) as unit:  # the connection went back clean
        await unit.connection.execute(select(sa.literal(1)))
        if await _in_transaction_on(unit.connection) is not None:
            assert await _in_transaction_on(unit.connection) is False
