"""Opaque keyset cursors for list endpoints (`limit`, `cursor`, `next_cursor`)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from models.errors import Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise Invalid("The cursor is not one this server issued.") from exc
    if not isinstance(value, dict):
        raise Invalid("The cursor is not one this server issued.")
    return value


def cursor_uuid(position: dict[str, Any] | None, key: str = "after") -> uuid.UUID | None:
    if position is None:
        return None
    try:
        return uuid.UUID(str(position[key]))
    except (KeyError, ValueError) as exc:
        raise Invalid("The cursor is not one this server issued.") from exc


def encode_time_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """A cursor after the row at (`at`, `row_id`) of a list ordered by time then id."""
    return encode_cursor({"at": at.isoformat(), "id": str(row_id)})


def decode_time_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (time, id) an `encode_time_cursor` cursor points after; 422 for anything else,
    including a forged time without a zone (it would not compare with UTC columns)."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        at = datetime.fromisoformat(str(position["at"]))
        after = uuid.UUID(str(position["id"]))
    except (KeyError, ValueError) as exc:
        raise Invalid("The cursor is not one this server issued.") from exc
    if at.tzinfo is None:
        raise Invalid("The cursor is not one this server issued.")
    return at, after
