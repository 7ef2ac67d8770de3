"""Deliveries: one row per (notification, device) for push, per (notification, webhook) for
the organisation's webhook; claimed by workers, retried with backoff, dead after N attempts.

A claim is a short committed lease, not a lock held across the provider call: the claiming
transaction picks the next due row with `FOR UPDATE SKIP LOCKED` (PostgreSQL; on SQLite
`BEGIN IMMEDIATE` in models/db.py serialises claimers instead), counts the attempt, moves
`next_attempt_at` past the lease and commits. The worker then sends with no transaction
open and settles in a second short transaction, fenced on the attempt count, so a worker
that lost its lease cannot overwrite a newer claim. A worker killed mid-send leaves exactly
one row in doubt; it becomes due again when the lease runs out (at-least-once for that one
push, which carries the notification id as its collapse key, so the phone shows it once).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import TenantTable, UTCDateTime, new_id, utc_column
from models.db import CHUNK, is_postgresql, one_of
from models.notifications.outbox import PERSONAL_KINDS, Device, Notification
from models.notifications.preferences import Preferences, preferences_for
from models.notifications.webhooks import Webhook, enabled_webhooks


class DeliveryChannel(StrEnum):
    push = "push"
    webhook = "webhook"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    dead = "dead"


class PushOutcome(StrEnum):
    sent = "sent"
    unregistered = "unregistered"
    retry = "retry"


# What a dead letter says when workers kept taking a row and never recorded an outcome.
ABANDONED = "no outcome recorded (worker stopped mid-send)"
WEBHOOK_DISABLED = "webhook disabled"


class Delivery(TenantTable, table=True):
    """One send of one notification over one channel (a device, or the webhook)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "device_id"),
        sa.UniqueConstraint("notification_id", "webhook_id"),
        sa.CheckConstraint(
            "(channel = 'push' AND device_id IS NOT NULL AND webhook_id IS NULL) OR "
            "(channel = 'webhook' AND webhook_id IS NOT NULL AND device_id IS NULL)",
            name="one_target",
        ),
        sa.Index("ix_deliveries_org_status_next", "organisation_id", "status", "next_attempt_at"),
        sa.Index("ix_deliveries_org_created", "organisation_id", "created_at"),
    )

    notification_id: uuid.UUID = Field(foreign_key="notifications.id", ondelete="CASCADE")
    channel: DeliveryChannel = Field(sa_type=sa.String(10))
    device_id: uuid.UUID | None = Field(
        default=None, foreign_key="devices.id", ondelete="CASCADE", nullable=True
    )
    webhook_id: uuid.UUID | None = Field(
        default=None, foreign_key="webhooks.id", ondelete="CASCADE", nullable=True
    )
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=sa.String(10))
    # Claims so far (each claim counts, so a row that kills its workers ends dead too).
    attempts: int = Field(default=0)
    next_attempt_at: datetime = utc_column()
    # An HTTP status or exception name, never provider text (it may echo a token).
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


