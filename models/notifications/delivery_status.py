"""What an admin sees of deliveries (push and webhook): their own organisation's, through
statements filtered by it; and the one thing an admin may do, retry a dead letter.

A delivery is shown by ids and states only: no device token, no webhook URL, no names. A
personal reminder (`PERSONAL_KINDS`: a check-in nudge goes only to someone who has not checked
in this week) is shown without its recipient or their phone's platform, so the view cannot
tell an admin who that is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from models.actor import Actor
from models.directory.staff import Role
from models.errors import Conflict, Forbidden, NotFound
from models.notifications.deliveries import Delivery, DeliveryChannel, DeliveryStatus
from models.notifications.outbox import (
    PERSONAL_KINDS,
    Device,
    Notification,
    NotificationKind,
    Platform,
)
from models.notifications.webhooks import Webhook
from models.pagination import Keyset, keyset_page


@dataclass(frozen=True)
class DeliveryView:
    """One delivery as an admin sees it."""

    id: uuid.UUID
    notification_id: uuid.UUID
    kind: NotificationKind
    recipient_id: uuid.UUID | None  # None for personal kinds
    channel: DeliveryChannel
    platform: Platform | None  # the device's, for push; None for webhook and personal kinds
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ChannelCounts:
    channel: DeliveryChannel
    pending: int
    sent: int
    dead: int


def _require_admin(actor: Actor) -> None:
    # The routes guard the role too; this keeps a route that forgot from reading recipients.
    if not actor.has(Role.admin):
        raise Forbidden("This needs the admin role.")


# A row: the delivery, its notification's kind and recipient, its device's platform (or None).
Readable = Select[Delivery, NotificationKind, uuid.UUID, Platform]


def readable_deliveries(actor: Actor) -> Readable:
    """The organisation's deliveries with what the view shows of their notification and
    device (the platform only), for an admin."""
    return (
        select(
            Delivery, col(Notification.kind), col(Notification.recipient_id), col(Device.platform)
        )
        .join(Notification, col(Notification.id) == col(Delivery.notification_id))
        .outerjoin(Device, col(Device.id) == col(Delivery.device_id))
        .where(
            col(Delivery.organisation_id) == actor.organisation_id,
            col(Notification.organisation_id) == actor.organisation_id,
        )
    )


def _view(row: Delivery, kind: str, recipient_id: uuid.UUID, platform: str | None) -> DeliveryView:
    what = NotificationKind(kind)
    # A phone's platform singles people out too (the one iPhone in a team of Android users),
    # so a personal reminder shows neither its recipient nor their platform.
    personal = what in PERSONAL_KINDS
    return DeliveryView(
        id=row.id,
        notification_id=row.notification_id,
        kind=what,
        recipient_id=None if personal else recipient_id,
        channel=DeliveryChannel(row.channel),
        platform=Platform(platform) if platform is not None and not personal else None,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_LATEST_CREATED = Keyset[Any](
    col(Delivery.created_at), col(Delivery.id), lambda r: (r[0].created_at, r[0].id)
)


async def list_deliveries(
    session: AsyncSession,
    actor: Actor,
    *,
    status: DeliveryStatus | None,
    channel: DeliveryChannel | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeliveryView], str | None]:
    """The organisation's deliveries, newest first, optionally of one status or channel."""
    _require_admin(actor)
    stmt = readable_deliveries(actor)
    if status is not None:
        stmt = stmt.where(col(Delivery.status) == status.value)
    if channel is not None:
        stmt = stmt.where(col(Delivery.channel) == channel.value)
    rows, next_cursor = await keyset_page(
        session, stmt, _LATEST_CREATED, limit=limit, cursor=cursor
    )
    return [_view(*row) for row in rows], next_cursor


async def get_delivery(session: AsyncSession, actor: Actor, delivery_id: uuid.UUID) -> DeliveryView:
    """One of the organisation's deliveries (404 for another organisation's)."""
    _require_admin(actor)
    stmt = readable_deliveries(actor).where(col(Delivery.id) == delivery_id)
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound("No such delivery.")
    return _view(*row)


