"""Supervision tables: cadence policy, sessions, records, case discussions, actions, addenda.

A session row holds what everyone in the relationship may see (dates, status, kind, length);
record text lives in `supervision_records` and `supervision_case_discussions`, so metadata
readers (oversight, admins) never load it.

Record text is sealed at rest like reflective notes (`models/crypto.py`, bound to table, row
and column; `SEALED_RECORD_COLUMNS` below are registered so `harbour rotate-keys`
re-encrypts them): the four functions, the sign-off comment, the Signs of Safety mapping and
the decision of each case discussion, addenda and the cancellation reason. Case references,
scaling scores, dates and flags stay plain: oversight and the case export select by them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, col

from models.base import TenantTable, utc_column
from models.crypto import register_sealed_column, sealed_length

SECTION_MAX = 20_000
SHORT_TEXT_MAX = 2_000
# Column lengths for the sealed form of a section and of a short text.
SECTION_SEALED = sealed_length(SECTION_MAX)
SHORT_SEALED = sealed_length(SHORT_TEXT_MAX)


class SessionKind(StrEnum):
    one_to_one = "one_to_one"
    group = "group"
    case = "case"
    peer = "peer"


class SessionStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"
    recorded = "recorded"
    signed_off = "signed_off"


HELD_STATUSES = (SessionStatus.recorded, SessionStatus.signed_off)
# Sessions still open in some way (awaiting write-up or sign-off, or cancelled: recent
# cancellations count on oversight), as against the signed-off years behind them.
PENDING_STATUSES = (SessionStatus.scheduled, SessionStatus.recorded, SessionStatus.cancelled)
# The predicate of the partial index over them. A query reaches that index only when its own
# condition reads the same statuses as literals (`pending_status`): PostgreSQL cannot prove
# the predicate from bound parameters in a prepared statement's generic plan.
PENDING_PREDICATE = f"status IN ({', '.join(repr(s.value) for s in PENDING_STATUSES)})"


class ActionStatus(StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"


# The predicate of the partial index of open actions (`open_action`: the same literal).
OPEN_ACTION_PREDICATE = f"status = '{ActionStatus.open.value}'"


class SupervisionPolicyRow(TenantTable, table=True):
    """An organisation's own cadence policy; without a row the Standard 5 defaults apply."""

    __tablename__ = "supervision_policies"
    __table_args__ = (sa.UniqueConstraint("organisation_id", name="uq_supervision_policies_org"),)

    asye_weekly_weeks: int
    asye_weekly_interval_days: int
    asye_fortnightly_months: int
    asye_fortnightly_interval_days: int
    asye_interval_days: int
    qualified_interval_days: int
    manager_interval_days: int
    student_interval_days: int
    other_interval_days: int
    minimum_minutes: int
    counted_kinds: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    write_up_working_days: int
    sign_off_working_days: int
    bank_holidays: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    # Whose bank holidays the working-day deadlines skip (models.calendar.Nation).
    nation: str = Field(
        default="england_and_wales",
        max_length=20,
        sa_column_kwargs={"server_default": "england_and_wales"},
    )
    group_min_attendees: int = Field(default=4, sa_column_kwargs={"server_default": "4"})
    group_max_attendees: int = Field(default=10, sa_column_kwargs={"server_default": "10"})
    agreement_first_review_months: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    agreement_review_months: int = Field(default=12, sa_column_kwargs={"server_default": "12"})
    version: int = Field(default=1)
    updated_at: datetime = utc_column()


