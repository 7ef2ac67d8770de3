"""The organisation's SCIM bearer token: made, rotated and revoked by an admin, stored as its
SHA-256, shown once."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.directory.identity import IdentityAction, ScimToken, record_identity_change
from models.directory.identity_schemas import ScimTokenIssued, ScimTokenPublic
from models.directory.sso import require_admin
from models.directory.tokens import hash_token
from models.errors import NotFound

PREFIX = "hscim_"


def _public(row: ScimToken) -> ScimTokenPublic:
    return ScimTokenPublic(
        created_at=row.created_at, created_by=row.created_by, last_used_at=row.last_used_at
    )


async def get_scim_token(session: AsyncSession, actor: Actor) -> ScimTokenPublic:
    require_admin(actor)
    stmt = select(ScimToken).where(col(ScimToken.organisation_id) == actor.organisation_id)
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound("This organisation has no SCIM token.")
    return _public(row)


async def issue_scim_token(session: AsyncSession, actor: Actor, now: datetime) -> ScimTokenIssued:
    """A new token; one the organisation had stops working at once."""
    require_admin(actor)
    await session.exec(
        sa.delete(ScimToken).where(col(ScimToken.organisation_id) == actor.organisation_id)
    )
    token = PREFIX + secrets.token_urlsafe(32)
    row = ScimToken(
        organisation_id=actor.organisation_id,
        token_hash=hash_token(token),
        created_by=actor.id,
        created_at=now,
    )
    session.add(row)
    record_identity_change(
        session, actor.organisation_id, actor.id, IdentityAction.scim_token_issued, row.id, now
    )
    return ScimTokenIssued(**_public(row).model_dump(), token=token)


async def revoke_scim_token(session: AsyncSession, actor: Actor, now: datetime) -> None:
    require_admin(actor)
    result = await session.exec(
        sa.delete(ScimToken).where(col(ScimToken.organisation_id) == actor.organisation_id)
    )
    if result.rowcount == 0:
        raise NotFound("This organisation has no SCIM token.")
    record_identity_change(
        session, actor.organisation_id, actor.id, IdentityAction.scim_token_revoked, None, now
    )


async def scim_organisation(session: AsyncSession, token: str, now: datetime) -> uuid.UUID | None:
    """The organisation a SCIM bearer token belongs to, or None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    stmt = select(ScimToken).where(col(ScimToken.token_hash) == hash_token(token))
    row = (await session.exec(stmt)).first()
    if row is None:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() >= 60:
        row.last_used_at = now
        session.add(row)
        await session.flush()
    return row.organisation_id
