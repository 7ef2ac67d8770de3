"""The case decision export: decisions, rationale, actions and dates; nothing reflective."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel

from models.schemas import Scaling
from models.supervision import ActionStatus


class CaseDecision(BaseModel):
    session_id: uuid.UUID
    held_on: date | None
    supervisee_id: uuid.UUID
    supervisee_name: str
    supervisor_id: uuid.UUID
    supervisor_name: str
    signed_off: bool
    scaling: Scaling | None
    decision: str
    rationale: str


class CaseAction(BaseModel):
    session_id: uuid.UUID
    agreed_on: date | None
    description: str
    owner_id: uuid.UUID
    owner_name: str
    due_on: date | None
    status: ActionStatus
    completed_at: datetime | None


class CaseExport(BaseModel):
    case_reference: str
    generated_at: datetime
    decisions: list[CaseDecision]
    actions: list[CaseAction]
