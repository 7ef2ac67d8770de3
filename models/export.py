"""Shared parts of the personal export (`GET /me/export`).

The export document itself is assembled in `api/routes/privacy.py` (the composition root),
one section per domain, each from a domain function that reads only the caller's own rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class ReadByMe(BaseModel):
    """A read I made of someone else's data."""

    subject_id: uuid.UUID
    resource_type: str
    resource_id: uuid.UUID
    reason: str
    at: datetime
