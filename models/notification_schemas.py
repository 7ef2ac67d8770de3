"""Request and response bodies for notifications, devices and notification preferences."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from models.notifications import NotificationKind, Platform
from models.schemas import Request, TimeZone


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
    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)]


class DevicePublic(BaseModel):
    id: uuid.UUID
    platform: Platform
    created_at: datetime


class PreferencesBody(Request):
    """All of my notification preferences (PUT replaces them)."""

    timezone: TimeZone
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    checkin_nudge_weekday: Annotated[int | None, Field(ge=1, le=7)] = None
    checkin_nudge_time: time | None = None
    push_enabled: bool = True


class PreferencesPublic(BaseModel):
    timezone: str
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    checkin_nudge_weekday: int | None
    checkin_nudge_time: time | None
    push_enabled: bool
