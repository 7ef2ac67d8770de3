"""Optimistic concurrency: ETags from a row's version (or its content), checked against If-Match."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from models.errors import PreconditionFailed, PreconditionRequired

V = TypeVar("V")


@dataclass(frozen=True)
class Tagged(Generic[V]):
    """A view and the ETag a route sends with it."""

    view: V
    etag: str


def etag_for(version: int) -> str:
    return f'"{version}"'


def content_etag(*parts: Any) -> str:
    """A strong ETag from the values that make up a resource's state (for rows that keep no
    version counter)."""
    digest = hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()
    return f'"{digest[:24]}"'


def require_match(if_match: str | None, version: int) -> None:
    """Raise unless `if_match` names the current version (428 when absent, 412 when stale)."""
    require_tag(if_match, etag_for(version))


def require_tag(if_match: str | None, current: str) -> None:
    """Raise unless `if_match` names the current ETag (428 when absent, 412 when stale)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired("This update needs an If-Match header with the ETag you read.")
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" in candidates:
        return
    # Strong comparison (RFC 9110 13.1.1): a weak tag never matches.
    if current not in candidates:
        raise PreconditionFailed(
            "The resource changed since you read it; fetch it again and reapply your change."
        )
