"""Request and response schemas of the supervision domain (one per audience where it sees less)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    model_validator,
)

from models.absence import AbsenceKind
from models.calendar import DEFAULT_NATION, Nation
from models.directory.staff import Cohort
from models.incidents import IncidentCategory
from models.schemas import Request, Scaling, sent_at_most
from models.supervision import (
    SECTION_MAX,
    SHORT_TEXT_MAX,
    ActionStatus,
    FeedbackPublic,
    SessionKind,
    SessionStatus,
)
from supervision.reflections.schemas import AgendaReflection


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here (422) rather than fail at the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
Section = Annotated[str, StringConstraints(max_length=SECTION_MAX), NoNul]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=SHORT_TEXT_MAX),
    sent_at_most(SHORT_TEXT_MAX),
    NoNul,
]
Required = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=SHORT_TEXT_MAX),
    sent_at_most(SHORT_TEXT_MAX),
    NoNul,
]
CaseReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    sent_at_most(100),
    NoNul,
]
IntervalDays = Annotated[int, Field(ge=1, le=366)]
WorkingDays = Annotated[int, Field(ge=0, le=60)]
Minutes = Annotated[int, Field(ge=1, le=600)]
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def _plausible_date(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 2000-01-01 and 2100-12-31")
    return value


def _plausible_datetime(value: datetime) -> datetime:
    _plausible_date(value.date())
    return value


PlausibleDate = Annotated[date, AfterValidator(_plausible_date)]
Instant = Annotated[AwareDatetime, AfterValidator(_plausible_datetime)]


# --- policy --------------------------------------------------------------------------------


class PolicyBody(BaseModel):
    asye_weekly_weeks: Annotated[int, Field(ge=0, le=52)]
    asye_weekly_interval_days: IntervalDays
    asye_fortnightly_months: Annotated[int, Field(ge=0, le=24)]
    asye_fortnightly_interval_days: IntervalDays
    asye_interval_days: IntervalDays
    qualified_interval_days: IntervalDays
    manager_interval_days: IntervalDays
    student_interval_days: IntervalDays
    other_interval_days: IntervalDays
    minimum_minutes: Annotated[int, Field(ge=0, le=600)]
    counted_kinds: Annotated[list[SessionKind], Field(min_length=1, max_length=4)]
    write_up_working_days: WorkingDays
    sign_off_working_days: WorkingDays
    # Extra non-working days kept in the policy itself (before closure days existed); the
    # nation's bank holidays and the closure days (`/supervision/closure-days`) count as well.
    bank_holidays: Annotated[list[PlausibleDate], Field(max_length=400)]
    # Whose bank holidays the working-day deadlines skip (PUT without it: England and Wales).
    nation: Nation = DEFAULT_NATION
    # Added with group supervision and agreements (issue 16): optional in a PUT, so a
    # client written before them keeps working (the default is Standard 5 practice).
    group_min_attendees: Annotated[int, Field(ge=2, le=30)] = 4
    group_max_attendees: Annotated[int, Field(ge=2, le=30)] = 10
    agreement_first_review_months: Annotated[int, Field(ge=1, le=24)] = 3
    agreement_review_months: Annotated[int, Field(ge=1, le=36)] = 12

    @model_validator(mode="after")
    def _group_bounds(self) -> Self:
        if self.group_max_attendees < self.group_min_attendees:
            raise ValueError("group_max_attendees is below group_min_attendees")
        return self


class PolicyUpdate(PolicyBody, Request):
    """The whole policy (PUT replaces it; read it first and send it back changed)."""


class PolicyPublic(PolicyBody):
    pass


# --- closure days ---------------------------------------------------------------------------


class ClosureDayCreate(Request):
    day: PlausibleDate
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ClosureDayPublic(BaseModel):
    id: uuid.UUID
    day: date
    name: str
    created_at: datetime


# --- absences and status -------------------------------------------------------------------


class AbsenceCreate(Request):
    starts_on: PlausibleDate
    ends_on: PlausibleDate
    kind: AbsenceKind

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if (self.ends_on - self.starts_on).days > 730:
            raise ValueError("an absence may last at most two years; record longer ones in parts")
        return self


class AbsencePublic(BaseModel):
    id: uuid.UUID
    staff_id: uuid.UUID
    starts_on: date
    ends_on: date
    kind: AbsenceKind
    created_at: datetime


class StatusPublic(BaseModel):
    staff_id: uuid.UUID
    cohort: Cohort
    interval_days: int
    last_held_on: date | None
    next_due_on: date
    days_overdue: int
    on_leave: bool


# --- sessions ------------------------------------------------------------------------------


class Audience(StrEnum):
    """How much of a session the caller sees."""

    full = "full"  # the supervisee and their supervisor
    management = "management"  # a manager above: the record without a private support section
    metadata = "metadata"  # an admin: dates, status, actions; no record text


class SessionCreate(Request):
    id: uuid.UUID | None = Field(
        default=None, description="Client-generated id: repeating the same create is safe."
    )
    supervisee_id: uuid.UUID
    scheduled_for: Instant
    duration_minutes: Minutes = 90
    kind: SessionKind = SessionKind.one_to_one


class CancelRequest(Request):
    reason: Required


class CaseDiscussionIn(Request):
    case_reference: CaseReference
    worried_about: Section = ""
    working_well: Section = ""
    needs_to_happen: Section = ""
    scaling: Scaling | None = None
    decision: Section = ""
    rationale: Section = ""


class ActionIn(Request):
    id: uuid.UUID | None = Field(
        default=None, description="An action already on this record, to keep it (and its status)."
    )
    description: Required
    owner_id: uuid.UUID
    due_on: PlausibleDate | None = None
    case_reference: CaseReference | None = None


class RecordPut(Request):
    held_at: Instant
    duration_minutes: Minutes
    management: Section = ""
    development: Section = ""
    support: Section = ""
    mediation: Section = ""
    support_private: bool = False
    case_discussions: Annotated[list[CaseDiscussionIn], Field(max_length=50)] = []
    actions: Annotated[list[ActionIn], Field(max_length=50)] = []
    wellbeing_discussed: bool = False


class SignOffRequest(Request):
    agreed: bool
    comment: ShortText | None = None

    @model_validator(mode="after")
    def _disagreement_needs_comment(self) -> Self:
        if not self.agreed and not self.comment:
            raise ValueError("say what you disagree with in comment")
        return self


class AddendumCreate(Request):
    text: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=SECTION_MAX),
        sent_at_most(SECTION_MAX),
        NoNul,
    ]


class FeedbackCreate(Request):
    helpful: Annotated[int, Field(ge=1, le=5)]
    felt_safe: Annotated[int, Field(ge=1, le=5)]
    comment: ShortText | None = None


FeedbackReceipt = FeedbackPublic


class ActionUpdate(Request):
    status: ActionStatus


class ActionPublic(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    supervisee_id: uuid.UUID
    owner_id: uuid.UUID
    description: str
    case_reference: str | None
    due_on: date | None
    status: ActionStatus
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int = Field(description='The ETag\'s value: send If-Match: "<version>" to change it')


class CaseDiscussionPublic(BaseModel):
    case_reference: str
    worried_about: str
    working_well: str
    needs_to_happen: str
    scaling: Scaling | None
    decision: str
    rationale: str


class AddendumPublic(BaseModel):
    id: uuid.UUID
    author_id: uuid.UUID | None
    text: str
    created_at: datetime


class RecordPublic(BaseModel):
    management: str
    development: str
    support: str | None = Field(description="null when redacted (support_private, for managers)")
    support_redacted: bool
    mediation: str
    support_private: bool
    wellbeing_discussed: bool
    case_discussions: list[CaseDiscussionPublic]
    recorded_by: uuid.UUID | None
    sign_off_agreed: bool | None
    sign_off_comment: str | None


class SessionSummary(BaseModel):
    """A session's metadata: what everyone allowed to know about it may see."""

    id: uuid.UUID
    supervisee_id: uuid.UUID
    supervisor_id: uuid.UUID
    kind: SessionKind
    status: SessionStatus
    scheduled_for: datetime
    duration_minutes: int
    held_at: datetime | None
    held_minutes: int | None
    counts_toward_cadence: bool
    cancelled_by: uuid.UUID | None
    cancelled_at: datetime | None
    recorded_at: datetime | None
    write_up_due_on: date | None
    signed_off_at: datetime | None
    sign_off_due_on: date | None
    created_at: datetime
    version: int = Field(description='The ETag\'s value: send If-Match: "<version>" to change it')


class SessionPublic(SessionSummary):
    """One session as the caller may see it (`access` says how much)."""

    access: Audience
    cancelled_reason: str | None
    record: RecordPublic | None
    addenda: list[AddendumPublic]
    actions: list[ActionPublic]


class AgendaIncidentPublic(BaseModel):
    """ "Talk about the incident": the supervisee asked for it; when and what kind only."""

    incident_id: uuid.UUID
    occurred_on: date
    category: IncidentCategory


class AgendaPublic(BaseModel):
    session_id: uuid.UUID
    carried_actions: list[ActionPublic]
    reflections: list[AgendaReflection]
    incidents: list[AgendaIncidentPublic] = Field(default_factory=list)
