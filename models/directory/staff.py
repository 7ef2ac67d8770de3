"""Staff: the people who use Harbour, their roles, unit, supervisor and cohort."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from models.base import TenantTable, utc_column


class Role(StrEnum):
    practitioner = "practitioner"
    supervisor = "supervisor"
    manager = "manager"
    hr = "hr"
    admin = "admin"


class Cohort(StrEnum):
    asye = "asye"
    qualified = "qualified"
    student = "student"
    manager = "manager"
    other = "other"


class Staff(TenantTable, table=True):
    __tablename__ = "staff"
    __table_args__ = (
        sa.Index("ix_staff_org_unit", "organisation_id", "unit_id"),
        sa.Index("ix_staff_org_supervisor", "organisation_id", "supervisor_id"),
        sa.UniqueConstraint("organisation_id", "external_id", name="uq_staff_org_external_id"),
        sa.UniqueConstraint("organisation_id", "user_name", name="uq_staff_org_user_name"),
    )

    # Globally unique, lower-cased: the token endpoint finds the person before it knows the tenant.
    email: str = Field(max_length=320, unique=True)
    display_name: str = Field(max_length=200)
    # None: no password login (imported from HR and not yet given one).
    password_hash: str | None = Field(default=None, max_length=255)
    roles: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    unit_id: uuid.UUID | None = Field(
        default=None, foreign_key="units.id", nullable=True, ondelete="SET NULL"
    )
    supervisor_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    cohort: Cohort = Field(default=Cohort.qualified, sa_type=sa.String(20))
    started_on: date
    timezone: str = Field(default="Europe/London", max_length=64)
    active: bool = Field(default=True)
    # The identity provider's id for the person (SCIM externalId, or the `oid`/`sub` claim).
    external_id: str | None = Field(default=None, max_length=256)
    # The SCIM userName the identity provider gave (often the UPN); None for people made here.
    user_name: str | None = Field(default=None, max_length=320)
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
