"""Response bodies for the admin's view of deliveries: no device token, no webhook URL or
secret, no names; and no recipient or platform on a personal reminder (`PERSONAL_KINDS`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from models.deliveries import DeliveryChannel, DeliveryStatus
from models.notifications import NotificationKind, Platform


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    notification_id: uuid.UUID
    kind: NotificationKind
    # Null for personal kinds: a check-in nudge says its recipient has not checked in.
    recipient_id: uuid.UUID | None
    channel: DeliveryChannel
    # The device's platform for push; null for the webhook, and for personal kinds (a
    # platform few in the organisation use would name the recipient as surely as an id).
    platform: Platform | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ChannelSummary(BaseModel):
    channel: DeliveryChannel
    pending: int
    sent: int
    dead: int


class DeliverySummary(BaseModel):
    channels: list[ChannelSummary]
    # The earliest next attempt of a pending delivery (null when nothing is pending).
    oldest_due_at: datetime | None
