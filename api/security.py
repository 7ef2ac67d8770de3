"""Password hashing (Argon2id via pwdlib) and access tokens (short-lived JWTs)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.settings import Settings

ACCESS_TOKEN_TYPE = "access"
# The only algorithm accepted, whatever a token's header says.
ALGORITHMS = ["HS256"]
# What an access token must carry; `exp` is checked against the injected clock, not here.
_DECODE_OPTIONS: jwt.types.Options = {
    "require": ["exp", "iat", "sub", "iss", "aud", "typ", "org"],
    "verify_iat": False,
    "verify_exp": False,
}


class Passwords:
    """Argon2id hashing; a dummy hash makes an unknown e-mail cost as much as a wrong one."""

    def __init__(self, settings: Settings) -> None:
        hasher = Argon2Hasher(
            memory_cost=settings.argon2_memory_kib, time_cost=settings.argon2_time_cost
        )
        self._hash = PasswordHash((hasher,))
        self._dummy = self._hash.hash("harbour-dummy-password-for-timing")

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, stored: str | None) -> bool:
        """Check `password`; with no stored hash, burn the same time and answer False."""
        if stored is None:
            self._hash.verify(password, self._dummy)
            return False
        return self._hash.verify(password, stored)


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class AccessClaims:
    staff_id: uuid.UUID
    organisation_id: uuid.UUID


class AccessTokens:
    def __init__(self, settings: Settings) -> None:
        # A key derived for this one purpose, so HARBOUR_SECRET_KEY can seed others safely.
        secret = settings.secret_key.get_secret_value().encode()
        self._key = hashlib.sha256(b"harbour/access-token/v1\x00" + secret).digest()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self.lifetime = timedelta(minutes=settings.access_token_minutes)
        # A decoder with the options merged once, not on every request's verify.
        self._decoder = jwt.PyJWT(_DECODE_OPTIONS)

    def issue(self, staff_id: uuid.UUID, organisation_id: uuid.UUID, now: datetime) -> str:
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(staff_id),
            "org": str(organisation_id),
            "typ": ACCESS_TOKEN_TYPE,
            "iat": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHMS[0])

    def verify(self, token: str, now: datetime) -> AccessClaims:
        try:
            claims = self._decoder.decode(
                token,
                self._key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not an access token")
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= int(now.timestamp()):
            raise InvalidToken("expired")
        try:
            return AccessClaims(uuid.UUID(claims["sub"]), uuid.UUID(claims["org"]))
        except (TypeError, ValueError) as exc:
            raise InvalidToken("malformed subject") from exc
