"""Delivery: send due pushes and webhook messages, one claimed row at a time.

Per row: claim (a short committed lease, models/deliveries.py), send with no transaction
open, settle (a second short transaction). Nothing holds a row lock, or SQLite's write lock,
while a provider is answering.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.push import Pusher, PushResult, pusher_from_settings
from api.settings import Settings
from api.webhook import NewClient, WebhookSender
from models.db import session_scope
from models.deliveries import Claimed, PushOutcome, claim_next, settle
from models.notifications import Platform, organisation_ids

log = logging.getLogger("harbour.delivery")


@dataclass
class Channels:
    """Everything a delivery can go out through: push senders and the webhook sender."""

    webhooks: WebhookSender
    pusher: Pusher = field(default_factory=Pusher)

    async def send(self, claimed: Claimed) -> PushResult:
        if claimed.webhook is not None:
            return await self.webhooks.send(
                claimed.webhook, str(claimed.delivery_id), claimed.notification
            )
        if claimed.device is None:  # the device went between claim and load: nothing to do
            return PushResult(PushOutcome.unregistered, "device removed")
        sender = self.pusher.sender_for(Platform(claimed.device.platform))
        if sender is None:
            return PushResult(PushOutcome.retry, "push not configured for this platform")
        return await sender.send(claimed.device.token, claimed.notification)


def channels_from_settings(
    settings: Settings, client: httpx.AsyncClient, webhook_clients: NewClient
) -> Channels:
    """The channels a worker delivers through: push over one shared HTTP client, the webhook
    over a fresh one per message (its connection is pinned to an address checked for it)."""
    return Channels(
        webhooks=WebhookSender(
            webhook_clients, settings.key_ring(), allow_insecure=settings.webhook_allow_insecure
        ),
        pusher=pusher_from_settings(settings, client),
    )


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retries and leases (from the settings in a worker)."""

    max_attempts: int = 5
    backoff_seconds: int = 60
    lease_seconds: int = 120
    per_organisation: int = 100  # rows per organisation per run, so no tenant starves another

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            max_attempts=settings.delivery_max_attempts,
            backoff_seconds=settings.delivery_backoff_seconds,
            lease_seconds=settings.delivery_lease_seconds,
        )


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    channels: Channels,
    clock: Callable[[], datetime],
    policy: DeliveryPolicy = DeliveryPolicy(),
) -> int:
    """Send what is due, up to `policy.per_organisation` rows per organisation; returns how
    many sends were attempted."""
    async with sessions() as session:
        organisations = await organisation_ids(session)
    lease = timedelta(seconds=policy.lease_seconds)
    attempted = 0
    for organisation_id in organisations:
        for _ in range(policy.per_organisation):
            async with session_scope(sessions) as session:
                claimed = await claim_next(
                    session,
                    organisation_id,
                    clock(),
                    lease=lease,
                    max_attempts=policy.max_attempts,
                )
            if claimed is None:
                break
            result = await channels.send(claimed)
            async with session_scope(sessions) as session:
                kept = await settle(
                    session,
                    claimed,
                    result.outcome,
                    clock(),
                    max_attempts=policy.max_attempts,
                    base_seconds=policy.backoff_seconds,
                    error=result.error,
                )
            if not kept:
                log.warning(
                    "delivery %s: claim lost before its outcome was recorded", claimed.delivery_id
                )
            attempted += 1
    return attempted
