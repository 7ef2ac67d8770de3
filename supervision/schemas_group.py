"""Request and response schemas of group supervision (Signs of Safety groups, circles)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, Field, model_validator

from models.group_supervision import Attendance, GroupFormat
from models.schemas import Request
from models.supervision import SessionStatus
from supervision.schemas import (
    Audience,
    CaseDiscussionIn,
    CaseDiscussionPublic,
    Instant,
    Minutes,
    Section,
    ShortText,
)

# A request may name up to this many attendees; the organisation's policy says how many a
# group has (4 to 10 by default).
MAX_ATTENDEES = 30


class GroupSessionCreate(Request):
    id: uuid.UUID | None = Field(
        default=None, description="Client-generated id: repeating the same create is safe."
    )
    format: GroupFormat = GroupFormat.signs_of_safety
    scheduled_for: Instant
    duration_minutes: Minutes = 90
    attendee_ids: Annotated[
        list[uuid.UUID],
        Field(
            min_length=1,
            max_length=MAX_ATTENDEES,
            description="people you supervise or manage (the policy's group size: 4 to 10)",
        ),
    ]
    presenter_id: uuid.UUID | None = Field(
        default=None, description="the attendee who brings the case (can be set at record time)"
    )


class AttendanceIn(Request):
    staff_id: uuid.UUID
    attendance: Attendance
    absence_reason: ShortText | None = None

    @model_validator(mode="after")
    def _recorded(self) -> Self:
        if self.attendance is Attendance.invited:
            raise ValueError("record each attendee as attended or absent")
        if self.attendance is Attendance.absent and not self.absence_reason:
            raise ValueError("an absence needs its reason")
        if self.attendance is Attendance.attended and self.absence_reason:
            raise ValueError("only an absence has a reason")
        return self


class GroupRecordPut(Request):
    """The group record: who came, who presented, the case mapped, what was decided."""

    held_at: Instant
    duration_minutes: Minutes
    attendance: Annotated[list[AttendanceIn], Field(min_length=1, max_length=MAX_ATTENDEES)]
    presenter_id: uuid.UUID | None = None
    case_discussion: CaseDiscussionIn | None = None
    notes: Section = ""


class AttendeePublic(BaseModel):
    staff_id: uuid.UUID
    attendance: Attendance
    absence_reason: str | None = Field(
        description="only the absent person and the facilitator see it"
    )
    acknowledged_at: datetime | None


class GroupRecordPublic(BaseModel):
    case_discussion: CaseDiscussionPublic | None
    notes: str


class GroupSessionSummary(BaseModel):
    """A group session's metadata: what everyone allowed to know about it may see."""

    id: uuid.UUID
    facilitator_id: uuid.UUID
    version: int = Field(description='The ETag\'s value: send If-Match: "<version>" to change it')
    format: GroupFormat
    status: SessionStatus
    scheduled_for: datetime
    duration_minutes: int
    held_at: datetime | None
    held_minutes: int | None
    presenter_id: uuid.UUID | None
    invited_count: int
    attended_count: int
    counts_toward_cadence: bool = Field(
        description="held, long enough, and the organisation's policy counts group sessions"
    )
    cancelled_by: uuid.UUID | None
    cancelled_at: datetime | None
    recorded_at: datetime | None
    created_at: datetime


class GroupSessionPublic(GroupSessionSummary):
    """One group session as the caller may see it (`access` says how much)."""

    access: Audience = Field(
        description="full: the facilitator and attendees; management: managers above an "
        "attendee (no absence reasons); metadata: admins (no text)"
    )
    attendees: list[AttendeePublic]
    cancelled_reason: str | None
    record: GroupRecordPublic | None