class SupervisionSession(TenantTable, table=True):
    """A supervision session: when, who, what kind, and where it is in its lifecycle."""

    __tablename__ = "supervision_sessions"
    __table_args__ = (
        sa.Index(
            "ix_supervision_sessions_org_supervisee",
            "organisation_id",
            "supervisee_id",
            "scheduled_for",
        ),
        sa.Index(
            "ix_supervision_sessions_org_supervisor",
            "organisation_id",
            "supervisor_id",
            "scheduled_for",
        ),
        # Each person's latest held session (cadence: an index walk, not the whole history).
        sa.Index(
            "ix_supervision_sessions_org_supervisee_held",
            "organisation_id",
            "supervisee_id",
            "held_on",
        ),
        # What is open (scheduled, recorded, recently cancelled): reminders and oversight
        # read these, never the signed-off years behind them.
        sa.Index(
            "ix_supervision_sessions_org_status_scheduled",
            "organisation_id",
            "status",
            "scheduled_for",
        ),
        # Some people's open sessions (oversight of a unit): their few pending rows by
        # person, not every pending row of the organisation filtered by an array of people.
        sa.Index(
            "ix_supervision_sessions_org_supervisee_pending",
            "organisation_id",
            "supervisee_id",
            postgresql_where=sa.text(PENDING_PREDICATE),
            sqlite_where=sa.text(PENDING_PREDICATE),
        ),
    )

    supervisee_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    supervisor_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="RESTRICT")
    kind: SessionKind = Field(sa_type=sa.String(20))
    status: SessionStatus = Field(default=SessionStatus.scheduled, sa_type=sa.String(20))
    scheduled_for: datetime = utc_column()
    duration_minutes: int
    # Set when the record is written: when it was held (UTC and the supervisee's local date).
    held_at: datetime | None = utc_column(nullable=True)
    held_on: date | None = Field(default=None, nullable=True)
    held_minutes: int | None = Field(default=None, nullable=True)
    cancelled_reason: str | None = Field(default=None, sa_type=sa.String(SHORT_SEALED))
    cancelled_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    cancelled_at: datetime | None = utc_column(nullable=True)
    recorded_at: datetime | None = utc_column(nullable=True)
    signed_off_at: datetime | None = utc_column(nullable=True)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


def pending_status() -> sa.ColumnElement[bool]:
    """`status IN (the pending statuses)` with the statuses as literals in the SQL, so that
    `ix_supervision_sessions_org_supervisee_pending` can serve it (see `PENDING_PREDICATE`)."""
    values = [s.value for s in PENDING_STATUSES]
    found: sa.ColumnElement[bool] = col(SupervisionSession.status).in_(
        sa.bindparam("pending_statuses", values, expanding=True, literal_execute=True)
    )
    return found


class SupervisionRecord(TenantTable, table=True):
    """What was discussed (Morrison's four functions) and how the supervisee signed it off."""

    __tablename__ = "supervision_records"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "session_id", name="uq_supervision_records_session"),
    )

    session_id: uuid.UUID = Field(foreign_key="supervision_sessions.id", ondelete="CASCADE")
    # Sealed (no default: an unsealed empty string must never reach the table).
    management: str = Field(sa_type=sa.String(SECTION_SEALED))
    development: str = Field(sa_type=sa.String(SECTION_SEALED))
    support: str = Field(sa_type=sa.String(SECTION_SEALED))
    mediation: str = Field(sa_type=sa.String(SECTION_SEALED))
    support_private: bool = Field(default=False)
    wellbeing_discussed: bool = Field(default=False)
    recorded_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    sign_off_agreed: bool | None = Field(default=None, nullable=True)
    sign_off_comment: str | None = Field(default=None, sa_type=sa.String(SHORT_SEALED))


class CaseDiscussion(TenantTable, table=True):
    """One case discussed in a session, mapped onto Signs of Safety, and what was decided."""

    __tablename__ = "supervision_case_discussions"
    __table_args__ = (
        sa.Index("ix_supervision_case_discussions_org_case", "organisation_id", "case_reference"),
        sa.Index("ix_supervision_case_discussions_org_session", "organisation_id", "session_id"),
    )

    session_id: uuid.UUID = Field(foreign_key="supervision_sessions.id", ondelete="CASCADE")
    position: int
    case_reference: str = Field(max_length=100)
    # Sealed, like the record's sections.
    worried_about: str = Field(sa_type=sa.String(SECTION_SEALED))
    working_well: str = Field(sa_type=sa.String(SECTION_SEALED))
    needs_to_happen: str = Field(sa_type=sa.String(SECTION_SEALED))
    scaling: int | None = Field(default=None, nullable=True)
    decision: str = Field(sa_type=sa.String(SECTION_SEALED))
    rationale: str = Field(sa_type=sa.String(SECTION_SEALED))


