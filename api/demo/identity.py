"""The demo council's sign-in history, for the admin's identity audit ("Sign-in changes")."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from api.demo.people import Council
from models.directory.password_links import invite
from models.directory.scim_tokens import issue_scim_token, revoke_scim_token
from models.directory.service import actor_for

# Where an invitation's link would have pointed (the demo sends no mail, and the link has
# long expired: the ASYE set her password another way).
_DEMO_URL = "http://127.0.0.1:8000"


async def seed_identity(session: AsyncSession, council: Council, now: datetime) -> None:
    """Through the API's own domain calls: the admin tried SCIM provisioning six weeks ago
    (a token issued, revoked two days later: the council signs in with passwords) and, three
    weeks ago, sent the ASYE an invitation to set a password, which ran out unused."""
    admin = actor_for(council.admin)
    await issue_scim_token(session, admin, now - timedelta(days=42))
    await session.flush()
    await revoke_scim_token(session, admin, now - timedelta(days=40))
    asye = council.teams[0].members[0]
    await invite(session, admin, asye.id, now - timedelta(days=21), timedelta(days=7), _DEMO_URL)
    await session.flush()
