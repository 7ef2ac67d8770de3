"""Delivery: send due pushes and webhook messages, several claimed rows at a time.

Per row: claim (a short committed lease, models/deliveries.py), send with no transaction
open, settle (a second short transaction). Nothing holds a row lock, or SQLite's write lock,
while a provider is answering, so lanes sending at once wait on the provider, not each other.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.push import Pusher, PushResult, pusher_from_settings
from api.delivery.webhook_sender import NewClient, WebhookSender
from api.settings import Settings
from models.db import session_scope
from models.notifications.deliveries import Claimed, PushOutcome, claim_next, settle
from models.notifications.outbox import Platform, organisation_ids

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
    """Retries, leases and pace (from the settings in a worker)."""

    max_attempts: int = 5
    backoff_seconds: int = 60
    lease_seconds: int = 120
    # Claims per organisation per turn: organisations take turns, so no tenant starves another.
    per_organisation: int = 100
    # Sends in flight at once: providers take 50-200 ms a call, so one at a time would cap a
    # worker near ten pushes a second. A worker killed mid-run leaves at most this many in
    # doubt (each sent again after its lease, under the same collapse id).
    concurrency: int = 8

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            max_attempts=settings.delivery_max_attempts,
            backoff_seconds=settings.delivery_backoff_seconds,
            lease_seconds=settings.delivery_lease_seconds,
            concurrency=settings.delivery_concurrency,
        )


def pool_size_for(policy: DeliveryPolicy) -> int:
    """Connections a deliverer wants: lanes hold one only to claim and to settle, so half as
    many as lanes, plus the scheduler's other jobs."""
    return 2 + policy.concurrency // 2


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    channels: Channels,
    clock: Callable[[], datetime],
    policy: DeliveryPolicy = DeliveryPolicy(),
) -> int:
    """Send everything due: organisations take turns of up to `policy.per_organisation`
    claims until none has anything due; returns how many sends were attempted."""
    async with sessions() as session:
        waiting = await organisation_ids(session)
    attempted = 0
    while waiting:
        turn = _Turn(sessions, channels, clock, policy)
        still: list[uuid.UUID] = []
        for organisation_id in waiting:
            sent, drained = await turn.run(organisation_id)
            attempted += sent
            if not drained:
                still.append(organisation_id)
        waiting = still
    return attempted


@dataclass
class _Turn:
    """One organisation's turn: `policy.concurrency` lanes, each claiming, sending and
    settling one row at a time, until the turn's claims are spent or nothing is due."""

    sessions: async_sessionmaker[AsyncSession]
    channels: Channels
    clock: Callable[[], datetime]
    policy: DeliveryPolicy
    _budget: int = 0
    _attempted: int = 0
    _drained: bool = False
    _failure: Exception | None = None

    async def run(self, organisation_id: uuid.UUID) -> tuple[int, bool]:
        """Returns (sends attempted, whether nothing more is due). A lane's error stops new
        claims; the other lanes' sends in flight finish and are recorded, then it is raised."""
        self._budget, self._attempted, self._drained = self.policy.per_organisation, 0, False
        lanes = min(self.policy.concurrency, self.policy.per_organisation)
        await asyncio.gather(*(self._lane(organisation_id) for _ in range(lanes)))
        if self._failure is not None:
            raise self._failure
        return self._attempted, self._drained

    async def _lane(self, organisation_id: uuid.UUID) -> None:
        while self._budget > 0 and not self._drained and self._failure is None:
            self._budget -= 1
            try:
                if not await self._one(organisation_id):
                    self._drained = True
                    return
            except Exception as exc:  # re-raised by run() once every lane has stopped
                self._failure = self._failure or exc
                return
            self._attempted += 1

    async def _one(self, organisation_id: uuid.UUID) -> bool:
        """Claim, send and settle one delivery; False when nothing is due."""
        policy = self.policy
        async with session_scope(self.sessions) as session:
            claimed = await claim_next(
                session,
                organisation_id,
                self.clock(),
                lease=timedelta(seconds=policy.lease_seconds),
                max_attempts=policy.max_attempts,
            )
        if claimed is None:
            return False
        result = await self.channels.send(claimed)
        async with session_scope(self.sessions) as session:
            kept = await settle(
                session,
                claimed,
                result.outcome,
                self.clock(),
                max_attempts=policy.max_attempts,
                base_seconds=policy.backoff_seconds,
                error=result.error,
            )
        if not kept:
            log.warning(
                "delivery %s: claim lost before its outcome was recorded", claimed.delivery_id
            )
        return True
