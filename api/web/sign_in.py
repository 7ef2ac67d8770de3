"""Signing in with e-mail and password, and signing out."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Now, PasswordsDep, SessionDep, SettingsDep
from api.web.render import page
from api.web.security import SignedForm, checked_form
from api.web_session import end_session, pre_session, start_browser_session
from models.directory.service import find_login
from models.directory.sign_in import (
    BadCredentials,
    LoginThrottled,
    SsoRequired,
    password_login,
)
from models.directory.sso import config_for_org
from models.directory.sso_logins import organisation_by_key
from models.directory.throttle import ThrottlePolicy

router = APIRouter()


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a page of this service only (no open redirect)."""
    if value and value.startswith("/app") and "//" not in value and "\\" not in value:
        return value[:500]
    return "/app"


async def sso_link(session: SessionDep, org: uuid.UUID | None, next_page: str) -> str | None:
    """The "Sign in with your council account" link, when the organisation has single
    sign-on configured (`api/routes/sso.py` runs the code flow and lands on `next_page`)."""
    if org is None or await config_for_org(session, org) is None:
        return None
    return f"/auth/sso/login?{urlencode({'org': str(org), 'return_to': next_page})}"


async def _org_param(session: SessionDep, request: Request) -> uuid.UUID | None:
    key = request.query_params.get("org", "")[:200]
    found = await organisation_by_key(session, key) if key else None
    return found.id if found else None


def _form(
    request: Request,
    settings: SettingsDep,
    *,
    email: str = "",
    next_page: str = "/app",
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
    sso_url: str | None = None,
) -> HTMLResponse:
    response = HTMLResponse("")
    request.state.pre_session = pre_session(request, response, settings)
    rendered = page(
        request,
        "sign_in.html",
        title="Sign in to Harbour",
        email=email,
        next_page=next_page,
        errors=errors or [],
        signed_out=request.query_params.get("signed_out") == "1",
        timed_out=request.query_params.get("expired") == "1",
        password_set=request.query_params.get("password_set") == "1",
        sso_url=sso_url,
        status_code=status_code,
    )
    for name, value in response.headers.items():
        if name == "set-cookie":
            rendered.headers.append(name, value)
    return rendered


@router.get("/sign-in", name="web_sign_in")
async def sign_in_page(
    request: Request, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """The sign-in form; with `?org=` (an organisation's id or name) that has single sign-on,
    the button to sign in with the council's account too."""
    next_page = safe_next(request.query_params.get("next"))
    sso = await sso_link(session, await _org_param(session, request), next_page)
    return _form(request, settings, next_page=next_page, sso_url=sso)


@router.post("/sign-in", name="web_sign_in_post", dependencies=[Depends(checked_form)])
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    now: Now,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=500)] = "/app",
) -> Response:
    """Check the password (throttled like the API's token endpoint) and start a session."""
    email = email.strip()
    errors = []
    if not email:
        errors.append({"href": "#email", "text": "Enter your e-mail address"})
    if not password:
        errors.append({"href": "#password", "text": "Enter your password"})
    if errors:
        return _form(
            request,
            settings,
            email=email,
            next_page=safe_next(next_page),
            errors=errors,
            status_code=422,
        )
    policy = ThrottlePolicy(
        settings.login_max_failures,
        timedelta(seconds=settings.login_window_seconds),
        timedelta(seconds=settings.login_lockout_seconds),
    )
    address = request.client.host if request.client else "unknown"
    try:
        staff = await password_login(
            session, email, password, address, passwords.verify, policy, now
        )
    except LoginThrottled as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        message = f"Too many failed attempts. Try again in {minutes} minutes."
        response = _form(
            request,
            settings,
            email=email,
            next_page=safe_next(next_page),
            errors=[{"href": "#email", "text": message}],
            status_code=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except SsoRequired:
        # Said only after the password verified: their organisation uses its own sign-in.
        person = await find_login(session, email)
        org = person.organisation_id if person else None
        return _form(
            request,
            settings,
            email=email,
            next_page=safe_next(next_page),
            errors=[
                {
                    "href": "#email",
                    "text": "Your council signs in with its own account: use the button below",
                }
            ],
            status_code=422,
            sso_url=await sso_link(session, org, safe_next(next_page)),
        )
    except BadCredentials:
        # Returned, not raised, so the failure count commits.
        return _form(
            request,
            settings,
            email=email,
            next_page=safe_next(next_page),
            errors=[{"href": "#email", "text": "The e-mail address or password is wrong"}],
            status_code=422,
        )
    redirect = RedirectResponse(safe_next(next_page), status_code=303)
    await start_browser_session(session, settings, staff, now, redirect)
    return redirect


@router.post("/sign-out", name="web_sign_out")
async def sign_out(request: Request, _actor: SignedForm, session: SessionDep) -> Response:
    """End this browser's session."""
    response = RedirectResponse("/app/sign-in?signed_out=1", status_code=303)
    await end_session(session, request, response)
    return response
