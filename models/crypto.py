"""Encryption at rest: AES-256-GCM under a key ring with key ids, bound to row and column.

A sealed value is the text `v1.<kid>.<base64url(nonce || ciphertext+tag)>`. The key id travels
with the value, so several keys can be live at once: the ring's first key seals, every key
opens. The associated data names the table, the row id and the column, so a ciphertext
copied into another row or column (or another table) fails to open instead of leaking.

The ring comes from `HARBOUR_ENCRYPTION_KEYS` ("kid:base64key,kid2:base64key"). To rotate,
put a new key first, keep the old ones after it, restart, run `harbour rotate-keys`, and
drop the old key once it reports nothing left under it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.json_text import json_loads

FORMAT = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16
PLACEHOLDER_SECRET = "change-me-in-production"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyRingError(ValueError):
    """The key ring setting cannot be used (raised at startup, never per request)."""


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


class Undecryptable(Exception):
    """A stored value does not open: unknown key id, tampering, or moved to another row."""


@dataclass(frozen=True)
class KeyRing:
    """Keys by id, in order; `primary` seals new values."""

    keys: Mapping[str, bytes]
    primary: str
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.primary not in self.keys:
            raise KeyRingError("the primary key id is not in the ring")
        for kid, key in self.keys.items():
            self._ciphers[kid] = AESGCM(key)

    def seal(self, plaintext: bytes, associated_data: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.primary].encrypt(nonce, plaintext, associated_data)
        payload = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{FORMAT}.{self.primary}.{payload}"

    def open(self, token: str, associated_data: bytes) -> bytes:
        parts = token.split(".", 2)
        if len(parts) != 3 or parts[0] != FORMAT:
            raise Undecryptable("not a sealed value")
        kid = parts[1]
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise Undecryptable(f"no key {kid!r} in the ring; was it removed before rotation?")
        payload = parts[2]
        try:
            # `base64.urlsafe_b64decode`, without its layers (a sync page opens 30 notes).
            encoded = (payload + "=" * (-len(payload) % 4)).encode("ascii")
            raw = binascii.a2b_base64(encoded.translate(_FROM_URLSAFE))
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data)
        except (binascii.Error, ValueError, InvalidTag) as exc:
            raise Undecryptable("the value does not open under its key") from exc

    def is_current(self, token: str) -> bool:
        """True when `token` is sealed under the primary key (nothing to rotate)."""
        return key_id_of(token) == self.primary


def key_id_of(token: str) -> str:
    parts = token.split(".", 2)
    if len(parts) != 3 or parts[0] != FORMAT:
        raise Undecryptable("not a sealed value")
    return parts[1]


def parse_key_ring(spec: str) -> KeyRing:
    """Parse "kid:base64key,kid2:base64key" (each key 32 random bytes, base64 or base64url)."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        kid = kid.strip()
        if not sep or not _KID.match(kid):
            raise KeyRingError(
                "each encryption key is 'kid:base64key' with a key id of letters, digits, - or _"
            )
        if kid in keys:
            raise KeyRingError(f"the key id {kid!r} appears twice")
        try:
            text = encoded.strip().replace("-", "+").replace("_", "/").rstrip("=")
            key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KeyRingError(f"the key {kid!r} is not base64") from exc
        if len(key) != 32:
            raise KeyRingError(f"the key {kid!r} must be 32 bytes (AES-256), not {len(key)}")
        keys[kid] = key
    if not keys:
        raise KeyRingError("no encryption keys given")
    return KeyRing(keys=keys, primary=next(iter(keys)))


def generate_key_spec(kid: str) -> str:
    """A fresh "kid:base64key" entry (for operators and tests)."""
    return f"{kid}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"


class KeyRingSettings(BaseSettings):
    """Where the key ring comes from: `HARBOUR_ENCRYPTION_KEYS` (and, in development
    without keys, `HARBOUR_SECRET_KEY`). The app's settings extend this; the migrations
    that seal existing rows read it alone, so they never import the API."""

    model_config = SettingsConfigDict(
        env_prefix="HARBOUR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: str = "development"
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    # "kid:base64key,kid2:base64key": the first key encrypts, every key decrypts.
    encryption_keys: SecretStr = SecretStr("")

    def key_ring(self) -> KeyRing:
        """The encryption key ring; in development without keys, one derived from the secret
        (anywhere else an empty ring is refused: the app's settings refuse to start)."""
        spec = self.encryption_keys.get_secret_value()
        if not spec.strip():
            if self.env != "development":
                raise KeyRingError("HARBOUR_ENCRYPTION_KEYS is empty outside development")
            seed = hashlib.sha256(
                b"harbour-dev-encryption/" + self.secret_key.get_secret_value().encode()
            )
            spec = "dev:" + base64.b64encode(seed.digest()).decode()
        return parse_key_ring(spec)


def sealed_length(chars: int) -> int:
    """The longest sealed value of a string of at most `chars` characters (`seal_text`):
    JSON escapes a character in at most 6 bytes (`\\u001f`), plus quotes, nonce and tag,
    base64 (4 per 3), and the `v1.<kid>.` prefix (a key id is at most 32 characters)."""
    raw = NONCE_BYTES + TAG_BYTES + 6 * chars + 2
    return len(FORMAT) + 1 + 32 + 1 + 4 * -(-raw // 3)


def associated_data(table: str, row_id: uuid.UUID, column: str) -> bytes:
    """What a sealed value is bound to: its table, its row and its column."""
    return f"harbour/{table}/{row_id}/{column}".encode()


def seal_json(ring: KeyRing, value: Any, table: str, row_id: uuid.UUID, column: str) -> str:
    plaintext = json.dumps(
        value, separators=(",", ":"), sort_keys=True, ensure_ascii=False
    ).encode()
    return ring.seal(plaintext, associated_data(table, row_id, column))


def open_json(ring: KeyRing, token: str, table: str, row_id: uuid.UUID, column: str) -> Any:
    # Sealed as UTF-8 (`seal_json`): decoded as such, rather than `json.loads` guessing; then
    # parsed as a JSON column's value is (`json_loads`: a sync page opens 30 notes).
    return json_loads(ring.open(token, associated_data(table, row_id, column)).decode())


def seal_text(ring: KeyRing, text: str, table: str, row_id: uuid.UUID, column: str) -> str:
    """A string sealed for one row's column (JSON inside, like every sealed value)."""
    return seal_json(ring, text, table, row_id, column)


def open_text(ring: KeyRing, token: str, table: str, row_id: uuid.UUID, column: str) -> str:
    value = open_json(ring, token, table, row_id, column)
    if not isinstance(value, str):
        raise Undecryptable("the sealed value is not text")
    return value


@dataclass(frozen=True)
class SealedColumn:
    """A column holding sealed values, keyed by the table's `id` (rotation walks these)."""

    table: str
    column: str


SEALED_COLUMNS: list[SealedColumn] = []


def register_sealed_column(table: str, column: str) -> None:
    """Declare a sealed column so `harbour rotate-keys` re-encrypts it; call at import."""
    entry = SealedColumn(table, column)
    if entry not in SEALED_COLUMNS:
        SEALED_COLUMNS.append(entry)