async def plan_deliveries(
    session: AsyncSession,
    notification_ids: Sequence[uuid.UUID],
    now: datetime,
    *,
    push: bool,
    preferences: Mapping[uuid.UUID, Preferences] | None = None,
) -> int:
    """Pending deliveries for new notifications, due when each may be delivered (quiet hours):
    with `push`, one per device of each recipient who has push enabled; and one to the
    organisation's webhook, if it has an enabled one, except for personal kinds.
    `preferences`: every recipient's, when the caller has read them (a sweep has)."""
    if is_postgresql(session):
        return await _plan_in_sql(
            session, notification_ids, now, push=push, preferences=preferences
        )
    if len(notification_ids) > CHUNK:
        planned = 0
        for start in range(0, len(notification_ids), CHUNK):
            part = notification_ids[start : start + CHUNK]
            planned += await plan_deliveries(session, part, now, push=push, preferences=preferences)
        return planned
    if not notification_ids:
        return 0
    stmt = select(Notification).where(one_of(session, col(Notification.id), notification_ids))
    notes = (await session.exec(stmt)).all()
    rows: list[dict[str, object]] = []

    def add(
        n: Notification,
        channel: DeliveryChannel,
        device_id: uuid.UUID | None = None,
        webhook_id: uuid.UUID | None = None,
    ) -> None:
        rows.append(
            {
                "id": new_id(),
                "organisation_id": n.organisation_id,
                "notification_id": n.id,
                "channel": channel.value,
                "device_id": device_id,
                "webhook_id": webhook_id,
                "status": DeliveryStatus.pending.value,
                "attempts": 0,
                "next_attempt_at": n.deliver_after,
                "created_at": now,
                "updated_at": now,
            }
        )

    for organisation_id in sorted({n.organisation_id for n in notes}, key=str):
        mine = [n for n in notes if n.organisation_id == organisation_id]
        if push:
            wanted = await _push_enabled(
                session, organisation_id, {n.recipient_id for n in mine}, preferences
            )
            phones: dict[uuid.UUID, list[uuid.UUID]] = {}
            devices = select(col(Device.staff_id), col(Device.id)).where(
                col(Device.organisation_id) == organisation_id,
                one_of(session, col(Device.staff_id), wanted),
            )
            for staff_id, device_id in (await session.exec(devices)).all() if wanted else []:
                phones.setdefault(staff_id, []).append(device_id)
            for n in mine:
                for device_id in phones.get(n.recipient_id, []):
                    add(n, DeliveryChannel.push, device_id=device_id)
        hook = (await enabled_webhooks(session, {organisation_id})).get(organisation_id)
        for n in mine:
            if hook is not None and n.kind not in PERSONAL_KINDS:
                add(n, DeliveryChannel.webhook, webhook_id=hook.id)
    if rows:  # one executemany, not an ORM object per row
        await session.exec(sa.insert(Delivery.__table__), params=rows)  # type: ignore[attr-defined]
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    """A delivery taken by one worker, with what it needs to send it."""

    delivery_id: uuid.UUID
    attempt: int  # the fencing token: settle only if the row is still at this attempt
    notification: Notification
    device: Device | None
    webhook: Webhook | None


