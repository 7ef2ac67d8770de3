"""Request and response schemas shared across the API. Request schemas forbid extra fields."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from typing import Annotated, Any, Generic, TypeVar, get_args
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

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


LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_LOCAL_TIME = re.compile(LOCAL_TIME_PATTERN)


def _local_time(value: Any) -> time:
    """A wall-clock time in the person's own time zone: HH:MM (or HH:MM:SS), no offset (an
    offset could not be stored, and the zone is the person's `timezone`)."""
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and _LOCAL_TIME.match(value):
        return time.fromisoformat(value)
    raise ValueError("a local time of day, HH:MM (24-hour, no offset)")


# Sent back as HH:MM:SS, as before; the pattern accepts both.
LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": LOCAL_TIME_PATTERN,
            "description": "Local time of day in the person's time zone (no offset)",
            "examples": ["21:00"],
        }
    ),
]


def _iso_date(value: Any) -> date:
    """YYYY-MM-DD only: pydantic would also take a number as seconds since 1970."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)
    raise ValueError("a date, YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]


def sent_at_most(limit: int) -> BeforeValidator:
    """With `StringConstraints(strip_whitespace=True, max_length=limit)`: the document's
    `maxLength` holds for what was sent. Pydantic strips before it counts, so a value
    padded with whitespace past the limit was accepted (schemathesis' negative-data check);
    it is refused with the same error as any value too long."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": limit},
            )
        return value

    return BeforeValidator(check)


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    sent_at_most(200),
]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]

SCALING_DESCRIPTION = (
    "Signs of Safety scaling: a whole number from 0 to 10 (null when not answered)"
)
# One type for the Signs of Safety scaling question wherever it is asked: a case discussion
# in a session or group record, and a signs_of_safety reflection's `scaling` answer.
Scaling = Annotated[int, Field(ge=0, le=10, description=SCALING_DESCRIPTION)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _admits_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    return any(_admits_bool(arg) for arg in get_args(annotation))


def _only_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    args = [a for a in get_args(annotation) if a is not type(None)]
    return bool(args) and all(_only_bool(a) for a in args)


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

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """`true` is not the number 1 (pydantic's lax mode would take it as one): a field
        the document types as a number refuses a boolean."""
        if info.field_name is None:
            return value
        field = cls.model_fields.get(info.field_name)
        if field is None:
            return value
        if isinstance(value, bool) and not _admits_bool(field.annotation):
            raise ValueError("not a boolean here")
        # ... and the number 0 is not `false`: a field the document types as a boolean refuses
        # numbers. (Strings stay lax: the web pages' checkboxes arrive as text.)
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and _only_bool(field.annotation)
        ):
            raise ValueError("a boolean, true or false")
        return value


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first unless said otherwise; pass `next_cursor` back as
    `cursor` for the next page (null: this was the last)."""

    data: list[T]
    next_cursor: str | None


class AccessLogEntry(BaseModel):
    reader_id: uuid.UUID
    resource_type: str
    resource_id: uuid.UUID
    reason: str
    at: datetime
