"""Request and response bodies for the organisation's webhook. The secret appears in a body
only when it is made (create, rotate): `WebhookPublic` has no field that could carry it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from models.schemas import Request

URL_MAX_LENGTH = 2000


class WebhookPut(Request):
    """The whole webhook (PUT replaces it); the URL rules are in `models.webhooks.check_url`."""

    url: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=URL_MAX_LENGTH)
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
