"""`models.changes.record_changes`, the sweep's bulk write to the sync feeds: one row for each
(entity, reader), numbered in the order given from one bump of the organisation's counter,
and an entity already on a reader's feed moved to its new number rather than added again
(on PostgreSQL one statement over two arrays, on SQLite an executemany)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.changes import Change, ChangeCounter, ChangeOp, record_changes
from tests.factories.directory import make_org, make_staff

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _feed(db: AsyncSession, org_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    rows = (
        await db.exec(
            select(col(Change.entity_id), col(Change.staff_id), col(Change.seq))
            .where(col(Change.organisation_id) == org_id)
            .order_by(col(Change.seq))
        )
    ).all()
    return [(entity, staff, seq) for entity, staff, seq in rows]


async def test_each_pair_numbered_in_order_and_a_repeat_moves_to_its_new_number(
    db: AsyncSession,
) -> None:
    org = await make_org(db, f"Council {uuid.uuid4()}", now=NOW)
    other = await make_org(db, f"Council {uuid.uuid4()}", now=NOW)
    ann = await make_staff(db, org, now=NOW)
    bob = await make_staff(db, org, now=NOW)
    stranger = await make_staff(db, other, now=NOW)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    await record_changes(
        db, org.id, "notification", [(first, ann.id), (second, bob.id)], ChangeOp.upsert, NOW
    )
    await record_changes(db, other.id, "notification", [(third, stranger.id)], ChangeOp.upsert, NOW)
    before = await _feed(db, org.id)
    assert [(e, s) for e, s, _ in before] == [(first, ann.id), (second, bob.id)]
    assert before[1][2] == before[0][2] + 1

    later = NOW + timedelta(hours=1)
    await record_changes(
        db,
        org.id,
        "notification",
        [(third, bob.id), (first, ann.id)],
        ChangeOp.delete,
        later,
        owned=True,
    )
    after = await _feed(db, org.id)
    # `first` moved to a new number after `third`'s, not added a second time.
    assert [(e, s) for e, s, _ in after] == [(second, bob.id), (third, bob.id), (first, ann.id)]
    counter = (
        await db.exec(select(ChangeCounter).where(col(ChangeCounter.organisation_id) == org.id))
    ).one()
    assert [seq for _, _, seq in after] == [before[1][2], counter.last_seq - 1, counter.last_seq]
    moved = (await db.exec(select(Change).where(col(Change.entity_id) == first))).one()
    assert (moved.op, moved.at, moved.owned) == (ChangeOp.delete, later, True)
    unmoved = (await db.exec(select(Change).where(col(Change.entity_id) == second))).one()
    assert (unmoved.op, unmoved.owned) == (ChangeOp.upsert, False)
    # The other organisation's feed and counter are its own.
    assert [(e, s) for e, s, _ in await _feed(db, other.id)] == [(third, stranger.id)]
