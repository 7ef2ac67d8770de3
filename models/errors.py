"""Domain errors. The API maps each to a problem+json response in one handler.

Each error carries a `kind`: the stable name of the kind of problem, which the API turns into
the problem's `type` URI (`urn:harbour:problem:<kind>`, listed in docs/app-developers.md) so a
client can branch on it instead of on English text. A raise site that names a more precise
kind than its class's default passes `kind=`.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"
    kind: str = "bad-request"

    def __init__(
        self, detail: str, *, errors: list[dict[str, Any]] | None = None, kind: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        if kind is not None:
            self.kind = kind


class NotFound(DomainError):
    status = 404
    title = "Not found"
    kind = "not-found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    kind = "forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    kind = "conflict"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"
    kind = "stale-etag"


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition required"
    kind = "if-match-required"


class Invalid(DomainError):
    """Well-formed input that breaks a domain rule (an unknown unit, a cycle in the tree)."""

    status = 422
    title = "Unprocessable content"
    kind = "rule-broken"
