"""Request and response bodies of notifications: the inbox, devices and preferences; the
admin's view of deliveries (no device token, no webhook URL or secret, no names, and no
recipient or platform on a personal reminder: `PERSONAL_KINDS`); and the organisation's
webhook, whose secret appears in a body only when it is made (create, rotate)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from models.notifications.deliveries import DeliveryChannel, DeliveryStatus
from models.notifications.outbox import NotificationKind, Platform
from models.notifications.webhooks import URL_MAX_LENGTH
from models.schemas import LocalTime, Request, TimeZone, sent_at_most


class NotificationPublic(BaseModel):
    """What a notification shows: its kind and subject id, never a name or note text."""

    id: uuid.UUID
    kind: NotificationKind
    subject_id: uuid.UUID
    occurrence: str
    created_at: datetime
    deliver_after: datetime
    read_at: datetime | None


class DeviceCreate(Request):
    platform: Platform
    token: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=4096),
        sent_at_most(4096),
    ]


class DevicePublic(BaseModel):
    id: uuid.UUID
    platform: Platform
    created_at: datetime


class PreferencesBody(Request):
    """All of my notification preferences (PUT replaces them)."""

    timezone: TimeZone
    quiet_hours_start: LocalTime | None = None
    quiet_hours_end: LocalTime | None = None
    checkin_nudge_weekday: Annotated[int | None, Field(ge=1, le=7)] = None
    checkin_nudge_time: LocalTime | None = None
    push_enabled: bool = True


class PreferencesPublic(BaseModel):
    timezone: str
    quiet_hours_start: LocalTime | None
    quiet_hours_end: LocalTime | None
    checkin_nudge_weekday: int | None
    checkin_nudge_time: LocalTime | None
    push_enabled: bool


# --- deliveries (admin) ------------------------------------------------------------


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


# --- the organisation's webhook ----------------------------------------------------


class WebhookPut(Request):
    """The whole webhook (PUT replaces it); the URL rules are in `webhooks.check_url`."""

    url: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=URL_MAX_LENGTH),
        sent_at_most(URL_MAX_LENGTH),
    ]
    enabled: bool


class WebhookPublic(BaseModel):
    id: uuid.UUID
    url: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookPublic):
    """The webhook and its signing secret: answered once, when the secret is made."""

    secret: str
