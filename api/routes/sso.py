"""The browser's single sign-on (authorization code with PKCE) and sign-out; the session
cookie they set is what the web pages read (api/web_session.py)."""

from __future__ import annotations

import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.deps import KeyRingDep, Now, OidcDep, SessionDep, SettingsDep
from api.oidc import OidcError
from api.problems import problem, problems
from api.sso_flow import CALLBACK_PATH, finish_login, start_login
from api.web_session import COOKIE, WebActor, secure_cookies, start_browser_session
from models.directory.sso import SsoRefused
from models.directory.web_sessions import end_web_session

log = logging.getLogger("harbour.sso")
router = APIRouter(prefix="/auth", tags=["sign-in (browser)"])
STATE_COOKIE = "harbour_sso_state"
Param = Annotated[str, Query(min_length=1, max_length=2000)]


def _redirect_uri(public_url: str) -> str:
    return public_url.rstrip("/") + CALLBACK_PATH


@router.get("/sso/login", name="sso_login", status_code=302, responses=problems(400))
async def sso_login(
    session: SessionDep,
    settings: SettingsDep,
    oidc: OidcDep,
    now: Now,
    org: Annotated[str, Query(min_length=1, max_length=200)],
    return_to: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Start signing in with the organisation's identity provider (redirects to it)."""
    try:
        start = await start_login(
            session, oidc, org, _redirect_uri(settings.public_url), return_to, now
        )
    except (SsoRefused, OidcError) as exc:
        return problem(400, str(exc))
    response = RedirectResponse(start.redirect_to, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        start.state,
        max_age=600,
        path="/auth/sso",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )
    return response


@router.get("/sso/callback", name="sso_callback", status_code=302, responses=problems(400))
async def sso_callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    oidc: OidcDep,
    ring: KeyRingDep,
    now: Now,
    state: Param,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Where the identity provider sends the browser back: signs in and sets the cookie."""
    if error is not None or code is None:
        return problem(400, "The identity provider did not sign you in; start again.")
    try:
        async with httpx.AsyncClient(timeout=settings.oidc_http_timeout_seconds) as http:
            staff, land = await finish_login(
                session,
                oidc,
                ring,
                state=state,
                cookie_state=request.cookies.get(STATE_COOKIE),
                code=code,
                redirect_uri=_redirect_uri(settings.public_url),
                now=now,
                http=http,
            )
    except (SsoRefused, OidcError) as exc:
        log.info("browser sign-in refused: %s", exc)
        response: Response = problem(400, f"Sign-in refused: {exc}")
        response.delete_cookie(STATE_COOKIE, path="/auth/sso")
        return response
    response = RedirectResponse(land, status_code=302)
    response.delete_cookie(STATE_COOKIE, path="/auth/sso")
    await start_browser_session(session, settings, staff, now, response)
    return response


@router.post("/logout", name="web_logout", status_code=204)
async def web_logout(request: Request, session: SessionDep) -> Response:
    """Sign this browser out (its session is deleted)."""
    token = request.cookies.get(COOKIE)
    if token:
        await end_web_session(session, token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/session", name="web_whoami", responses=problems())
async def web_whoami(actor: WebActor) -> JSONResponse:
    """Who this browser's session belongs to (for the web pages)."""
    return JSONResponse(
        {
            "staff_id": str(actor.id),
            "organisation_id": str(actor.organisation_id),
            "roles": sorted(r.value for r in actor.roles),
        }
    )
