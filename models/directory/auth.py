"""Refresh tokens and the failed-login counters."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import TenantTable, utc_column


class RefreshToken(TenantTable, table=True):
    """One opaque refresh token, stored as its SHA-256; `family_id` links a rotation chain."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        sa.Index("ix_refresh_tokens_org_staff", "organisation_id", "staff_id"),
        sa.Index("ix_refresh_tokens_org_family", "organisation_id", "family_id"),
    )

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    family_id: uuid.UUID
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()
    expires_at: datetime = utc_column()
    used_at: datetime | None = utc_column(nullable=True)
    revoked_at: datetime | None = utc_column(nullable=True)


class LoginThrottle(SQLModel, table=True):
    """Failed-login counters, kept in the database so every server process sees the same count.

    Keyed by a hash of the attempted e-mail address (known or not, so a 429 never reveals
    whether an account exists) or of the client address. Not tenant-owned: the tenant is
    unknown until the login succeeds.
    """

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = Field(default=0)
    window_started_at: datetime = utc_column()
    locked_until: datetime | None = utc_column(nullable=True)
