"""Supervision agreements (Standard 5): the written terms of one supervisory relationship.

One row per version. A supervisee has at most one agreement in force; a new version, once
both people have signed it, supersedes the one in force and keeps it (`superseded`). The
terms are sealed at rest as one JSON document (`models/crypto.py`, registered for
`harbour rotate-keys`); dates, signatures and status stay plain, because managers above see
those and not the terms (docs/supervision.md, Agreements).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from models.base import TenantTable, utc_column
from models.crypto import register_sealed_column, sealed_length

AGREEMENTS_TABLE = "supervision_agreements"
TERMS_COLUMN = "terms"
AGREEMENT_RESOURCE = "supervision_agreement"  # the access log's and sync feed's name
TERM_TEXT_MAX = 4_000
TERM_TEXTS = ("cancellation", "confidentiality", "record_keeping", "disagreements")
TERM_TEXTS_ALL = (*TERM_TEXTS, "learning_needs")
# The terms' JSON: five texts of at most 4,000 characters, two integers, and the keys.
TERMS_SEALED = sealed_length(len(TERM_TEXTS_ALL) * TERM_TEXT_MAX + 200)


class AgreementStatus(StrEnum):
    draft = "draft"  # being written; either person edits it, both sign it
    in_force = "in_force"  # signed by both: the agreement of the relationship
    superseded = "superseded"  # a later version came into force; kept, readable by the two


class SupervisionAgreement(TenantTable, table=True):
    __tablename__ = AGREEMENTS_TABLE
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id", "supervisee_id", "number", name="uq_supervision_agreements_number"
        ),
        sa.Index(
            "ix_supervision_agreements_org_supervisee_status",
            "organisation_id",
            "supervisee_id",
            "status",
        ),
        sa.Index("ix_supervision_agreements_org_supervisor", "organisation_id", "supervisor_id"),
    )

    supervisee_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    supervisor_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    number: int  # 1, 2, 3 ... for the supervisee: the version of their agreement
    status: AgreementStatus = Field(default=AgreementStatus.draft, sa_type=sa.String(20))
    supersedes_id: uuid.UUID | None = Field(
        default=None, foreign_key="supervision_agreements.id", nullable=True, ondelete="SET NULL"
    )
    starts_on: date
    review_due_on: date
    terms: str = Field(sa_type=sa.String(TERMS_SEALED))  # sealed JSON
    drafted_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    supervisee_signed_at: datetime | None = utc_column(nullable=True)
    supervisor_signed_at: datetime | None = utc_column(nullable=True)
    in_force_at: datetime | None = utc_column(nullable=True)
    superseded_at: datetime | None = utc_column(nullable=True)
    version: int = Field(default=1)  # the ETag's
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


register_sealed_column(AGREEMENTS_TABLE, TERMS_COLUMN)
