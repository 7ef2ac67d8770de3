"""Request and response schemas shared across the API. Request schemas forbid extra fields."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from models.staff import Cohort, Role

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


def _roles(value: list[Role]) -> list[Role]:
    return sorted(set(value))


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]
Roles = Annotated[list[Role], Field(min_length=1, max_length=5), AfterValidator(_roles)]


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


class UnitCreate(Request):
    name: Name
    parent_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None


class UnitUpdate(Request):
    name: Name | None = None
    parent_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None


class UnitPublic(BaseModel):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    manager_id: uuid.UUID | None


class StaffCreate(Request):
    email: Email
    display_name: Name
    password: Password | None = None
    roles: Roles = [Role.practitioner]
    unit_id: uuid.UUID | None = None
    supervisor_id: uuid.UUID | None = None
    cohort: Cohort = Cohort.qualified
    started_on: date
    timezone: TimeZone = "Europe/London"


class StaffUpdate(Request):
    email: Email | None = None
    display_name: Name | None = None
    password: Password | None = None
    roles: Roles | None = None
    unit_id: uuid.UUID | None = None
    supervisor_id: uuid.UUID | None = None
    cohort: Cohort | None = None
    started_on: date | None = None
    timezone: TimeZone | None = None
    active: bool | None = None


class MePublic(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str
    roles: list[Role]
    unit_id: uuid.UUID | None
    supervisor_id: uuid.UUID | None
    cohort: Cohort
    started_on: date
    timezone: str


class StaffPublic(MePublic):
    active: bool


class ImportResult(BaseModel):
    created: int
    updated: int


class AccessLogEntry(BaseModel):
    reader_id: uuid.UUID
    resource_type: str
    resource_id: uuid.UUID
    reason: str
    at: datetime
