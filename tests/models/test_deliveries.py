"""Delivery claims are committed leases: fenced settles; abandoned rows, and rows for a
webhook switched off, end dead."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import retention, sweep_organisation
from models.crypto import parse_key_ring
from models.directory.service import actor_for
from models.notifications.deliveries import (
    ABANDONED,
    WEBHOOK_DISABLED,
    Delivery,
    DeliveryStatus,
    PushOutcome,
    claim_next,
    plan_deliveries,
    settle,
)
from models.notifications.outbox import Notification, Platform, register_device
from tests.conftest import TEST_ENCRYPTION_KEYS, FrozenClock
from tests.factories.directory import make_org, make_staff
from tests.factories.notifications import make_notification, make_webhook
from tests.factories.supervision import make_team

LEASE = timedelta(seconds=120)


async def one_pending(db: AsyncSession, clock: FrozenClock) -> Delivery:
    now = clock()
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    await register_device(db, actor_for(me), Platform.android, "token-1", now)
    assert await plan_deliveries(db, [await make_notification(db, me, now=now)], now, push=True)
    stmt = select(Delivery).where(col(Delivery.organisation_id) == org.id)
    return (await db.exec(stmt)).one()


async def reread(db: AsyncSession, row: Delivery) -> Delivery:
    stmt = select(Delivery).where(col(Delivery.id) == row.id)
    return (await db.exec(stmt.execution_options(populate_existing=True))).one()


async def test_a_claim_holds_the_row_for_the_lease_then_it_is_due_again(
    db: AsyncSession, clock: FrozenClock
) -> None:
    row = await one_pending(db, clock)
    now = clock()
    first = await claim_next(db, row.organisation_id, now, lease=LEASE, max_attempts=5)
    assert first is not None
    assert first.attempt == 1
    assert first.device is not None
    assert first.device.token == "token-1"
    # Held: nobody else can take it until the lease runs out.
    assert await claim_next(db, row.organisation_id, now, lease=LEASE, max_attempts=5) is None
    later = now + LEASE - timedelta(seconds=1)
    assert await claim_next(db, row.organisation_id, later, lease=LEASE, max_attempts=5) is None
    second = await claim_next(db, row.organisation_id, now + LEASE, lease=LEASE, max_attempts=5)
    assert second is not None
    assert second.attempt == 2

    # The first claimer comes back late: its outcome is refused, the newer claim's stands.
    assert not await settle(
        db, first, PushOutcome.sent, now + LEASE, max_attempts=5, base_seconds=60
    )
    assert (await reread(db, row)).status == DeliveryStatus.pending
    assert await settle(db, second, PushOutcome.sent, now + LEASE, max_attempts=5, base_seconds=60)
    assert (await reread(db, row)).status == DeliveryStatus.sent


async def test_a_row_whose_workers_keep_dying_ends_dead_not_sent_forever(
    db: AsyncSession, clock: FrozenClock
) -> None:
    row = await one_pending(db, clock)
    at = clock()
    for attempt in (1, 2, 3):
        claimed = await claim_next(db, row.organisation_id, at, lease=LEASE, max_attempts=3)
        assert claimed is not None
        assert claimed.attempt == attempt
        at += LEASE  # each claimer dies without settling
    assert await claim_next(db, row.organisation_id, at, lease=LEASE, max_attempts=3) is None
    dead = await reread(db, row)
    assert (dead.status, dead.attempts, dead.last_error) == (DeliveryStatus.dead, 3, ABANDONED)


async def test_messages_for_a_webhook_switched_off_after_planning_go_dead_not_out(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    hook, _ = await make_webhook(db, parse_key_ring(TEST_ENCRYPTION_KEYS), org.id, now=now)
    assert await plan_deliveries(db, [await make_notification(db, me, now=now)], now, push=False)
    hook.enabled = False
    db.add(hook)
    await db.flush()
    assert await claim_next(db, org.id, now, lease=LEASE, max_attempts=5) is None
    row = (await db.exec(select(Delivery).where(col(Delivery.webhook_id) == hook.id))).one()
    await db.refresh(row)
    assert (row.status, row.attempts, row.last_error) == (
        DeliveryStatus.dead,
        0,
        WEBHOOK_DISABLED,
    )


async def test_retention_deletes_old_settled_records_and_nothing_is_sent_again(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    kept = timedelta(days=90)
    team = await make_team(db, now=now)
    for person in (team.supervisee, team.supervisor, team.manager):
        await register_device(db, actor_for(person), Platform.ios, f"phone-{person.id}", now)
    created = await sweep_organisation(db, team.org.id, now, push=True)
    rows = (
        await db.exec(select(Delivery).where(col(Delivery.organisation_id) == team.org.id))
    ).all()
    assert len(rows) == len(created) == 4
    sent, dead, waiting, recent = rows
    # Three settled long ago (sent, dead, and one sent only yesterday), one still pending.
    long_ago = now - kept - timedelta(days=1)
    for row, status, touched in (
        (sent, DeliveryStatus.sent, long_ago),
        (dead, DeliveryStatus.dead, long_ago),
        (waiting, DeliveryStatus.pending, long_ago),
        (recent, DeliveryStatus.sent, now - timedelta(days=1)),
    ):
        row.status = status
        row.updated_at = touched
        db.add(row)
    other = await make_team(db, now=now)
    await register_device(db, actor_for(other.supervisee), Platform.ios, "their-phone", now)
    await sweep_organisation(db, other.org.id, now, push=True)
    await db.flush()

    purged = await retention(db, now, deliveries_kept=kept, web_idle=timedelta(hours=1))

    assert purged.deliveries == 2
    left = await db.exec(select(Delivery.id).where(col(Delivery.organisation_id) == team.org.id))
    assert set(left.all()) == {waiting.id, recent.id}
    # The inbox keeps every notification, and its key still stops the same reminders coming
    # again: a sweep after the purge plans nothing new.
    inbox = select(Notification).where(col(Notification.organisation_id) == team.org.id)
    assert len((await db.exec(inbox)).all()) == 4
    assert await sweep_organisation(db, team.org.id, now, push=True) == []
    assert (
        len(
            (
                await db.exec(select(Delivery).where(col(Delivery.organisation_id) == team.org.id))
            ).all()
        )
        == 2
    )
    # Another organisation's pending deliveries are untouched.
    theirs = select(Delivery).where(col(Delivery.organisation_id) == other.org.id)
    assert len((await db.exec(theirs)).all()) == 2  # their overdue reminder and nudge