async def delivery_summary(
    session: AsyncSession, actor: Actor
) -> tuple[list[ChannelCounts], datetime | None]:
    """Counts by channel and status (every channel, zeros included), and the earliest next
    attempt of a pending delivery."""
    _require_admin(actor)
    mine = col(Delivery.organisation_id) == actor.organisation_id
    counted = (
        await session.exec(
            select(col(Delivery.channel), col(Delivery.status), func.count())
            .where(mine)
            .group_by(col(Delivery.channel), col(Delivery.status))
        )
    ).all()
    counts = {(str(c), str(s)): int(n) for c, s, n in counted}
    channels = [
        ChannelCounts(
            channel=channel,
            pending=counts.get((channel.value, DeliveryStatus.pending.value), 0),
            sent=counts.get((channel.value, DeliveryStatus.sent.value), 0),
            dead=counts.get((channel.value, DeliveryStatus.dead.value), 0),
        )
        for channel in DeliveryChannel
    ]
    oldest = (
        await session.exec(
            select(func.min(col(Delivery.next_attempt_at))).where(
                mine, col(Delivery.status) == DeliveryStatus.pending.value
            )
        )
    ).one()
    return channels, oldest


@dataclass(frozen=True)
class Backlog:
    """The platform's delivery backlog, for `/metrics`: counts only, over every organisation,
    with no organisation, person or device in them."""

    pending: dict[DeliveryChannel, int]  # waiting, due now or later (quiet hours, backoff)
    due: dict[DeliveryChannel, int]  # pending and due now: what the worker should be sending
    dead: dict[DeliveryChannel, int]
    oldest_due: datetime | None  # the earliest next attempt among the due ones


async def delivery_backlog(session: AsyncSession, now: datetime) -> Backlog:
    """One grouped read over pending and dead deliveries (sent ones are not counted: retention
    bounds them, and a worker's progress shows in `due` falling)."""
    is_due = sa.and_(
        col(Delivery.status) == DeliveryStatus.pending.value, col(Delivery.next_attempt_at) <= now
    )
    stmt = (
        sa.select(
            col(Delivery.channel),
            col(Delivery.status),
            func.count(),
            func.sum(sa.case((is_due, 1), else_=0)),
            sa.type_coerce(
                func.min(sa.case((is_due, col(Delivery.next_attempt_at)))),
                Delivery.__table__.c.next_attempt_at.type,  # type: ignore[attr-defined]
            ),
        )
        .where(col(Delivery.status).in_([DeliveryStatus.pending.value, DeliveryStatus.dead.value]))
        .group_by(col(Delivery.channel), col(Delivery.status))
    )
    pending = dict.fromkeys(DeliveryChannel, 0)
    due = dict.fromkeys(DeliveryChannel, 0)
    dead = dict.fromkeys(DeliveryChannel, 0)
    oldest: datetime | None = None
    connection = await session.connection()
    for channel, status, count, due_count, earliest in (await connection.execute(stmt)).all():
        which = DeliveryChannel(channel)
        if status == DeliveryStatus.dead.value:
            dead[which] = int(count)
            continue
        pending[which] = int(count)
        due[which] = int(due_count or 0)
        if earliest is not None and (oldest is None or earliest < oldest):
            oldest = earliest
    return Backlog(pending=pending, due=due, dead=dead, oldest_due=oldest)


async def retry_delivery(
    session: AsyncSession, actor: Actor, delivery_id: uuid.UUID, now: datetime
) -> DeliveryView:
    """Send a dead delivery again from now, with a fresh count of attempts (409 unless it is
    dead, or when its webhook is switched off)."""
    _require_admin(actor)
    stmt = select(Delivery).where(
        col(Delivery.organisation_id) == actor.organisation_id, col(Delivery.id) == delivery_id
    )
    row = (await session.exec(stmt.with_for_update())).first()
    if row is None:
        raise NotFound("No such delivery.")
    if row.status != DeliveryStatus.dead:
        raise Conflict(
            f"Only a dead delivery can be retried; this one is {row.status}.", kind="wrong-state"
        )
    if row.webhook_id is not None:
        webhook = await session.get(Webhook, row.webhook_id)
        # Planning skips a disabled webhook; a retry must not send to it either.
        if webhook is None or not webhook.enabled:
            raise Conflict(
                "The webhook is disabled; enable it before retrying.", kind="wrong-state"
            )
    row.status = DeliveryStatus.pending
    row.attempts = 0
    row.next_attempt_at = now
    row.last_error = None
    row.updated_at = now
    session.add(row)
    await session.flush()
    return await get_delivery(session, actor, delivery_id)
