"""Refresh tokens: opaque, stored hashed, rotated on every use, a reused one kills its chain."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.auth import RefreshToken
from models.directory.staff import Staff


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: str
    row: RefreshToken


async def issue_refresh_token(
    session: AsyncSession,
    staff: Staff,
    now: datetime,
    lifetime: timedelta,
    family_id: uuid.UUID | None = None,
) -> Issued:
    token = secrets.token_urlsafe(32)
    row = RefreshToken(
        organisation_id=staff.organisation_id,
        staff_id=staff.id,
        family_id=family_id or uuid.uuid4(),
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    await session.flush()
    return Issued(token, row)


class RefreshRejected(Exception):
    """The refresh token is unknown, expired, revoked or was already used."""


async def rotate_refresh_token(
    session: AsyncSession, token: str, now: datetime, lifetime: timedelta
) -> tuple[Staff, Issued]:
    """Spend `token` and issue its successor in the same family.

    Spending is a conditional UPDATE, so of two requests racing with one token only one
    wins; the loser is treated as reuse. Reuse revokes every token of the family, the
    newest included, because one of the two holders is not the user. The caller must
    commit even when this raises, so the revocation sticks.
    """
    row = (
        await session.exec(select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)))
    ).first()
    if row is None:
        raise RefreshRejected("unknown")
    if row.revoked_at is not None or row.used_at is not None:
        await revoke_family(session, row, now)
        raise RefreshRejected("reused")
    if row.expires_at <= now:
        raise RefreshRejected("expired")
    spent = await session.exec(
        sa.update(RefreshToken)
        .where(
            col(RefreshToken.id) == row.id,
            col(RefreshToken.used_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        await revoke_family(session, row, now)
        raise RefreshRejected("reused")
    staff = (
        await session.exec(
            select(Staff).where(
                col(Staff.organisation_id) == row.organisation_id,
                col(Staff.id) == row.staff_id,
                col(Staff.active).is_(True),
            )
        )
    ).first()
    if staff is None:
        await revoke_family(session, row, now)
        raise RefreshRejected("inactive")
    issued = await issue_refresh_token(session, staff, now, lifetime, family_id=row.family_id)
    return staff, issued


async def revoke_family(session: AsyncSession, row: RefreshToken, now: datetime) -> None:
    await session.exec(
        sa.update(RefreshToken)
        .where(
            col(RefreshToken.organisation_id) == row.organisation_id,
            col(RefreshToken.family_id) == row.family_id,
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )


async def revoke_refresh_token(session: AsyncSession, token: str, now: datetime) -> None:
    """Logout: end the token's whole chain. Unknown tokens are ignored (RFC 7009 2.2)."""
    row = (
        await session.exec(select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)))
    ).first()
    if row is not None:
        await revoke_family(session, row, now)


async def revoke_all_refresh_tokens(session: AsyncSession, staff: Staff, now: datetime) -> None:
    await session.exec(
        sa.update(RefreshToken)
        .where(
            col(RefreshToken.organisation_id) == staff.organisation_id,
            col(RefreshToken.staff_id) == staff.id,
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )
