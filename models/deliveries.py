"""Push deliveries: one row per (notification, device), claimed by workers.

Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers take disjoint rows and
neither waits for the other. SQLite has no row locks (SQLAlchemy leaves FOR UPDATE out):
there `BEGIN IMMEDIATE` (models/db.py) takes the database write lock at the start of the
claiming transaction, so claimers run one after another, which is just as safe.
A claim lives as long as its transaction: a worker killed mid-batch rolls back and its rows
are pending again for the next worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import TenantTable, utc_column
from models.notifications import Device, Notification, preferences_for


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    dead = "dead"


class PushOutcome(StrEnum):
    sent = "sent"
    unregistered = "unregistered"
    retry = "retry"


class Delivery(TenantTable, table=True):
    """One push of one notification to one device."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "device_id"),
        sa.Index("ix_deliveries_org_status_next", "organisation_id", "status", "next_attempt_at"),
    )

    notification_id: uuid.UUID = Field(foreign_key="notifications.id", ondelete="CASCADE")
    device_id: uuid.UUID = Field(foreign_key="devices.id", ondelete="CASCADE")
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=sa.String(10))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = utc_column()
    last_error: str | None = Field(default=None, max_length=200)
    updated_at: datetime = utc_column()


async def plan_deliveries(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID], now: datetime
) -> int:
    """A pending delivery to each device of each recipient who has push enabled."""
    if not notification_ids:
        return 0
    rows = (
        await session.exec(select(Notification).where(col(Notification.id).in_(notification_ids)))
    ).all()
    prefs = await preferences_for(session, {n.recipient_id for n in rows})
    wanted = [n for n in rows if n.recipient_id in prefs and prefs[n.recipient_id].push_enabled]
    if not wanted:
        return 0
    devices = (
        await session.exec(
            select(Device).where(col(Device.staff_id).in_({n.recipient_id for n in wanted}))
        )
    ).all()
    planned = 0
    for n in wanted:
        for device in devices:
            if device.staff_id == n.recipient_id and device.organisation_id == n.organisation_id:
                session.add(
                    Delivery(
                        organisation_id=n.organisation_id,
                        notification_id=n.id,
                        device_id=device.id,
                        next_attempt_at=n.deliver_after,
                        updated_at=now,
                    )
                )
                planned += 1
    await session.flush()
    return planned


async def claim(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime, limit: int
) -> list[tuple[Delivery, Device, Notification]]:
    """Take up to `limit` due deliveries (locked until this transaction ends)."""
    stmt = (
        select(Delivery)
        .where(
            col(Delivery.organisation_id) == organisation_id,
            col(Delivery.status) == DeliveryStatus.pending.value,
            col(Delivery.next_attempt_at) <= now,
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list((await session.exec(stmt)).all())
    if not claimed:
        return []
    devices = {
        d.id: d
        for d in (
            await session.exec(
                select(Device).where(col(Device.id).in_([c.device_id for c in claimed]))
            )
        ).all()
    }
    notes = {
        n.id: n
        for n in (
            await session.exec(
                select(Notification).where(
                    col(Notification.id).in_([c.notification_id for c in claimed])
                )
            )
        ).all()
    }
    return [(c, devices[c.device_id], notes[c.notification_id]) for c in claimed]


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """Exponential: base, 2x base, 4x base, ... after the 1st, 2nd, 3rd failed attempt."""
    return timedelta(seconds=base_seconds * 2 ** max(0, attempts - 1))


async def settle(
    session: AsyncSession,
    delivery: Delivery,
    device: Device,
    outcome: PushOutcome,
    now: datetime,
    *,
    max_attempts: int,
    base_seconds: int,
    error: str | None = None,
) -> None:
    """Record what the provider said: sent; unregistered (the device goes, and with it its
    deliveries); or retry later with backoff, dead after `max_attempts`."""
    if outcome is PushOutcome.unregistered:
        await session.exec(sa.delete(Device).where(col(Device.id) == device.id))
        return
    delivery.attempts += 1
    delivery.updated_at = now
    if outcome is PushOutcome.sent:
        delivery.status = DeliveryStatus.sent
        delivery.last_error = None
    else:
        delivery.last_error = (error or "")[:200] or None
        if delivery.attempts >= max_attempts:
            delivery.status = DeliveryStatus.dead
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts, base_seconds)
    session.add(delivery)
    await session.flush()
