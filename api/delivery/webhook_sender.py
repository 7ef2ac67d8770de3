"""The organisation's webhook channel: each reminder POSTed as JSON, signed (Standard Webhooks).

The body names no one: ids, the kind and times only (`webhook_data`). The `webhook-id`
header is the delivery id, the same on every retry, so a receiver that keeps the ids it has
seen processes each reminder once even when a worker died between its send and its record.
Redirects are not followed (httpx's default): the signed body goes to the configured URL only.
The URL's host was checked when the admin saved it (models/webhooks.py). Before each send the
name is resolved once and refused if any answer is private; otherwise the connection goes to
the first answer (the URL's host becomes that address), while the Host header, TLS SNI and
the certificate check keep the name (httpcore's `sni_hostname` extension). No second lookup
happens, so a name that changes its answer after the check (DNS rebinding) cannot redirect
the request. Each message opens a connection of its own: a pooled connection to the same
address would have been verified for whichever name opened it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from api.delivery.push import PushResult
from models.crypto import KeyRing, Undecryptable
from models.notifications.deliveries import PushOutcome
from models.notifications.outbox import Notification
from models.notifications.webhooks import Address, Webhook, is_public, open_secret, signature

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
# A fresh client per message, closed after it (share one SSL context between them: loading
# the trust store is the expensive part of making a client).
NewClient = Callable[[], httpx.AsyncClient]


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Route:
    """Where one message goes: the URL to connect to, and what keeps the URL's host name."""

    url: httpx.URL
    host: dict[str, str]  # the Host header, when the URL's host was replaced by an address
    tls: dict[str, str]  # request extensions: the name for SNI and the certificate check


class WebhookSender:
    """Signs and POSTs one message per delivery to the organisation's webhook URL."""

    def __init__(
        self,
        new_client: NewClient,
        ring: KeyRing,
        *,
        allow_insecure: bool = False,
        resolver: Resolver = resolve,
        allowed: Callable[[Address], bool] = is_public,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.new_client = new_client
        self.ring = ring
        self.allow_insecure = allow_insecure
        self.resolver = resolver
        self.allowed = allowed  # tests let a loopback address stand in for a public one
        self.clock = clock

    async def route(self, url: str) -> Route | str:
        """The URL pinned to the one address its host resolved to and that was checked, or
        why it may not be sent to now (it resolves into a private network, or not at all)."""
        parts = httpx.URL(url)
        if self.allow_insecure:
            # Development and tests allow every address, so there is nothing to pin against;
            # httpx connects as it would (trying each address of "localhost", say).
            return Route(parts, {}, {})
        host = parts.raw_host.decode("ascii")
        try:
            answers = await self.resolver(host, parts.port or 443)
        except OSError as exc:
            return f"resolve: {type(exc).__name__}"
        addresses = [ipaddress.ip_address(a) for a in answers]
        if not addresses or not all(self.allowed(a) for a in addresses):
            return "webhook host resolves to a private address"
        # All answers passed; the first is the resolver's preference (no fallback to others).
        return Route(
            parts.copy_with(host=str(addresses[0])),  # brackets an IPv6 address
            {"host": parts.netloc.decode("ascii")},  # with the port when it is not 443
            {"sni_hostname": host},
        )

    async def send(
        self, webhook: Webhook, message_id: str, notification: Notification
    ) -> PushResult:
        try:
            secret = open_secret(self.ring, webhook)
        except Undecryptable:
            return PushResult(PushOutcome.retry, "webhook secret does not open")
        route = await self.route(webhook.url)
        if isinstance(route, str):
            return PushResult(PushOutcome.retry, route)
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
            async with self.new_client() as client:
                response = await client.post(
                    route.url, content=body, headers=headers | route.host, extensions=route.tls
                )
        except httpx.HTTPError as exc:
            return PushResult(PushOutcome.retry, type(exc).__name__)
        if response.is_success:
            return PushResult(PushOutcome.sent)
        return PushResult(PushOutcome.retry, f"HTTP {response.status_code}")
