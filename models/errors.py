"""Domain errors. The API maps each to a problem+json response in one handler."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition required"


class Invalid(DomainError):
    """Well-formed input that breaks a domain rule (an unknown unit, a cycle in the tree)."""

    status = 422
    title = "Unprocessable content"
