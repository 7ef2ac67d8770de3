"""OAuth2 token endpoint (RFC 6749 errors), logout, and who am I."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from api.deps import (
    BEARER_SECURITY,
    Now,
    OidcDep,
    PasswordsDep,
    SessionDep,
    SettingsDep,
    TokensDep,
    bearer_claims,
    invalid_token,
)
from api.oidc import OidcError
from api.problems import problems
from api.sso_flow import ID_TOKEN_TYPE, TOKEN_EXCHANGE, exchange_id_token
from models.directory.schemas import MePublic
from models.directory.service import load_active_me
from models.directory.sign_in import (
    ADDRESS_FACTOR,
    BadCredentials,
    LoginThrottled,
    SsoRequired,
    password_login,
)
from models.directory.sso import SsoRefused
from models.directory.staff import Staff
from models.directory.throttle import ThrottlePolicy, record_failure, retry_after, throttle_key
from models.directory.tokens import (
    RefreshRejected,
    issue_refresh_token,
    revoke_refresh_token,
    rotate_refresh_token,
)

router = APIRouter(tags=["auth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenResponse(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str


OAuthErrorCode = Literal[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
]


class OAuthError(BaseModel):
    """RFC 6749 section 5.2 (application/json, as the RFC wants; not problem+json)."""

    error: OAuthErrorCode
    error_description: str | None = None


def _oauth_error(
    error: OAuthErrorCode,
    description: str,
    status: int = 400,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = OAuthError(error=error, error_description=description).model_dump()
    return JSONResponse(body, status_code=status, headers={**_NO_STORE, **(headers or {})})


def _form_body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for a form-encoded body (the routes parse it themselves, for RFC 6749 errors)."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


_TOKEN_FORM = _form_body(
    ["grant_type"],
    {
        "grant_type": {
            "type": "string",
            "enum": ["password", "refresh_token", TOKEN_EXCHANGE],
        },
        "username": {"type": "string", "description": "e-mail address"},
        "password": {"type": "string", "format": "password"},
        "refresh_token": {"type": "string"},
        "subject_token": {
            "type": "string",
            "description": "token exchange: the identity provider's ID token",
        },
        "subject_token_type": {"type": "string", "enum": [ID_TOKEN_TYPE]},
    },
)
_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthError, "description": "RFC 6749 error (for example invalid_grant)"},
    429: {"model": OAuthError, "description": "Too many failed sign-ins; see Retry-After"},
}


async def _form(request: Request) -> dict[str, str] | None:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post(
    "/auth/token",
    name="issue_token",
    response_model=TokenResponse,
    responses=_OAUTH_ERRORS,
    openapi_extra=_TOKEN_FORM,
)
async def issue_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    tokens: TokensDep,
    oidc: OidcDep,
    now: Now,
) -> JSONResponse:
    """Exchange a password, a refresh token, or (RFC 8693) the council identity provider's
    ID token for an access token and a new refresh token."""
    form = await _form(request)
    if form is None:
        return _oauth_error("invalid_request", "Send application/x-www-form-urlencoded.")
    grant = form.get("grant_type")
    if not grant:
        return _oauth_error("invalid_request", "grant_type is required.")
    refresh_lifetime = timedelta(days=settings.refresh_token_days)
    policy = ThrottlePolicy(
        settings.login_max_failures,
        timedelta(seconds=settings.login_window_seconds),
        timedelta(seconds=settings.login_lockout_seconds),
    )
    address = request.client.host if request.client else "unknown"
    if grant == "password":
        username, password = form.get("username"), form.get("password")
        if not username or not password:
            return _oauth_error("invalid_request", "username and password are required.")
        try:
            staff = await password_login(
                session, username, password, address, passwords.verify, policy, now
            )
        except LoginThrottled as exc:
            return _oauth_error(
                "invalid_grant",
                "Too many failed sign-in attempts. Try again later.",
                status=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        except BadCredentials:
            # Returned, not raised, so the failure count commits.
            return _oauth_error("invalid_grant", "The e-mail address or password is wrong.")
        except SsoRequired:
            return _oauth_error(
                "invalid_grant",
                "Your organisation signs in with its own account (single sign-on); "
                "password sign-in is switched off.",
            )
        issued = await issue_refresh_token(session, staff, now, refresh_lifetime)
        return _tokens(tokens, staff, issued.token, now)
    if grant == "refresh_token":
        token = form.get("refresh_token")
        if not token:
            return _oauth_error("invalid_request", "refresh_token is required.")
        try:
            staff, issued = await rotate_refresh_token(session, token, now, refresh_lifetime)
        except RefreshRejected:
            # Returned, not raised: a detected reuse has revoked the chain and must commit.
            return _oauth_error("invalid_grant", "The refresh token is not valid.")
        return _tokens(tokens, staff, issued.token, now)
    if grant == TOKEN_EXCHANGE:
        return await _token_exchange(
            form, session, oidc, tokens, address, policy, now, refresh_lifetime
        )
    return _oauth_error(
        "unsupported_grant_type",
        f"Use grant_type password, refresh_token or {TOKEN_EXCHANGE}.",
    )


async def _token_exchange(
    form: dict[str, str],
    session: SessionDep,
    oidc: OidcDep,
    tokens: TokensDep,
    address: str,
    policy: ThrottlePolicy,
    now: datetime,
    refresh_lifetime: timedelta,
) -> JSONResponse:
    """RFC 8693: the phone's ID token from the council's provider for Harbour's tokens."""
    subject_token = form.get("subject_token")
    if not subject_token or form.get("subject_token_type") != ID_TOKEN_TYPE:
        return _oauth_error(
            "invalid_request", f"subject_token and subject_token_type={ID_TOKEN_TYPE} are required."
        )
    if "requested_token_type" in form or "actor_token" in form:
        return _oauth_error("invalid_request", "Only the default token type is issued here.")
    key = throttle_key("ip", address)
    wait = await retry_after(session, [key], now)
    if wait is not None:
        return _oauth_error(
            "invalid_grant",
            "Too many failed sign-in attempts. Try again later.",
            status=429,
            headers={"Retry-After": str(wait)},
        )
    try:
        staff = await exchange_id_token(session, oidc, subject_token, now)
    except (OidcError, SsoRefused) as exc:
        loose = ThrottlePolicy(policy.max_failures * ADDRESS_FACTOR, policy.window, policy.lockout)
        await record_failure(session, key, now, loose)
        return _oauth_error("invalid_grant", f"The ID token is not accepted: {exc}")
    issued = await issue_refresh_token(session, staff, now, refresh_lifetime)
    return _tokens(tokens, staff, issued.token, now)


