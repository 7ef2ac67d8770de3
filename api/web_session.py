"""The browser's session cookie: what the web pages depend on to know who is signed in.

`start_browser_session` is the one way a browser becomes signed in (single sign-on today, a
password form for the web pages later); `current_web_actor` resolves the cookie."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response

from api.deps import Now, SessionDep, SettingsDep
from api.settings import Environment, Settings
from models.actor import Actor
from models.directory.service import actor_for
from models.directory.staff import Staff
from models.directory.web_sessions import SessionPolicy, start_web_session, web_session_staff

COOKIE = "harbour_session"


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=settings.web_session_idle_minutes),
        lifetime=timedelta(hours=settings.web_session_hours),
    )


def secure_cookies(settings: Settings) -> bool:
    return settings.env is not Environment.development


async def start_browser_session(
    session: SessionDep, settings: Settings, staff: Staff, now: datetime, response: Response
) -> None:
    """Sign `staff` (verified, active) in on this browser: a new session and its cookie."""
    token = await start_web_session(session, staff, now, session_policy(settings))
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.web_session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )


async def current_web_staff(
    request: Request, session: SessionDep, settings: SettingsDep, now: Now
) -> Staff:
    token = request.cookies.get(COOKIE)
    staff = None
    if token:
        staff = await web_session_staff(session, token, now, session_policy(settings))
    if staff is None:
        raise HTTPException(401, "Sign in first.")
    return staff


async def current_web_actor(
    request: Request, staff: Annotated[Staff, Depends(current_web_staff)]
) -> Actor:
    actor = actor_for(staff)
    request.state.actor = actor
    return actor


WebActor = Annotated[Actor, Depends(current_web_actor)]
