"""The organisation's webhook channel: each reminder POSTed as JSON, signed (Standard Webhooks).

The body names no one: ids, the kind and times only (`webhook_data`). The `webhook-id`
header is the delivery id, the same on every retry, so a receiver that keeps the ids it has
seen processes each reminder once even when a worker died between its send and its record.
Redirects are not followed (httpx's default): the signed body goes to the configured URL only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from api.push import PushResult
from models.crypto import KeyRing, Undecryptable
from models.deliveries import PushOutcome
from models.notifications import Notification
from models.webhooks import Webhook, open_secret, signature

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


class WebhookSender:
    """Signs and POSTs one message per delivery to the organisation's webhook URL."""

    def __init__(
        self, client: httpx.AsyncClient, ring: KeyRing, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.ring = ring
        self.clock = clock

    async def send(
        self, webhook: Webhook, message_id: str, notification: Notification
    ) -> PushResult:
        try:
            secret = open_secret(self.ring, webhook)
        except Undecryptable:
            return PushResult(PushOutcome.retry, "webhook secret does not open")
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
