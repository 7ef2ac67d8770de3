"""The browser's signed-in session: the `harbour_session` cookie and who it names.

One cookie carries an opaque session id (`models/directory/web_sessions.py` keeps only its
hash). Password sign-in (`api/web/sign_in.py`) and single sign-on both end in
`start_session`; every page depends on `current_web_actor`. The CSRF token of a form is an
HMAC of the session id under a key derived from `HARBOUR_SECRET_KEY` (OWASP's HMAC-based
synchronizer token: nothing more to store, and a token from one session is worthless in
another); before sign-in the same is done over a short-lived pre-session cookie, so the
sign-in form is protected too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Now, SessionDep, SettingsDep
from api.settings import Environment, Settings
from models.actor import Actor
from models.db import session_scope
from models.directory.service import actor_for
from models.directory.staff import Staff
from models.directory.web_sessions import (
    Lifetimes,
    end_web_session,
    start_web_session,
    web_session_staff,
)

COOKIE = "harbour_session"
PRE_SESSION_COOKIE = "harbour_presession"
CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """No live session: the web layer deletes the dead one (if a cookie named one) and
    answers with a redirect to the sign-in page."""

    def __init__(self, presented: str) -> None:
        super().__init__("sign in required")
        self.presented = presented


def lifetimes(settings: Settings) -> Lifetimes:
    return Lifetimes(
        idle=timedelta(minutes=settings.web_session_idle_minutes),
        absolute=timedelta(hours=settings.web_session_absolute_hours),
    )


def _secure(settings: Settings) -> bool:
    return settings.env is not Environment.development


def _set_cookie(response: Response, settings: Settings, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )


async def start_session(
    session: AsyncSession, response: Response, settings: Settings, staff: Staff, now: datetime
) -> None:
    """Sign a verified, active staff member in: a new session and its cookie."""
    raw = await start_web_session(session, staff, now)
    _set_cookie(response, settings, COOKIE, raw, settings.web_session_absolute_hours * 3600)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")


async def forget_session(request: Request, raw: str) -> None:
    """Delete a dead session in a transaction of its own (the request's rolled back)."""
    async with session_scope(request.app.state.session_factory) as session:
        await end_web_session(session, raw)


async def end_session(session: AsyncSession, request: Request, response: Response) -> None:
    """Sign out: the stored session goes, and the browser is told to forget the cookie."""
    raw = request.cookies.get(COOKIE)
    if raw:
        await end_web_session(session, raw)
    response.delete_cookie(COOKIE, path="/")


async def current_web_staff(
    request: Request, session: SessionDep, settings: SettingsDep, now: Now
) -> Staff:
    """The active staff member the session cookie names, or `SignInRequired`."""
    raw = request.cookies.get(COOKIE, "")
    staff = await web_session_staff(session, raw, lifetimes(settings), now)
    if staff is None:
        raise SignInRequired(raw)
    request.state.web_session = raw
    return staff


async def current_web_actor(
    request: Request, staff: Annotated[Staff, Depends(current_web_staff)]
) -> Actor:
    """The signed-in `Actor`: every page passes it to the same domain calls as the API."""
    actor = actor_for(staff)
    request.state.actor = actor  # for dependencies that outlive a refusal (api/refusals.py)
    request.state.display_name = staff.display_name  # for the header, even after a rollback
    return actor


WebActor = Annotated[Actor, Depends(current_web_actor)]


# --- CSRF ----------------------------------------------------------------------------------


def _csrf_key(settings: Settings) -> bytes:
    return hashlib.sha256(
        b"harbour-web-csrf/" + settings.secret_key.get_secret_value().encode()
    ).digest()


def csrf_token(settings: Settings, binding: str) -> str:
    """The token a form of this session (or pre-session) carries in its hidden field."""
    return hmac.new(_csrf_key(settings), binding.encode(), hashlib.sha256).hexdigest()


def csrf_valid(settings: Settings, binding: str | None, token: str | None) -> bool:
    if not binding or not token:
        return False
    return hmac.compare_digest(csrf_token(settings, binding), token)


def pre_session(request: Request, response: Response, settings: Settings) -> str:
    """The pre-session value the sign-in form's token is bound to (set when missing)."""
    value = request.cookies.get(PRE_SESSION_COOKIE)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(32)
        _set_cookie(response, settings, PRE_SESSION_COOKIE, value, 3600)
    return value