class SupervisionAction(TenantTable, table=True):
    """An action agreed in a session; open ones carry over to the next session's agenda."""

    __tablename__ = "supervision_actions"
    __table_args__ = (
        sa.Index(
            "ix_supervision_actions_org_supervisee_status",
            "organisation_id",
            "supervisee_id",
            "status",
        ),
        sa.Index("ix_supervision_actions_org_session", "organisation_id", "session_id"),
        # Open actions falling due (the reminder sweep), not every action ever done.
        sa.Index("ix_supervision_actions_org_status_due", "organisation_id", "status", "due_on"),
        # Some people's open actions by due day (oversight of a unit): an index-only read of
        # their few open ones, not a heap visit for each of them among the years done.
        sa.Index(
            "ix_supervision_actions_org_supervisee_open",
            "organisation_id",
            "supervisee_id",
            "due_on",
            postgresql_where=sa.text(OPEN_ACTION_PREDICATE),
            sqlite_where=sa.text(OPEN_ACTION_PREDICATE),
        ),
    )

    session_id: uuid.UUID = Field(foreign_key="supervision_sessions.id", ondelete="CASCADE")
    supervisee_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    owner_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    position: int
    description: str = Field(max_length=SHORT_TEXT_MAX)
    case_reference: str | None = Field(default=None, max_length=100)
    due_on: date | None = Field(default=None, nullable=True)
    status: ActionStatus = Field(default=ActionStatus.open, sa_type=sa.String(20))
    completed_at: datetime | None = utc_column(nullable=True)
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class Addendum(TenantTable, table=True):
    """A later note on a signed-off record (the record itself is locked)."""

    __tablename__ = "supervision_addenda"
    __table_args__ = (
        sa.Index("ix_supervision_addenda_org_session", "organisation_id", "session_id"),
    )

    session_id: uuid.UUID = Field(foreign_key="supervision_sessions.id", ondelete="CASCADE")
    author_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    text: str = Field(sa_type=sa.String(SECTION_SEALED))  # sealed
    created_at: datetime = utc_column()


SESSIONS_TABLE = "supervision_sessions"
RECORDS_TABLE = "supervision_records"
CASE_DISCUSSIONS_TABLE = "supervision_case_discussions"
ADDENDA_TABLE = "supervision_addenda"
RECORD_SECTIONS = ("management", "development", "support", "mediation")
CASE_TEXTS = ("worried_about", "working_well", "needs_to_happen", "decision", "rationale")
SEALED_RECORD_COLUMNS: tuple[tuple[str, str], ...] = (
    (SESSIONS_TABLE, "cancelled_reason"),
    *((RECORDS_TABLE, c) for c in RECORD_SECTIONS),
    (RECORDS_TABLE, "sign_off_comment"),
    *((CASE_DISCUSSIONS_TABLE, c) for c in CASE_TEXTS),
    (ADDENDA_TABLE, "text"),
)
for _table, _column in SEALED_RECORD_COLUMNS:
    register_sealed_column(_table, _column)


FEEDBACK_TABLE = "supervision_feedback"
FEEDBACK_COMMENT_COLUMN = "comment"
# A sealed comment: JSON of up to 2,000 characters (12 bytes each at worst), base64, framing.
FEEDBACK_SEALED_MAX = 40_000


class SessionFeedback(TenantTable, table=True):
    """The supervisee's private rating of a session; only ever released in aggregate.

    The comment is sealed at rest (models/crypto.py) like reflective notes; `harbour
    rotate-keys` re-encrypts it."""

    __tablename__ = "supervision_feedback"
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id", "session_id", name="uq_supervision_feedback_session"
        ),
        sa.CheckConstraint("helpful BETWEEN 1 AND 5", name="helpful_range"),
        sa.CheckConstraint("felt_safe BETWEEN 1 AND 5", name="felt_safe_range"),
    )

    session_id: uuid.UUID = Field(foreign_key="supervision_sessions.id", ondelete="CASCADE")
    helpful: int
    felt_safe: int
    comment: str | None = Field(default=None, sa_type=sa.String(FEEDBACK_SEALED_MAX))
    # The supervisee's unit path when they rated (unit ids, top down): the report card groups
    # by it, so a later move does not change a completed period's figures. Null: rated
    # before this column existed (the current unit is used).
    unit_path: list[str] | None = Field(default=None, sa_type=sa.JSON())
    created_at: datetime = utc_column()


register_sealed_column(FEEDBACK_TABLE, FEEDBACK_COMMENT_COLUMN)


class FeedbackPublic(BaseModel):
    """My own rating of a session, as only I (the supervisee) ever see it."""

    session_id: uuid.UUID
    helpful: int
    felt_safe: int
    comment: str | None
    created_at: datetime


def open_action() -> sa.ColumnElement[bool]:
    """`status = 'open'` with the status as a literal in the SQL, so that
    `ix_supervision_actions_org_supervisee_open` can serve it in a generic plan too (see
    `PENDING_PREDICATE`)."""
    found: sa.ColumnElement[bool] = col(SupervisionAction.status) == sa.literal_column(
        f"'{ActionStatus.open.value}'"
    )
    return found
