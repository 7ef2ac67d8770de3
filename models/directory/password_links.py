"""Single-use links to set a password: an admin's invitation (one person, or everyone the
CSV import made) and a forgotten password's reset (docs/identity.md).

A link is 32 random bytes, stored only as its SHA-256, spent with a conditional
`UPDATE ... WHERE used_at IS NULL` (of two racing uses exactly one wins), refused once it has
expired, been used, or been replaced by a newer link of the same person, and dropped when
the person leaves (`leavers.end_access`). Sending mail is the edge's job (api/mail.py):
these functions answer the link and to whom it goes.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.directory.identity import (
    IdentityAction,
    LinkPurpose,
    PasswordLink,
    record_identity_change,
)
from models.directory.leavers import end_sessions
from models.directory.sso import require_admin, sso_required
from models.directory.staff import Staff
from models.directory.throttle import ThrottlePolicy, record_failure, retry_after, throttle_key
from models.directory.tokens import hash_token
from models.errors import Conflict, Invalid, NotFound

SET_PASSWORD_PATH = "/app/set-password"  # the page api/web/passwords.py serves


class LinkRefused(Invalid):
    """Unknown, used, expired or replaced: one answer, so nothing tells them apart."""

    status = 400
    title = "Bad request"

    def __init__(self) -> None:
        super().__init__(
            "This link is not valid: it was used, it expired, or a newer one replaced it. "
            "Ask for a new one.",
            errors=[{"loc": ["body", "token"], "msg": "invalid link", "type": "value_error"}],
        )


@dataclass(frozen=True)
class Link:
    """A link just made: whom it is for, the secret (only here, never stored) and the URL."""

    staff_id: uuid.UUID
    email: str
    display_name: str
    purpose: LinkPurpose
    token: str
    url: str
    expires_at: datetime


def link_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}{SET_PASSWORD_PATH}?token={token}"


async def _issue(
    session: AsyncSession,
    staff: Staff,
    purpose: LinkPurpose,
    now: datetime,
    lifetime: timedelta,
    public_url: str,
) -> Link:
    """A new link for `staff`; their earlier unused links stop working (the newest wins)."""
    await session.exec(
        sa.delete(PasswordLink).where(
            col(PasswordLink.organisation_id) == staff.organisation_id,
            col(PasswordLink.staff_id) == staff.id,
            col(PasswordLink.used_at).is_(None),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordLink(
            organisation_id=staff.organisation_id,
            staff_id=staff.id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return Link(
        staff.id,
        staff.email,
        staff.display_name,
        purpose,
        token,
        link_url(public_url, token),
        now + lifetime,
    )


async def invite(
    session: AsyncSession,
    actor: Actor,
    staff_id: uuid.UUID,
    now: datetime,
    lifetime: timedelta,
    public_url: str,
) -> Link:
    """An admin invites a staff member of their organisation to set a password (also a way
    to hand someone a reset link). 404 outside the organisation; 409 for a leaver, for an
    address with nowhere to go, and when the organisation signs in only with SSO."""
    require_admin(actor)
    staff = (
        await session.exec(
            select(Staff)
            .where(col(Staff.organisation_id) == actor.organisation_id, col(Staff.id) == staff_id)
            .with_for_update()
        )
    ).first()
    if staff is None:
        raise NotFound("No such staff member.")
    if not staff.active:
        raise Conflict("This person is deactivated; reactivate them before inviting them.")
    if staff.email.endswith(".invalid"):
        raise Conflict("This person has no e-mail address to sign in with.")
    if await sso_required(session, staff):
        raise Conflict(
            "This organisation signs in with single sign-on only; nobody needs a password."
        )
    link = await _issue(session, staff, LinkPurpose.invitation, now, lifetime, public_url)
    record_identity_change(
        session, actor.organisation_id, actor.id, IdentityAction.invitation_created, staff.id, now
    )
    return link


async def invite_imported(
    session: AsyncSession,
    actor: Actor,
    staff_ids: Sequence[uuid.UUID],
    now: datetime,
    lifetime: timedelta,
    public_url: str,
) -> list[Link]:
    """Invitations for the people a CSV import made (active, without a password); nobody
    when the organisation signs in only with single sign-on."""
    require_admin(actor)
    if not staff_ids:
        return []
    rows = (
        await session.exec(
            select(Staff)
            .where(
                col(Staff.organisation_id) == actor.organisation_id,
                col(Staff.id).in_(list(staff_ids)),
                col(Staff.active).is_(True),
                col(Staff.password_hash).is_(None),
            )
            .order_by(col(Staff.email))
        )
    ).all()
    if not rows or await sso_required(session, rows[0]):
        return []
    links = [
        await _issue(session, s, LinkPurpose.invitation, now, lifetime, public_url) for s in rows
    ]
    for link in links:
        record_identity_change(
            session,
            actor.organisation_id,
            actor.id,
            IdentityAction.invitation_created,
            link.staff_id,
            now,
        )
    await session.flush()
    return links


# Reset requests per address: this many in the window, then none until it passes (a mailbox
# is not flooded; the answer stays the same, so the limit reveals nothing either).
RESETS_PER_ADDRESS = ThrottlePolicy(3, timedelta(hours=1), timedelta(hours=1))


async def request_reset(
    session: AsyncSession, email: str, now: datetime, lifetime: timedelta, public_url: str
) -> Link | None:
    """A forgotten password: a reset link for the active account `email` names, or None
    (unknown, deactivated, an organisation that signs in only with SSO, or the address
    asked too often). The caller answers the same either way and sends the mail after the
    response. Every request counts against the address, known or not."""
    key = throttle_key("reset", email.strip().lower())
    if await retry_after(session, [key], now) is not None:
        return None
    await record_failure(session, key, now, RESETS_PER_ADDRESS)
    staff = (
        await session.exec(
            select(Staff).where(col(Staff.email) == email.strip().lower()).with_for_update()
        )
    ).first()
    if staff is None or not staff.active or await sso_required(session, staff):
        # The same kind of work as for a real address: a token made and hashed, a delete.
        hash_token(secrets.token_urlsafe(32))
        await session.exec(sa.delete(PasswordLink).where(sa.false()))
        return None
    link = await _issue(session, staff, LinkPurpose.reset, now, lifetime, public_url)
    await session.flush()
    return link


async def set_password(
    session: AsyncSession, token: str, password_hash: str, now: datetime
) -> Staff:
    """Spend the link `token` opens and give its person the new password; every earlier
    session of theirs ends (a reset may follow a stolen device). LinkRefused otherwise."""
    spent = await session.exec(
        sa.update(PasswordLink)
        .where(
            col(PasswordLink.token_hash) == hash_token(token),
            col(PasswordLink.used_at).is_(None),
            col(PasswordLink.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(PasswordLink.organisation_id), col(PasswordLink.staff_id))
    )
    found = spent.first()
    if found is None:
        raise LinkRefused()
    organisation_id, staff_id = found
    staff = (
        await session.exec(
            select(Staff)
            .where(col(Staff.organisation_id) == organisation_id, col(Staff.id) == staff_id)
            .with_for_update()
        )
    ).first()
    if staff is None or not staff.active or await sso_required(session, staff):
        raise LinkRefused()
    staff.password_hash = password_hash
    staff.version += 1
    staff.updated_at = now
    session.add(staff)
    await end_sessions(session, staff, now)
    # The person's other unused links die with this one.
    await session.exec(
        sa.delete(PasswordLink).where(
            col(PasswordLink.organisation_id) == organisation_id,
            col(PasswordLink.staff_id) == staff_id,
            col(PasswordLink.used_at).is_(None),
        )
    )
    record_identity_change(
        session, organisation_id, staff.id, IdentityAction.password_set, staff.id, now
    )
    await session.flush()
    return staff
