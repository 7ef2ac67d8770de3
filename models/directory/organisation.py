"""Organisations (tenants) and their unit tree."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import TenantTable, new_id, utc_column


class Organisation(SQLModel, table=True):
    """A tenant. It is the root of tenancy, so its own id is the `organisation_id` of the rest."""

    __tablename__ = "organisations"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: datetime = utc_column()


class Unit(TenantTable, table=True):
    """A directorate, service or team; `parent_id` makes the tree, `manager_id` its manager."""

    __tablename__ = "units"
    __table_args__ = (
        sa.Index("ix_units_org_parent", "organisation_id", "parent_id"),
        sa.Index("ix_units_org_manager", "organisation_id", "manager_id"),
        sa.UniqueConstraint(
            "organisation_id", "parent_id", "name", name="uq_units_org_parent_name"
        ),
    )

    name: str = Field(max_length=200)
    parent_id: uuid.UUID | None = Field(
        default=None, foreign_key="units.id", nullable=True, ondelete="RESTRICT"
    )
    manager_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Uuid(),
            sa.ForeignKey("staff.id", ondelete="SET NULL", use_alter=True),
            nullable=True,
        ),
    )
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
