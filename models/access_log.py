"""The access log: every read of someone else's data, shown to the person it is about."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.base import TenantTable, utc_column
from models.pagination import Keyset, keyset_page


class AccessReason(StrEnum):
    """Why someone read another person's data (shown to that person)."""

    shared_with_me = "shared_with_me"  # a supervisor reading a note or check-in shared with them
    supervision = "supervision"  # supervisor or supervisee reading their shared record
    management_oversight = "management_oversight"  # a manager above opening a record
    administration = "administration"  # an admin reading metadata
    export = "export"  # a case decision export for the child's record


class AccessLog(TenantTable, table=True):
    __tablename__ = "access_log"
    __table_args__ = (
        sa.Index("ix_access_log_org_subject_at", "organisation_id", "subject_id", "at"),
    )

    subject_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    reader_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    resource_type: str = Field(max_length=40)
    resource_id: uuid.UUID
    reason: AccessReason = Field(sa_type=sa.String(40))
    at: datetime = utc_column()


async def record_access(
    session: AsyncSession,
    reader: Actor,
    subject_id: uuid.UUID,
    resource_type: str,
    resource_id: uuid.UUID,
    reason: AccessReason,
    now: datetime,
) -> None:
    """Note that `reader` read `subject_id`'s data; reading your own data is not logged."""
    if subject_id == reader.id:
        return
    session.add(
        AccessLog(
            organisation_id=reader.organisation_id,
            subject_id=subject_id,
            reader_id=reader.id,
            resource_type=resource_type,
            resource_id=resource_id,
            reason=reason,
            at=now,
        )
    )
    await session.flush()


_LATEST = Keyset[AccessLog](col(AccessLog.at), col(AccessLog.id), lambda r: (r.at, r.id))


async def my_access_log(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None
) -> tuple[Sequence[AccessLog], str | None]:
    """Who read the caller's data, newest first."""
    stmt = select(AccessLog).where(
        col(AccessLog.organisation_id) == actor.organisation_id,
        col(AccessLog.subject_id) == actor.id,
    )
    return await keyset_page(session, stmt, _LATEST, limit=limit, cursor=cursor)


async def access_log_about(session: AsyncSession, actor: Actor) -> Sequence[AccessLog]:
    """Every read of the caller's data, oldest first (for the personal export)."""
    stmt = (
        select(AccessLog)
        .where(
            col(AccessLog.organisation_id) == actor.organisation_id,
            col(AccessLog.subject_id) == actor.id,
        )
        .order_by(col(AccessLog.at), col(AccessLog.id))
    )
    return (await session.exec(stmt)).all()


async def access_log_by(session: AsyncSession, actor: Actor) -> Sequence[AccessLog]:
    """Every read the caller made of other people's data, oldest first (personal export)."""
    stmt = (
        select(AccessLog)
        .where(
            col(AccessLog.organisation_id) == actor.organisation_id,
            col(AccessLog.reader_id) == actor.id,
        )
        .order_by(col(AccessLog.at), col(AccessLog.id))
    )
    return (await session.exec(stmt)).all()
