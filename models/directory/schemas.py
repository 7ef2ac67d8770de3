"""Request and response bodies of the directory: units, staff, the caller, the CSV import."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from models.directory.identity_schemas import InvitationPublic
from models.directory.staff import Cohort, Role
from models.schemas import Email, Name, Password, Request, TimeZone


def _roles(value: list[Role]) -> list[Role]:
    return sorted(set(value))


Roles = Annotated[list[Role], Field(min_length=1, max_length=5), AfterValidator(_roles)]


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
    # With `?invite=true`: one per person the file made (docs/identity.md).
    invitations: list[InvitationPublic] = []
