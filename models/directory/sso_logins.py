"""Browser sign-ins in flight (`sso_logins`): the state, nonce and PKCE verifier recorded
when a browser is sent to the identity provider, spent once at the callback."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.identity import SsoLogin
from models.directory.lapsed import lapsed_sso_logins
from models.directory.organisation import Organisation
from models.directory.tokens import hash_token


async def organisation_by_key(session: AsyncSession, key: str) -> Organisation | None:
    """An organisation by id or by exact name (the login pages' `org` parameter)."""
    try:
        stmt = select(Organisation).where(col(Organisation.id) == uuid.UUID(key))
    except ValueError:
        stmt = select(Organisation).where(col(Organisation.name) == key)
    return (await session.exec(stmt)).first()


async def record_login(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    *,
    state: str,
    nonce: str,
    code_verifier: str,
    return_to: str,
    now: datetime,
    lifetime: timedelta,
) -> None:
    """Remember a sign-in sent to the provider (only the state's hash is stored); sign-ins
    abandoned at the provider are cleared as new ones start."""
    session.add(
        SsoLogin(
            organisation_id=organisation_id,
            state_hash=hash_token(state),
            nonce=nonce,
            code_verifier=code_verifier,
            return_to=return_to,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.exec(lapsed_sso_logins(organisation_id, now))
    await session.flush()


async def spend_login(session: AsyncSession, state: str) -> SsoLogin | None:
    """The sign-in `state` names, deleted as it is read (single use), or None."""
    login = (
        await session.exec(
            select(SsoLogin).where(col(SsoLogin.state_hash) == hash_token(state)).with_for_update()
        )
    ).first()
    if login is not None:
        await session.exec(sa.delete(SsoLogin).where(col(SsoLogin.id) == login.id))
    return login