def _tokens(tokens: TokensDep, staff: Staff, refresh: str, now: datetime) -> JSONResponse:
    body = TokenResponse(
        access_token=tokens.issue(staff.id, staff.organisation_id, now),
        expires_in=int(tokens.lifetime.total_seconds()),
        refresh_token=refresh,
    )
    return JSONResponse(body.model_dump(), headers=_NO_STORE)


@router.post(
    "/auth/revoke",
    name="revoke_token",
    status_code=200,
    responses=_OAUTH_ERRORS,
    openapi_extra=_form_body(["token"], {"token": {"type": "string"}}),
)
async def revoke_token(request: Request, session: SessionDep, now: Now) -> JSONResponse:
    """Log out: revoke a refresh token and every token rotated from the same sign-in."""
    form = await _form(request)
    token = form.get("token") if form else None
    if not token:
        return _oauth_error("invalid_request", "token is required.")
    await revoke_refresh_token(session, token, now)
    return JSONResponse({}, headers=_NO_STORE)


@router.get(
    "/me",
    name="get_me",
    response_model=MePublic,
    responses=problems(),
    openapi_extra=BEARER_SECURITY,
)
async def get_me(request: Request) -> Response:
    """The signed-in staff member (one read, no transaction)."""
    # The one read is also the check that they are still active: no session, no ORM row,
    # no generator dependency (`models.db.read_once`), and the bearer token read here, not
    # by a dependency (`bearer_claims`; docs/PERFORMANCE.md).
    claims = await bearer_claims(request)
    me = await load_active_me(
        request.app.state.session_factory, claims.organisation_id, claims.staff_id
    )
    if me is None:
        raise invalid_token()
    # Already a validated MePublic: written as is, not validated and dumped again by FastAPI.
    return Response(me.model_dump_json(), media_type="application/json")
