"""The browser's signed-in session: the `harbour_session` cookie and who it names.

One cookie carries an opaque session id (`models/directory/web_sessions.py` keeps only its
SHA-256). `start_browser_session` is the one way a browser becomes signed in: single sign-on
(`api/routes/sso.py`) and the password form (`api/web/sign_in.py`) both end in it; every page
depends on `current_web_actor`.

Forms: the CSRF token is an HMAC of the session id under a key derived from
`HARBOUR_SECRET_KEY` (OWASP's HMAC-based synchronizer token: nothing more to store, and a
token from one session is worthless in another); before sign-in it is bound to a
short-lived pre-session cookie, so the sign-in form is protected too.
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
    SessionPolicy,
    end_web_session,
    start_web_session,
    web_session_staff,
)

COOKIE = "harbour_session"
PRE_SESSION_COOKIE = "harbour_presession"
CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """No live session. The pages answer with a redirect to the sign-in page (deleting the
    dead session a cookie named); the JSON routes with a 401 (`api/web/__init__.py`)."""

    def __init__(self, presented: str) -> None:
        super().__init__("sign in required")
        self.presented = presented


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=settings.web_session_idle_minutes),
        lifetime=timedelta(hours=settings.web_session_hours),
    )


def secure_cookies(settings: Settings) -> bool:
    return settings.env is not Environment.development


def _set_cookie(response: Response, settings: Settings, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )


async def start_browser_session(
    session: SessionDep, settings: Settings, staff: Staff, now: datetime, response: Response
) -> None:
    """Sign `staff` (verified, active) in on this browser: a new session and its cookie."""
    token = await start_web_session(session, staff, now, session_policy(settings))
    _set_cookie(response, settings, COOKIE, token, settings.web_session_hours * 3600)
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
    staff = None
    if raw and len(raw) <= 100:
        staff = await web_session_staff(session, raw, now, session_policy(settings))
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
