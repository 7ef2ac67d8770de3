"""Single sign-on flows: the phone's token exchange and the browser's authorization code flow.

Both end in `verified_staff`: the ID token is validated (api/oidc.py) against the one
configuration its issuer, audience and tenant select, and only then are its claims read.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlmodel.ext.asyncio.session import AsyncSession

from api.oidc import OidcError, OidcVerifier, peek_issuer
from models.crypto import KeyRing
from models.directory.identity import SsoConfig
from models.directory.sso import (
    SsoRefused,
    client_secret,
    config_for_org,
    configs_for_issuer,
    sso_staff,
)
from models.directory.sso_logins import organisation_by_key, record_login, spend_login
from models.directory.staff import Staff

ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
LOGIN_LIFETIME = timedelta(minutes=10)
CALLBACK_PATH = "/auth/sso/callback"


async def exchange_id_token(
    session: AsyncSession, verifier: OidcVerifier, token: str, now: datetime
) -> Staff:
    """The staff member a provider's ID token names (RFC 8693 exchange); OidcError or
    SsoRefused otherwise."""
    issuer = peek_issuer(token)
    configs = await configs_for_issuer(session, issuer)
    if not configs:
        raise OidcError("no organisation signs in with this issuer")
    matches: list[tuple[SsoConfig, dict[str, object]]] = []
    last: OidcError | None = None
    for config in configs:
        try:
            claims = await verifier.verify(
                token,
                issuer=config.issuer,
                audiences=[config.client_id, *config.app_client_ids],
                tenants=config.allowed_tenants,
                now=now,
            )
        except OidcError as exc:
            last = exc
            continue
        matches.append((config, claims))
    if not matches:
        raise last or OidcError("the token is not accepted")
    if len(matches) > 1:
        raise OidcError("several organisations accept this token; set allowed tenants")
    config, claims = matches[0]
    return await sso_staff(session, config, claims, now)


# --- the browser's authorization code flow ---------------------------------------------------


@dataclass(frozen=True)
class LoginStart:
    redirect_to: str  # the provider's authorization URL
    state: str  # also set in a cookie, compared at the callback (login CSRF)


def safe_return_to(value: str | None) -> str:
    """A local path to land on after sign-in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return value[:500] if not parts.scheme and not parts.netloc else "/"


async def start_login(
    session: AsyncSession,
    verifier: OidcVerifier,
    org_key: str,
    redirect_uri: str,
    return_to: str | None,
    now: datetime,
) -> LoginStart:
    """Record state, nonce and PKCE verifier; answer where to send the browser."""
    organisation = await organisation_by_key(session, org_key)
    config = None if organisation is None else await config_for_org(session, organisation.id)
    if config is None or config.client_secret is None:
        raise SsoRefused("This organisation does not sign in with single sign-on in the browser.")
    metadata = await verifier.metadata(config.issuer, now)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(64)
    await record_login(
        session,
        config.organisation_id,
        state=state,
        nonce=nonce,
        code_verifier=code_verifier,
        return_to=safe_return_to(return_to),
        now=now,
        lifetime=LOGIN_LIFETIME,
    )
    url = add_params_to_uri(
        metadata.authorization_endpoint,
        [
            ("response_type", "code"),
            ("client_id", config.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid email profile"),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", create_s256_code_challenge(code_verifier)),
            ("code_challenge_method", "S256"),
        ],
    )
    return LoginStart(url, state)


async def finish_login(
    session: AsyncSession,
    verifier: OidcVerifier,
    ring: KeyRing,
    *,
    state: str,
    cookie_state: str | None,
    code: str,
    redirect_uri: str,
    now: datetime,
    http: httpx.AsyncClient,
) -> tuple[Staff, str]:
    """Spend the recorded sign-in, exchange the code, validate the ID token with its nonce;
    returns the staff member and where to land."""
    if cookie_state is None or not secrets.compare_digest(
        hashlib.sha256(state.encode()).digest(), hashlib.sha256(cookie_state.encode()).digest()
    ):
        raise SsoRefused("This sign-in was not started in this browser; start again.")
    login = await spend_login(session, state)
    if login is None:
        raise SsoRefused("This sign-in is unknown or was already used; start again.")
    if login.expires_at <= now:
        raise SsoRefused("This sign-in took too long; start again.")
    config = await config_for_org(session, login.organisation_id)
    secret = client_secret(ring, config) if config is not None else None
    if config is None or secret is None:
        raise SsoRefused("Single sign-on was switched off for this organisation.")
    metadata = await verifier.metadata(config.issuer, now)
    try:
        response = await http.post(
            metadata.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": login.code_verifier,
            },
            auth=(config.client_id, secret),  # client_secret_basic
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise OidcError("the identity provider cannot be reached") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    id_token = body.get("id_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not isinstance(id_token, str):
        raise OidcError(f"the identity provider refused the code ({response.status_code})")
    claims = await verifier.verify(
        id_token,
        issuer=config.issuer,
        audiences=[config.client_id],
        tenants=config.allowed_tenants,
        now=now,
        nonce=login.nonce,
    )
    staff = await sso_staff(session, config, claims, now)
    return staff, login.return_to
