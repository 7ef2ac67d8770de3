"""Factories for notification tables and the organisation's webhook."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.webhook_sender import Resolver
from models.crypto import KeyRing
from models.directory.staff import Staff
from models.notifications.outbox import Due, NotificationKind, enqueue
from models.notifications.webhooks import Webhook, new_secret, seal_secret


async def make_notification(
    db: AsyncSession,
    recipient: Staff,
    *,
    now: datetime,
    kind: NotificationKind = NotificationKind.action_due,
    subject_id: uuid.UUID | None = None,
    occurrence: str = "2026-11-23",
    deliver_after: datetime | None = None,
) -> uuid.UUID:
    due = Due(
        organisation_id=recipient.organisation_id,
        recipient_id=recipient.id,
        kind=kind,
        subject_id=subject_id or uuid.uuid4(),
        occurrence=occurrence,
        deliver_after=deliver_after or now,
    )
    (created,) = await enqueue(db, [due], now)
    return created


def webhook_row(
    ring: KeyRing,
    organisation_id: uuid.UUID,
    *,
    now: datetime,
    url: str = "https://hooks.example.com/harbour",
    enabled: bool = True,
) -> tuple[Webhook, str]:
    """An organisation's webhook, in memory, and its plaintext secret (sealed in the row)."""
    webhook_id = uuid.uuid4()
    secret = new_secret()
    row = Webhook(
        id=webhook_id,
        organisation_id=organisation_id,
        url=url,
        secret=seal_secret(ring, webhook_id, secret),
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    return row, secret


async def make_webhook(
    db: AsyncSession,
    ring: KeyRing,
    organisation_id: uuid.UUID,
    *,
    now: datetime,
    enabled: bool = True,
) -> tuple[Webhook, str]:
    """`webhook_row`, stored."""
    row, secret = webhook_row(ring, organisation_id, now=now, enabled=enabled)
    db.add(row)
    await db.flush()
    return row, secret


def resolving_to(*addresses: str) -> Resolver:
    """A webhook resolver for tests (no DNS here): every name resolves to `addresses`."""

    async def resolve(_host: str, _port: int) -> list[str]:
        return list(addresses)

    return resolve


resolves_publicly = resolving_to("93.184.216.34")
