"""Re-encrypt sealed columns under the key ring's primary key, one short batch at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.crypto import SEALED_COLUMNS, KeyRing, SealedColumn, associated_data
from models.db import session_scope


@dataclass(frozen=True)
class BatchResult:
    scanned: int
    rotated: int
    next_after: uuid.UUID | None  # None: the column is done


def _table(sealed: SealedColumn) -> sa.TableClause:
    return sa.table(sealed.table, sa.column("id", sa.Uuid()), sa.column(sealed.column, sa.Text()))


async def read_batch(
    session: AsyncSession, sealed: SealedColumn, *, after: uuid.UUID | None, batch_size: int
) -> list[tuple[uuid.UUID, str]]:
    """The next `batch_size` (id, sealed value) pairs after `after`, by id."""
    table = _table(sealed)
    value = table.c[sealed.column]
    stmt = select(table.c.id, value).where(value.is_not(None)).order_by(table.c.id)
    if after is not None:
        stmt = stmt.where(table.c.id > after)
    return [(row_id, token) for row_id, token in (await session.exec(stmt.limit(batch_size)))]


async def reseal(
    session: AsyncSession, ring: KeyRing, sealed: SealedColumn, rows: list[tuple[uuid.UUID, str]]
) -> int:
    """Re-seal those rows not under the primary key; returns how many were rewritten.

    Each update is a compare-and-set on the value read, so a request that rewrote the row
    meanwhile (under the primary key, as every write seals) wins and its value stays.
    """
    table = _table(sealed)
    value = table.c[sealed.column]
    rotated = 0
    for row_id, token in rows:
        if ring.is_current(token):
            continue
        ad = associated_data(sealed.table, row_id, sealed.column)
        fresh = ring.seal(ring.open(token, ad), ad)
        result = await session.exec(
            sa.update(table).where(table.c.id == row_id, value == token).values({value: fresh})
        )
        rotated += int(getattr(result, "rowcount", 0) or 0)
    return rotated


async def rotate_batch(
    session: AsyncSession,
    ring: KeyRing,
    sealed: SealedColumn,
    *,
    after: uuid.UUID | None,
    batch_size: int,
) -> BatchResult:
    """Re-seal up to `batch_size` rows after `after` (by id) that are not under the primary key.

    Online: no row is locked while we decrypt and encrypt (see `reseal`).
    """
    rows = await read_batch(session, sealed, after=after, batch_size=batch_size)
    rotated = await reseal(session, ring, sealed, rows)
    next_after = rows[-1][0] if len(rows) == batch_size else None
    return BatchResult(scanned=len(rows), rotated=rotated, next_after=next_after)


async def count_stale(session: AsyncSession, ring: KeyRing, sealed: SealedColumn) -> int:
    """How many values in the column are not sealed under the primary key."""
    table = _table(sealed)
    value = table.c[sealed.column]
    stmt = (
        select(sa.func.count())
        .select_from(table)
        .where(value.is_not(None), sa.not_(value.startswith(f"v1.{ring.primary}.")))
    )
    return int((await session.exec(stmt)).one())


@dataclass(frozen=True)
class RotationReport:
    sealed: SealedColumn
    rotated: int
    left: int  # still under an older key (written meanwhile by a server not yet restarted)


async def rotate_keys(
    factory: async_sessionmaker[AsyncSession], ring: KeyRing, *, batch_size: int = 500
) -> list[RotationReport]:
    """Re-seal every registered column under the primary key, committing after each batch.

    An operations job (`harbour rotate-keys`), so unlike domain code it commits: each batch is
    its own short transaction and the API keeps serving throughout.
    """
    import models.tables  # noqa: F401  (every table module registers its sealed columns)

    reports = []
    for sealed in list(SEALED_COLUMNS):
        after: uuid.UUID | None = None
        rotated = 0
        while True:
            async with session_scope(factory) as session:
                result = await rotate_batch(
                    session, ring, sealed, after=after, batch_size=batch_size
                )
            rotated += result.rotated
            if result.next_after is None:
                break
            after = result.next_after
        async with factory() as session:
            left = await count_stale(session, ring, sealed)
        reports.append(RotationReport(sealed=sealed, rotated=rotated, left=left))
    return reports
