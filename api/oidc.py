"""OpenID Connect relying party: provider discovery, signing keys, and ID token validation.

Validation is joserfc's (signature, registered claims); this module decides what to ask of
it. An ID token is accepted only when, in this order:

1. its issuer is one an organisation configured (the unverified `iss` only picks which
   configuration to try; no request ever goes to an issuer nobody configured);
2. the header's `alg` is an asymmetric algorithm the provider announces (never `none`, never
   HS*: a provider's public key is public, so an HMAC "signed" with it proves nothing);
3. the signature verifies under a key of the provider's JWKS (fetched over HTTPS; an unknown
   key id, or a signature no cached key verifies, refetches the JWKS once, at most once per
   `oidc_refetch_seconds` per issuer, which is how a key rotation is picked up);
4. `iss` equals the configured issuer, `aud` holds an accepted client id (and `azp`, when
   there are several audiences, is one), `exp`, `nbf` and `iat` hold at Harbour's clock
   within the configured skew, the tenant (`tid`, or Google's `hd`) is allowed, and the
   nonce matches when one was sent.

Only then are claims read (`models.directory.sso.sso_staff`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from api.settings import Environment, Settings

# Asymmetric signatures only; `none` and the HMAC family are never accepted.
SAFE_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# Discovery documents and key sets are small; refuse anything larger.
MAX_DOCUMENT_BYTES = 512 * 1024
MAX_TOKEN_BYTES = 16 * 1024


class OidcError(Exception):
    """The ID token (or the provider) cannot be trusted; the message says why (for logs and
    the RFC 6749 error_description, never containing the token)."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    jwks_uri: str
    authorization_endpoint: str
    token_endpoint: str
    algorithms: frozenset[str]


@dataclass
class _Keys:
    keys: KeySet
    fetched_at: datetime


