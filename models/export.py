"""The personal export (`GET /me/export`): everything Harbour holds about one person.

Each domain contributes a section: add a field here and fill it in `api/routes/privacy.py`
from a domain function that reads only the caller's own rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from models.reflection import ReflectionExport
from models.schemas import AccessLogEntry, StaffPublic
from models.supervision import FeedbackPublic


class ReadByMe(BaseModel):
    """A read I made of someone else's data."""

    subject_id: uuid.UUID
    resource_type: str
    resource_id: uuid.UUID
    reason: str
    at: datetime


class PersonalExport(BaseModel):
    generated_at: datetime
    profile: StaffPublic
    reflections: list[ReflectionExport]
    session_feedback: list[FeedbackPublic]
    reads_of_my_data: list[AccessLogEntry]
    my_reads_of_others: list[ReadByMe]
