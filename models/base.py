"""Base types shared by every table: ids, UTC timestamps, tenant column, naming convention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# Deterministic constraint names from day one, so migrations can alter them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    Naive datetimes are refused on the way in (they are a bug: whose local time?); SQLite,
    which keeps no offset, gets UTC re-attached on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg answers every timestamptz as an aware datetime in UTC (its tzinfo
        # `datetime.UTC` itself), and every column of this type is a timestamptz: nothing to
        # do for each value (a sync page's rows have about 150 of them).
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    """A `Field` for a UTC timestamp column."""
    return Field(sa_type=UTCDateTime(), nullable=nullable, index=index)


def tenant_column() -> Any:
    """The `organisation_id` every table carries; each table's indexes lead with it."""
    return Field(foreign_key="organisations.id", nullable=False, ondelete="CASCADE")


class TenantTable(SQLModel):
    """Columns every tenant-owned table has."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organisation_id: uuid.UUID = tenant_column()
