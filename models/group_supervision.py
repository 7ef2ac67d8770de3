"""Group supervision: Signs of Safety group supervision and restorative circles.

A group session has a facilitator (a supervisor or manager), 4 to 10 attendees (policy
values) each with their own attendance, a presenter, one case discussed with the Signs of
Safety mapping, and a group record every attendee reads. Its text (the mapping, the
decision, the group's notes, the cancellation reason, each absence reason) is sealed at rest
like one-to-one records. Attendance rows carry the attendee's local date of the session, so
cadence (when the policy counts group sessions) reads them directly.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from models.base import TenantTable, utc_column
from models.crypto import register_sealed_column
from models.supervision import SECTION_SEALED, SHORT_SEALED, SessionStatus

GROUP_SESSIONS_TABLE = "supervision_group_sessions"
GROUP_ATTENDEES_TABLE = "supervision_group_attendees"
GROUP_RESOURCE = "supervision_group_session"  # the access log's and sync feed's name
GROUP_CASE_TEXTS = ("worried_about", "working_well", "needs_to_happen", "decision", "rationale")
GROUP_SEALED_TEXTS = (*GROUP_CASE_TEXTS, "notes", "cancelled_reason")


class GroupFormat(StrEnum):
    signs_of_safety = "signs_of_safety"  # Signs of Safety group supervision
    restorative_circle = "restorative_circle"


class Attendance(StrEnum):
    invited = "invited"
    attended = "attended"
    absent = "absent"


class GroupSession(TenantTable, table=True):
    __tablename__ = GROUP_SESSIONS_TABLE
    __table_args__ = (
        sa.Index(
            "ix_supervision_group_sessions_org_facilitator",
            "organisation_id",
            "facilitator_id",
            "scheduled_for",
        ),
    )

    facilitator_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="RESTRICT")
    format: GroupFormat = Field(sa_type=sa.String(30))
    status: SessionStatus = Field(default=SessionStatus.scheduled, sa_type=sa.String(20))
    scheduled_for: datetime = utc_column()
    duration_minutes: int
    held_at: datetime | None = utc_column(nullable=True)
    held_minutes: int | None = Field(default=None, nullable=True)
    presenter_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    case_reference: str | None = Field(default=None, max_length=100)
    scaling: int | None = Field(default=None, nullable=True)
    # Sealed, set when the record is written (None before).
    worried_about: str | None = Field(default=None, sa_type=sa.String(SECTION_SEALED))
    working_well: str | None = Field(default=None, sa_type=sa.String(SECTION_SEALED))
    needs_to_happen: str | None = Field(default=None, sa_type=sa.String(SECTION_SEALED))
    decision: str | None = Field(default=None, sa_type=sa.String(SECTION_SEALED))
    rationale: str | None = Field(default=None, sa_type=sa.String(SECTION_SEALED))
    notes: str | None = Field(default=None, sa_type=sa.String(SECTION_SEALED))
    cancelled_reason: str | None = Field(default=None, sa_type=sa.String(SHORT_SEALED))
    cancelled_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    cancelled_at: datetime | None = utc_column(nullable=True)
    recorded_at: datetime | None = utc_column(nullable=True)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    # SHA-256 of the create request (without its id): a repeat of the same offline create
    # is recognised by it (`models.idempotent`), attendees included.
    request_hash: str = Field(max_length=64)
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class GroupAttendee(TenantTable, table=True):
    __tablename__ = GROUP_ATTENDEES_TABLE
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id",
            "group_session_id",
            "staff_id",
            name="uq_supervision_group_attendees_person",
        ),
        sa.Index(
            "ix_supervision_group_attendees_org_staff_held",
            "organisation_id",
            "staff_id",
            "held_on",
        ),
    )

    group_session_id: uuid.UUID = Field(
        foreign_key="supervision_group_sessions.id", ondelete="CASCADE"
    )
    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    position: int  # the order the facilitator listed them in
    attendance: Attendance = Field(default=Attendance.invited, sa_type=sa.String(20))
    absence_reason: str | None = Field(default=None, sa_type=sa.String(SHORT_SEALED))  # sealed
    # The attendee's own local date of the session (when they attended): cadence reads it.
    held_on: date | None = Field(default=None, nullable=True)
    acknowledged_at: datetime | None = utc_column(nullable=True)


for _column in GROUP_SEALED_TEXTS:
    register_sealed_column(GROUP_SESSIONS_TABLE, _column)
register_sealed_column(GROUP_ATTENDEES_TABLE, "absence_reason")
