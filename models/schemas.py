"""Request and response schemas shared across the API. Request schemas forbid extra fields."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    model_validator,
)

T = TypeVar("T")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIMEZONES = frozenset(available_timezones())


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value


def _timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("not an IANA time zone (for example Europe/London)")
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Request(BaseModel):
    """Base of every request body: unknown fields are refused (422), and so is text holding
    NUL characters (PostgreSQL cannot store them; no real text contains them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text may not contain NUL characters")
        return data


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None


class AccessLogEntry(BaseModel):
    reader_id: uuid.UUID
    resource_type: str
    resource_id: uuid.UUID
    reason: str
    at: datetime
