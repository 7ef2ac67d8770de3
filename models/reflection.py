"""The reflective notes table (content sealed at rest); templates, tags and schemas live in
`supervision/reflections/`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from models.base import TenantTable, utc_column
from models.crypto import register_sealed_column

REFLECTIONS_TABLE = "reflections"
CONTENT_COLUMN = "content"
RESOURCE_TYPE = "reflection"  # access log and sync feed type
# Sealed JSON of title, body, tags and mood: at most 6 prompts x 10,000 characters, each at
# most 6 bytes as JSON (a control character escaped), base64: ~480k. Tested at the worst case.
SEALED_MAX = 600_000


class ReflectionTemplate(StrEnum):
    free = "free"
    gibbs = "gibbs"
    what_so_what_now_what = "what_so_what_now_what"
    restorative = "restorative"
    signs_of_safety = "signs_of_safety"


class Reflection(TenantTable, table=True):
    """A reflective note. Title, body, tags and mood are sealed together in `content`;
    a deleted note keeps its id, author and `deleted_at` (the tombstone) and loses its content."""

    __tablename__ = REFLECTIONS_TABLE
    __table_args__ = (
        sa.Index("ix_reflections_org_author_created", "organisation_id", "author_id", "created_at"),
        sa.Index("ix_reflections_org_shared_with", "organisation_id", "shared_with_id"),
    )

    author_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    template: ReflectionTemplate = Field(sa_type=sa.String(40))
    content: str | None = Field(default=None, sa_type=sa.String(SEALED_MAX))
    # Shared with this supervisor (the author's supervisor when shared), while shared.
    shared_with_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    shared_at: datetime | None = utc_column(nullable=True)
    bring_to_supervision: bool = Field(default=False)
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    deleted_at: datetime | None = utc_column(nullable=True)


register_sealed_column(REFLECTIONS_TABLE, CONTENT_COLUMN)
