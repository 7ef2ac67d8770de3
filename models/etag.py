"""Optimistic concurrency: ETags from a row's version, checked against If-Match."""

from __future__ import annotations

from models.errors import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
    return f'"{version}"'


def require_match(if_match: str | None, version: int) -> None:
    """Raise unless `if_match` names the current version (428 when absent, 412 when stale)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired("This update needs an If-Match header with the ETag you read.")
    current = etag_for(version)
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" in candidates:
        return
    # Strong comparison (RFC 9110 13.1.1): a weak tag never matches.
    if current not in candidates:
        raise PreconditionFailed(
            "The resource changed since you read it; fetch it again and reapply your change."
        )
