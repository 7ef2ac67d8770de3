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
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "v1"
NONCE_BYTES = 12
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyRingError(ValueError):
    """The key ring setting cannot be used (raised at startup, never per request)."""


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
        kid = key_id_of(token)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise Undecryptable(f"no key {kid!r} in the ring; was it removed before rotation?")
        payload = token.split(".", 2)[2]
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
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


def associated_data(table: str, row_id: uuid.UUID, column: str) -> bytes:
    """What a sealed value is bound to: its table, its row and its column."""
    return f"harbour/{table}/{row_id}/{column}".encode()


def seal_json(ring: KeyRing, value: Any, table: str, row_id: uuid.UUID, column: str) -> str:
    plaintext = json.dumps(
        value, separators=(",", ":"), sort_keys=True, ensure_ascii=False
    ).encode()
    return ring.seal(plaintext, associated_data(table, row_id, column))


def open_json(ring: KeyRing, token: str, table: str, row_id: uuid.UUID, column: str) -> Any:
    return json.loads(ring.open(token, associated_data(table, row_id, column)))


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
