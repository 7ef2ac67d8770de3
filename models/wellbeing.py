"""Wellbeing tables: instrument wording per organisation, check-ins, shares, analytics audit,
and per-organisation wellbeing settings (the k of the k-rule)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Field
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.base import TenantTable, utc_column

DEFAULT_K = 10
MIN_K = 5
DEFAULT_SHARE_DAYS = 14
# Raw answers are kept this long; scores (and so every aggregate) stay.
DEFAULT_ANSWERS_RETENTION_DAYS = 365
DEFAULT_INCIDENT_FOLLOW_UP_DAYS = 4


class WellbeingSettings(TenantTable, table=True):
    """One row per organisation; absent means the defaults."""

    __tablename__ = "wellbeing_settings"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", name="uq_wellbeing_settings_org"),
        sa.CheckConstraint(f"k_threshold >= {MIN_K}", name="k_at_least_min"),
    )

    k_threshold: int = Field(default=DEFAULT_K)
    share_days: int = Field(default=DEFAULT_SHARE_DAYS)
    answers_retention_days: int = Field(default=DEFAULT_ANSWERS_RETENTION_DAYS)
    employee_assistance: str | None = Field(default=None, max_length=300)
    # A named person (besides the supervisor and the unit manager) a practitioner may ask to
    # talk to: a wellbeing lead, a principal social worker.
    wellbeing_contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    # After a critical incident: the second follow-up check-in, days after the first.
    incident_follow_up_days: int = Field(
        default=DEFAULT_INCIDENT_FOLLOW_UP_DAYS,
        sa_column_kwargs={"server_default": str(DEFAULT_INCIDENT_FOLLOW_UP_DAYS)},
    )
    # The privacy budget per person per calendar year (rho, zCDP) for the anonymised
    # release; null is the default (models/analytics/budget.py, docs/privacy.md).
    year_rho: float | None = Field(default=None)
    updated_at: datetime = utc_column()


class InstrumentText(TenantTable, table=True):
    """Item wording of a licensed instrument version, imported by the licence holder."""

    __tablename__ = "wellbeing_instrument_texts"
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id", "instrument", "version", name="uq_wellbeing_instrument_texts_key"
        ),
    )

    instrument: str = Field(max_length=40)
    version: int
    content_hash: str = Field(max_length=64)
    items: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    scale_labels: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    attestation: str = Field(max_length=1000)
    imported_at: datetime = utc_column()


class CheckIn(TenantTable, table=True):
    """One wellbeing check-in. `id` is the client's UUID. Scores are computed on the server
    with the instrument version named here; the group columns are snapshots taken at
    check-in time so that completed periods of the anonymised series never change."""

    __tablename__ = "wellbeing_checkins"
    __table_args__ = (
        sa.Index(
            "ix_wellbeing_checkins_org_staff_taken", "organisation_id", "staff_id", "taken_at"
        ),
        sa.Index(
            "ix_wellbeing_checkins_org_instrument_taken",
            "organisation_id",
            "instrument",
            "taken_at",
        ),
        sa.Index("ix_wellbeing_checkins_org_talk", "organisation_id", "talk_supervisor_id"),
    )

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    instrument: str = Field(max_length=40)
    instrument_version: int
    content_hash: str = Field(max_length=64)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    scores: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    bands: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    band: str | None = Field(default=None, max_length=40)
    wants_to_talk: bool = Field(default=False)
    # The supervisor the owner agreed to tell about wanting to talk (None: signposting only).
    talk_supervisor_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    request_hash: str = Field(max_length=64)
    taken_at: datetime = utc_column()
    unit_path: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    role_group: str = Field(max_length=20)
    tenure_band: str = Field(max_length=20)
    # The critical incident this check-in follows up (the owner's own), if any.
    incident_id: uuid.UUID | None = Field(
        default=None, foreign_key="wellbeing_incidents.id", nullable=True, ondelete="SET NULL"
    )


# A check-in as the views read it: the ORM row, or a column row of its table (the sync feed
# reads plain columns: the same attribute names, no identity map).
CheckInRow = CheckIn | sa.Row[Any]
CHECKINS_TABLE: sa.Table = CheckIn.__table__  # type: ignore[attr-defined]


class TalkTo(StrEnum):
    """Whom a talk request goes to."""

    supervisor = "supervisor"
    unit_manager = "unit_manager"
    wellbeing_contact = "wellbeing_contact"


class TalkOutcome(StrEnum):
    talked = "talked"
    signposted = "signposted"
    declined_by_practitioner = "declined_by_practitioner"


class TalkRequest(TenantTable, table=True):
    """ "I'd like to talk": raised by its owner (from a check-in, or on its own) to one
    person who can act. No free text: who, to whom, when, and how it ended."""

    __tablename__ = "wellbeing_talk_requests"
    __table_args__ = (
        sa.Index(
            "ix_wellbeing_talk_requests_org_recipient",
            "organisation_id",
            "recipient_id",
            "raised_at",
        ),
        sa.Index(
            "ix_wellbeing_talk_requests_org_owner", "organisation_id", "owner_id", "raised_at"
        ),
        sa.Index("ix_wellbeing_talk_requests_org_checkin", "organisation_id", "checkin_id"),
    )

    owner_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    recipient_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    to: TalkTo = Field(sa_type=sa.String(20))
    checkin_id: uuid.UUID | None = Field(
        default=None, foreign_key="wellbeing_checkins.id", nullable=True, ondelete="SET NULL"
    )
    request_hash: str = Field(max_length=64)
    raised_at: datetime = utc_column()
    # When the recipient's notification was stored (None: raised before notifications).
    notified_at: datetime | None = utc_column(nullable=True)
    # The recipient first opened it (list or read) / said they will be in touch.
    seen_at: datetime | None = utc_column(nullable=True)
    acknowledged_at: datetime | None = utc_column(nullable=True)
    closed_at: datetime | None = utc_column(nullable=True)
    outcome: TalkOutcome | None = Field(default=None, sa_type=sa.String(30), nullable=True)
    closed_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    version: int = Field(default=1)


class SupportText(TenantTable, table=True):
    """What a check-in's owner is told for a band of an instrument's primary measure, as
    the organisation wrote it (without a row: the shipped default)."""

    __tablename__ = "wellbeing_support_texts"
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id", "instrument", "band", name="uq_wellbeing_support_texts_band"
        ),
    )

    instrument: str = Field(max_length=40)
    band: str = Field(max_length=40)
    text: str = Field(max_length=1000)
    version: int = Field(default=1)
    updated_at: datetime = utc_column()


class CheckInShare(TenantTable, table=True):
    """A check-in shared with the owner's supervisor, until it expires or is revoked."""

    __tablename__ = "wellbeing_checkin_shares"
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id", "checkin_id", name="uq_wellbeing_checkin_shares_checkin"
        ),
        sa.Index(
            "ix_wellbeing_checkin_shares_org_supervisor",
            "organisation_id",
            "supervisor_id",
            "expires_at",
        ),
    )

    checkin_id: uuid.UUID = Field(foreign_key="wellbeing_checkins.id", ondelete="CASCADE")
    owner_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    supervisor_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    shared_at: datetime = utc_column()
    expires_at: datetime = utc_column()
    revoked_at: datetime | None = utc_column(nullable=True)


