"""Invitations and password resets for organisations that do not sign in with SSO: an admin
invites a staff member, anyone may ask for a reset, and the single-use link sets a password
(docs/identity.md). Nothing here tells whether an address has an account."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks

from api.deps import AdminActor, MailerDep, Now, PasswordsDep, SessionDep, SettingsDep
from api.mail import deliver_links, invitation_public, link_mail
from api.problems import problems
from models.directory.identity_schemas import (
    Accepted,
    InvitationPublic,
    PasswordForgot,
    PasswordSet,
)
from models.directory.password_links import invite, request_reset, set_password

router = APIRouter(tags=["sign-in (passwords)"])

FORGOT_ANSWER = (
    "If this address belongs to an account that signs in with a password, a link to set a "
    "new one is on its way. It works once and expires soon."
)


@router.post(
    "/staff/{staff_id}/invitation",
    name="invite_staff",
    status_code=201,
    response_model=InvitationPublic,
    responses=problems(403, 404, 409),
    tags=["staff"],
)
async def invite_staff(
    staff_id: uuid.UUID,
    actor: AdminActor,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
    now: Now,
) -> InvitationPublic:
    """Invite a staff member to set a password: a single-use link, e-mailed when a mail
    server is configured, otherwise returned for you to pass on. Earlier links stop."""
    lifetime = timedelta(days=settings.invitation_days)
    link = await invite(session, actor, staff_id, now, lifetime, settings.public_url)
    (sent,) = await deliver_links(mailer, [link], lifetime.total_seconds() / 3600)
    return invitation_public(link, sent)


@router.post(
    "/auth/password/forgot",
    name="forgot_password",
    status_code=202,
    response_model=Accepted,
    responses=problems(),
)
async def forgot_password(
    body: PasswordForgot,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
    background: BackgroundTasks,
    now: Now,
) -> Accepted:
    """Ask for a link to set a new password. The answer is the same whether or not the
    address has an account; the mail (if any) leaves after the answer."""
    lifetime = timedelta(minutes=settings.password_reset_minutes)
    link = await request_reset(session, body.email, now, lifetime, settings.public_url)
    if link is not None and mailer.configured:
        # After the response (and the commit): its timing tells nothing, and the link exists.
        background.add_task(mailer.send, [link_mail(link, lifetime.total_seconds() / 3600)])
    return Accepted(detail=FORGOT_ANSWER)


@router.post(
    "/auth/password/set",
    name="set_password",
    response_model=Accepted,
    responses=problems(400),
)
async def set_password_route(
    body: PasswordSet, session: SessionDep, passwords: PasswordsDep, now: Now
) -> Accepted:
    """Set a password with the token of an invitation or reset link (once); every earlier
    session of the person ends. Then sign in at /auth/token."""
    await set_password(session, body.token, passwords.hash(body.password), now)
    return Accepted(detail="Your password is set. Sign in with your e-mail address and it.")