async def claim_next(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    now: datetime,
    *,
    lease: timedelta,
    max_attempts: int,
) -> Claimed | None:
    """Take the next due delivery: count the attempt and hold it for `lease` (the caller
    commits before sending). Rows whose attempts ran out without an outcome go dead."""
    while True:
        stmt = (
            select(Delivery)
            .where(
                col(Delivery.organisation_id) == organisation_id,
                col(Delivery.status) == DeliveryStatus.pending.value,
                col(Delivery.next_attempt_at) <= now,
            )
            .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = (await session.exec(stmt)).first()
        if row is None:
            return None
        row.updated_at = now
        webhook = await session.get(Webhook, row.webhook_id) if row.webhook_id else None
        refused = _refusal(row, webhook, max_attempts)
        if refused is not None:
            row.status = DeliveryStatus.dead
            row.last_error = refused
            session.add(row)
            await session.flush()
            continue
        row.attempts += 1
        row.next_attempt_at = now + lease
        session.add(row)
        await session.flush()
        notification = await session.get_one(Notification, row.notification_id)
        device = await session.get(Device, row.device_id) if row.device_id else None
        return Claimed(row.id, row.attempts, notification, device, webhook)


def _refusal(row: Delivery, webhook: Webhook | None, max_attempts: int) -> str | None:
    """Why a due row goes dead instead of out: its attempts ran out without an outcome, or
    the admin switched its webhook off after it was planned (an admin may retry it later)."""
    if row.attempts >= max_attempts:
        return ABANDONED
    if webhook is not None and not webhook.enabled:
        return WEBHOOK_DISABLED
    return None


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """Exponential: base, 2x base, 4x base, ... after the 1st, 2nd, 3rd failed attempt."""
    return timedelta(seconds=base_seconds * 2 ** max(0, attempts - 1))


async def settle(
    session: AsyncSession,
    claimed: Claimed,
    outcome: PushOutcome,
    now: datetime,
    *,
    max_attempts: int,
    base_seconds: int,
    error: str | None = None,
) -> bool:
    """Record what the provider said: sent; unregistered (the device goes, and with it its
    deliveries); or retry after a backoff, dead after `max_attempts`. Returns False when the
    claim was lost meanwhile (another worker holds a newer attempt: its outcome stands)."""
    if outcome is PushOutcome.unregistered and claimed.device is not None:
        await session.exec(sa.delete(Device).where(col(Device.id) == claimed.device.id))
        return True
    values: dict[str, object] = {"updated_at": now}
    if outcome is PushOutcome.sent:
        values.update(status=DeliveryStatus.sent.value, last_error=None)
    else:
        values["last_error"] = (error or "")[:200] or None
        if claimed.attempt >= max_attempts:
            values["status"] = DeliveryStatus.dead.value
        else:
            values["next_attempt_at"] = now + backoff(claimed.attempt, base_seconds)
    result = await session.exec(
        sa.update(Delivery)
        .where(
            col(Delivery.id) == claimed.delivery_id,
            col(Delivery.attempts) == claimed.attempt,
            col(Delivery.status) == DeliveryStatus.pending.value,
        )
        .values(values)
    )
    return bool(result.rowcount)


# What retention may delete: a delivery whose outcome is final (pending rows always stay).
SETTLED = (DeliveryStatus.sent.value, DeliveryStatus.dead.value)


async def purge_settled(session: AsyncSession, organisation_id: uuid.UUID, before: datetime) -> int:
    """Delete the organisation's sent and dead deliveries last touched before `before`;
    returns how many. The notification (the inbox entry, and the key that keeps a reminder
    from being sent twice) stays: only the record of each send goes."""
    result = await session.exec(
        sa.delete(Delivery).where(
            col(Delivery.organisation_id) == organisation_id,
            col(Delivery.status).in_(SETTLED),
            col(Delivery.updated_at) < before,
        )
    )
    return int(result.rowcount)


async def _push_enabled(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    recipients: set[uuid.UUID],
    preferences: Mapping[uuid.UUID, Preferences] | None,
) -> set[uuid.UUID]:
    """Which of `recipients` have push enabled (their `preferences`, or read here)."""
    prefs = (
        preferences
        if preferences is not None
        else await preferences_for(session, organisation_id, recipients)
    )
    return {sid for sid in recipients if (pref := prefs.get(sid)) and pref.push_enabled}


async def _plan_in_sql(
    session: AsyncSession,
    notification_ids: Sequence[uuid.UUID],
    now: datetime,
    *,
    push: bool,
    preferences: Mapping[uuid.UUID, Preferences] | None,
) -> int:
    """`plan_deliveries` on PostgreSQL: the rows made by INSERT ... SELECT from the
    notifications (joined to the recipients' devices for push), not built in Python and
    sent one by one; a fixed number of statements per organisation, whatever the number of
    notifications (a first sweep of a 5,000-person council plans 9,000 at once)."""
    if not notification_ids:
        return 0
    n, d = Notification, Device
    these = one_of(session, col(n.id), notification_ids)
    stmt = select(col(n.organisation_id), col(n.recipient_id)).where(these).distinct()
    recipients: dict[uuid.UUID, set[uuid.UUID]] = {}
    for organisation_id, recipient_id in (await session.exec(stmt)).all():
        recipients.setdefault(organisation_id, set()).add(recipient_id)
    hooks = await enabled_webhooks(session, set(recipients))
    table: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
    columns = [
        "id",
        "organisation_id",
        "notification_id",
        "channel",
        "device_id",
        "webhook_id",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "updated_at",
    ]
    at = sa.bindparam("now", now, type_=UTCDateTime())

    def rows(channel: DeliveryChannel, device: Any, webhook: Any) -> sa.Select[Any]:
        return sa.select(
            sa.func.gen_random_uuid(),
            col(n.organisation_id),
            col(n.id),
            sa.literal(channel.value),
            device,
            webhook,
            sa.literal(DeliveryStatus.pending.value),
            sa.literal(0),
            col(n.deliver_after),
            at,
            at,
        )

    planned = 0
    for organisation_id in sorted(recipients, key=str):
        mine = col(n.organisation_id) == organisation_id
        if push:
            wanted = await _push_enabled(
                session, organisation_id, recipients[organisation_id], preferences
            )
            if wanted:
                phones = (
                    rows(DeliveryChannel.push, col(d.id), sa.null())
                    .join(
                        d,
                        sa.and_(
                            col(d.organisation_id) == col(n.organisation_id),
                            col(d.staff_id) == col(n.recipient_id),
                        ),
                    )
                    .where(these, mine, one_of(session, col(n.recipient_id), wanted))
                )
                result = await session.exec(sa.insert(table).from_select(columns, phones))
                planned += result.rowcount
        hook = hooks.get(organisation_id)
        if hook is not None:
            webhook = rows(DeliveryChannel.webhook, sa.null(), sa.literal(hook.id)).where(
                these, mine, col(n.kind).not_in([k.value for k in PERSONAL_KINDS])
            )
            result = await session.exec(sa.insert(table).from_select(columns, webhook))
            planned += result.rowcount
    return planned
