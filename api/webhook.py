"""The organisation's webhook channel: each reminder POSTed as JSON, signed (Standard Webhooks).

The body names no one: ids, the kind and times only (`webhook_data`). The `webhook-id`
header is the delivery id, the same on every retry, so a receiver that keeps the ids it has
seen processes each reminder once even when a worker died between its send and its record.
Redirects are not followed (httpx's default): the signed body goes to the configured URL only.
The URL's host was checked when the admin saved it (models/webhooks.py); a name is resolved
again before each send, and a name that now points into a private network is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections.abc import Awaitable, Callable

import httpx

from api.push import PushResult
from models.crypto import KeyRing, Undecryptable
from models.deliveries import PushOutcome
from models.notifications import Notification
from models.webhooks import Webhook, is_public, open_secret, signature

EVENT_TYPE = "notification.created"


def webhook_data(notification: Notification) -> dict[str, str]:
    """What the webhook learns of a reminder: ids, kind and times; no names, no text."""
    return {
        "notification_id": str(notification.id),
        "kind": str(notification.kind),
        "recipient_id": str(notification.recipient_id),
        "subject_id": str(notification.subject_id),
        "occurrence": notification.occurrence,
        "deliver_after": notification.deliver_after.isoformat(),
    }


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class WebhookSender:
    """Signs and POSTs one message per delivery to the organisation's webhook URL."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        ring: KeyRing,
        *,
        allow_insecure: bool = False,
        resolver: Resolver = resolve,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.ring = ring
        self.allow_insecure = allow_insecure
        self.resolver = resolver
        self.clock = clock

    async def refusal(self, url: str) -> str | None:
        """Why the URL's host may not be sent to now (it resolves into a private network, or
        not at all); None when it may."""
        if self.allow_insecure:
            return None
        parts = httpx.URL(url)
        try:
            addresses = await self.resolver(parts.host, parts.port or 443)
        except OSError as exc:
            return f"resolve: {type(exc).__name__}"
        if not addresses or not all(is_public(ipaddress.ip_address(a)) for a in addresses):
            return "webhook host resolves to a private address"
        return None

    async def send(
        self, webhook: Webhook, message_id: str, notification: Notification
    ) -> PushResult:
        try:
            secret = open_secret(self.ring, webhook)
        except Undecryptable:
            return PushResult(PushOutcome.retry, "webhook secret does not open")
        refused = await self.refusal(webhook.url)
        if refused is not None:
            return PushResult(PushOutcome.retry, refused)
        body = json.dumps(
            {
                "type": EVENT_TYPE,
                "timestamp": notification.created_at.isoformat(),
                "data": webhook_data(notification),
            },
            separators=(",", ":"),
        ).encode()
        stamp = int(self.clock())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature(secret, message_id, stamp, body),
        }
        try:
            response = await self.client.post(webhook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return PushResult(PushOutcome.retry, type(exc).__name__)
        if response.is_success:
            return PushResult(PushOutcome.sent)
        return PushResult(PushOutcome.retry, f"HTTP {response.status_code}")
