"""Re-encrypt sealed columns under the key ring's primary key, one short batch at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.crypto import KeyRing, SealedColumn, associated_data


@dataclass(frozen=True)
class BatchResult:
    scanned: int
    rotated: int
    next_after: uuid.UUID | None  # None: the column is done


async def rotate_batch(
    session: AsyncSession,
    ring: KeyRing,
    sealed: SealedColumn,
    *,
    after: uuid.UUID | None,
    batch_size: int,
) -> BatchResult:
    """Re-seal up to `batch_size` rows after `after` (by id) that are not under the primary key.

    Online: no row is locked while we compute. Each update is a compare-and-set on the old
    ciphertext, so a request that rewrote the row meanwhile (under the primary key, as every
    write seals) wins and we leave its value alone.
    """
    table = sa.table(sealed.table, sa.column("id", sa.Uuid()), sa.column(sealed.column, sa.Text()))
    value = table.c[sealed.column]
    stmt = select(table.c.id, value).where(value.is_not(None)).order_by(table.c.id)
    if after is not None:
        stmt = stmt.where(table.c.id > after)
    rows = (await session.exec(stmt.limit(batch_size))).all()
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
    next_after = rows[-1][0] if len(rows) == batch_size else None
    return BatchResult(scanned=len(rows), rotated=rotated, next_after=next_after)


async def count_stale(session: AsyncSession, ring: KeyRing, sealed: SealedColumn) -> int:
    """How many values in the column are not sealed under the primary key."""
    table = sa.table(sealed.table, sa.column(sealed.column, sa.Text()))
    value = table.c[sealed.column]
    stmt = (
        select(sa.func.count())
        .select_from(table)
        .where(value.is_not(None), sa.not_(value.startswith(f"v1.{ring.primary}.")))
    )
    return int((await session.exec(stmt)).one())
