"""Request and response bodies of the wellbeing API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt, StringConstraints

from models.schemas import Request

ItemId = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class CheckInCreate(Request):
    id: uuid.UUID
    instrument: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    answers: Annotated[dict[ItemId, StrictInt], Field(max_length=100)]
    wants_to_talk: bool = False
    # Required when wants_to_talk is true: an explicit yes or no to telling the supervisor.
    tell_supervisor: bool | None = None
    share_with_supervisor: bool = False


class ShareCreate(Request):
    days: Annotated[int, Field(ge=1, le=90)] | None = None


class Signpost(BaseModel):
    name: str
    contact: str


class CheckInPublic(BaseModel):
    """A check-in as its owner sees it."""

    id: uuid.UUID
    instrument: str
    instrument_version: int
    content_hash: str
    answers: dict[str, int]
    scores: dict[str, float]
    bands: dict[str, str]
    band: str | None
    wants_to_talk: bool
    supervisor_told: bool
    shared_with_supervisor: bool
    share_expires_at: datetime | None
    taken_at: datetime
    signposting: list[Signpost]


class SharedCheckInPublic(BaseModel):
    """A check-in as the supervisor it was shared with sees it (no talk request, no snapshot)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    instrument: str
    instrument_version: int
    answers: dict[str, int]
    scores: dict[str, float]
    bands: dict[str, str]
    band: str | None
    taken_at: datetime
    shared_until: datetime


class TalkRequestPublic(BaseModel):
    checkin_id: uuid.UUID
    staff_id: uuid.UUID
    display_name: str
    raised_at: datetime


class TrendPoint(BaseModel):
    period_start: date
    checkins: int
    scores: dict[str, float]


class TrendPublic(BaseModel):
    instrument: str
    period: str
    points: list[TrendPoint]


class ScalePublic(BaseModel):
    codes: list[int]
    points: list[float]
    labels: list[str] | None


class ItemPublic(BaseModel):
    id: str
    scale: str
    text: str | None


class BandPublic(BaseModel):
    label: str
    lower: float


class SubscalePublic(BaseModel):
    key: str
    method: str
    items: list[str]
    reverse: list[str]
    min_answered: int
    range: tuple[float, float]
    bands: list[BandPublic]


class InstrumentPublic(BaseModel):
    key: str
    version: int
    name: str
    recall_period: str
    licence: dict[str, str | bool | None]
    content_hash: str
    # False until the organisation imports the licensed wording: no check-ins before then.
    available: bool
    scales: dict[str, ScalePublic]
    items: list[ItemPublic]
    subscales: list[SubscalePublic]
    primary: str
    scoring_note: str | None


class CellPublic(BaseModel):
    period: date
    group: str
    label: str
    n: int | None
    mean: float | None
    suppressed: bool


class AggregatePublic(BaseModel):
    k: int
    instrument: str
    measure: str
    period: str
    by: str
    unit_id: uuid.UUID | None
    cells: list[CellPublic]


class ParticipationCell(BaseModel):
    period: date
    group: str
    label: str
    staff: int | None
    participants: int | None
    rate: float | None
    suppressed: bool


class ParticipationPublic(BaseModel):
    k: int
    period: str
    by: str
    unit_id: uuid.UUID | None
    cells: list[ParticipationCell]


class WellbeingSettingsPublic(BaseModel):
    k: int
    share_days: int
    answers_retention_days: int
    employee_assistance: str | None


class WellbeingSettingsUpdate(Request):
    k: Annotated[int, Field(ge=5, le=1000)] | None = None
    share_days: Annotated[int, Field(ge=1, le=90)] | None = None
    answers_retention_days: Annotated[int, Field(ge=30, le=3650)] | None = None
    employee_assistance: Annotated[str, StringConstraints(max_length=300)] | None = None