class ShareTerms(NamedTuple):
    """A share's terms as the sync page reads them, joined to its check-ins (no ORM row)."""

    supervisor_id: uuid.UUID
    expires_at: datetime
    revoked_at: datetime | None


# A share as the views read it: the ORM row, or its terms read with the check-in.
ShareRow = CheckInShare | ShareTerms


class AnalyticsAudit(TenantTable, table=True):
    """Every anonymised-analytics call: who asked what, and how much was released; a call
    refused for its scope (403, 404) too, with nothing released. Admins' reads of the access
    log are recorded here as well (`models/audit.py`), and admins read this table there."""

    __tablename__ = "wellbeing_analytics_audit"
    __table_args__ = (sa.Index("ix_wellbeing_analytics_audit_org_at", "organisation_id", "at"),)

    actor_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    endpoint: str = Field(max_length=80)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    released: int = Field(default=0)
    suppressed: int = Field(default=0)
    # What the caller was answered: 200, or 403/404 for a refused call.
    status: int = Field(default=200, sa_column_kwargs={"server_default": "200"})
    at: datetime = utc_column()


# A param value longer than this is cut in the audit (a refused call's query is the caller's).
PARAM_CHARS = 200


async def audit_analytics(
    session: AsyncSession,
    actor: Actor,
    endpoint: str,
    params: dict[str, Any],
    now: datetime,
    *,
    released: int = 0,
    suppressed: int = 0,
    status: int = 200,
) -> None:
    """Record one analytics call: who asked, what, and how much was released."""
    session.add(
        AnalyticsAudit(
            organisation_id=actor.organisation_id,
            actor_id=actor.id,
            endpoint=endpoint,
            params={
                k: (str(v)[:PARAM_CHARS] if v is not None else None) for k, v in params.items()
            },
            released=released,
            suppressed=suppressed,
            status=status,
            at=now,
        )
    )
    await session.flush()