@dataclass
class _Provider:
    metadata: ProviderMetadata | None = None
    metadata_at: datetime | None = None
    keys: _Keys | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_provider_url(url: str, *, allow_loopback_http: bool) -> str:
    """`url` if Harbour may fetch it: https, or http to this machine in development/tests."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and allow_loopback_http and is_loopback(host):
        return url
    raise OidcError(f"the provider URL must be https ({url!r})")


def peek_issuer(token: str) -> str:
    """The `iss` an ID token claims, read WITHOUT verification: only to choose which
    configured provider to verify it against."""
    if len(token) > MAX_TOKEN_BYTES:
        raise OidcError("the token is too large")
    try:
        claims = json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise OidcError("the subject_token is not a signed JWT") from exc
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise OidcError("the token names no issuer")
    return issuer


class OidcVerifier:
    """One per process: providers' metadata and keys are cached across requests."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._client = client
        self._cache_for = timedelta(seconds=settings.oidc_cache_seconds)
        self._refetch_after = timedelta(seconds=settings.oidc_refetch_seconds)
        self._skew = settings.oidc_clock_skew_seconds
        self._timeout = settings.oidc_http_timeout_seconds
        self.allow_loopback_http = settings.env is not Environment.production
        self._providers: dict[str, _Provider] = {}

    # --- fetching ------------------------------------------------------------------------

    async def _get_json(self, url: str) -> dict[str, Any]:
        check_provider_url(url, allow_loopback_http=self.allow_loopback_http)
        try:
            if self._client is not None:
                response = await self._client.get(url, timeout=self._timeout)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(url)
        except httpx.HTTPError as exc:
            raise OidcError(
                f"the identity provider cannot be reached ({type(exc).__name__})"
            ) from exc
        if response.status_code != 200 or len(response.content) > MAX_DOCUMENT_BYTES:
            raise OidcError(f"the identity provider answered {response.status_code} for {url}")
        try:
            body = response.json()
        except ValueError as exc:
            raise OidcError(f"the identity provider sent no JSON at {url}") from exc
        if not isinstance(body, dict):
            raise OidcError(f"the identity provider sent no JSON object at {url}")
        return body

    async def metadata(self, issuer: str, now: datetime) -> ProviderMetadata:
        """The provider's discovery document (cached), checked against the issuer."""
        provider = self._providers.setdefault(issuer, _Provider())
        async with provider.lock:
            if (
                provider.metadata is not None
                and provider.metadata_at is not None
                and now - provider.metadata_at < self._cache_for
            ):
                return provider.metadata
            url = issuer.rstrip("/") + "/.well-known/openid-configuration"
            doc = await self._get_json(url)
            if doc.get("issuer") != issuer:
                # OpenID Connect Discovery 4.3: the document must name the issuer asked for.
                raise OidcError("the discovery document names another issuer")
            try:
                announced = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
                metadata = ProviderMetadata(
                    issuer=issuer,
                    jwks_uri=check_provider_url(
                        str(doc["jwks_uri"]), allow_loopback_http=self.allow_loopback_http
                    ),
                    authorization_endpoint=str(doc["authorization_endpoint"]),
                    token_endpoint=str(doc["token_endpoint"]),
                    algorithms=frozenset(str(a) for a in announced) & SAFE_ALGORITHMS,
                )
            except (KeyError, TypeError) as exc:
                raise OidcError("the discovery document is incomplete") from exc
            provider.metadata, provider.metadata_at = metadata, now
            return metadata

    async def _key_set(
        self, metadata: ProviderMetadata, now: datetime, *, refresh: bool
    ) -> tuple[KeySet, bool]:
        """The provider's keys and whether they were fetched just now. `refresh` asks for a
        refetch, granted only if the last fetch is older than the refetch interval."""
        provider = self._providers.setdefault(metadata.issuer, _Provider())
        async with provider.lock:
            cached = provider.keys
            if cached is not None:
                age = now - cached.fetched_at
                fresh = age < self._cache_for and not (refresh and age >= self._refetch_after)
                if fresh or (refresh and age < self._refetch_after):
                    return cached.keys, False
            body = await self._get_json(metadata.jwks_uri)
            try:
                keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
            except (JoseError, KeyError, TypeError, ValueError) as exc:
                raise OidcError("the provider's JWKS holds no usable key") from exc
            provider.keys = _Keys(keys, now)
            return keys, True

    # --- validation ----------------------------------------------------------------------

    async def verify(
        self,
        token: str,
        *,
        issuer: str,
        audiences: Collection[str],
        tenants: Collection[str],
        now: datetime,
        nonce: str | None = None,
    ) -> dict[str, Any]:
        """The verified claims of an ID token, or OidcError."""
        if len(token) > MAX_TOKEN_BYTES:
            raise OidcError("the token is too large")
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError, TypeError) as exc:
            raise OidcError("the subject_token is not a signed JWT") from exc
        metadata = await self.metadata(issuer, now)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in metadata.algorithms:
            raise OidcError(f"the token's algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        keys, fetched = await self._key_set(metadata, now, refresh=False)
        if not fetched and kid is not None and all(k.kid != kid for k in keys):
            keys, fetched = await self._key_set(metadata, now, refresh=True)
        try:
            decoded = self._decode(token, keys, alg)
        except OidcError:
            if fetched:
                raise
            # Perhaps the keys rotated under a key id we hold no key for, or with no key id.
            keys, fetched = await self._key_set(metadata, now, refresh=True)
            if not fetched:
                raise
            decoded = self._decode(token, keys, alg)
        claims = dict(decoded.claims)
        self._check_claims(claims, issuer, audiences, tenants, now, nonce)
        return claims

    @staticmethod
    def _decode(token: str, keys: KeySet, alg: str) -> jwt.Token:
        try:
            return jwt.decode(token, keys, algorithms=[alg])
        except JoseError as exc:
            raise OidcError("the token's signature does not verify") from exc

    def _check_claims(
        self,
        claims: dict[str, Any],
        issuer: str,
        audiences: Collection[str],
        tenants: Collection[str],
        now: datetime,
        nonce: str | None,
    ) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=self._skew,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "values": list(audiences)},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(f"the token's claims are not accepted ({exc.description})") from exc
        aud = claims["aud"]
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") not in audiences:
            raise OidcError("the token was issued to another client (azp)")
        if tenants:
            tenant = claims.get("tid", claims.get("hd"))
            if tenant not in tenants:
                raise OidcError("the token is for a tenant this organisation does not allow")
        if nonce is not None and claims.get("nonce") != nonce:
            raise OidcError("the token's nonce does not match the sign-in")
