"""Plain factory functions for test data, and helpers to act as a given person."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import AccessTokens
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Cohort, Role, Staff

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def now_of(app: FastAPI) -> datetime:
    clock = app.state.clock
    value: datetime = clock()
    return value


async def make_org(db: AsyncSession, name: str | None = None, *, now: datetime) -> Organisation:
    org = Organisation(name=name or f"Council {next(_seq)}", created_at=now)
    db.add(org)
    await db.flush()
    return org


async def make_unit(
    db: AsyncSession,
    org: Organisation,
    name: str | None = None,
    *,
    parent: Unit | None = None,
    manager: Staff | None = None,
    now: datetime,
) -> Unit:
    unit = Unit(
        organisation_id=org.id,
        name=name or f"Unit {next(_seq)}",
        parent_id=parent.id if parent else None,
        manager_id=manager.id if manager else None,
        created_at=now,
        updated_at=now,
    )
    db.add(unit)
    await db.flush()
    return unit


async def make_staff(
    db: AsyncSession,
    org: Organisation,
    *roles: Role,
    unit: Unit | None = None,
    supervisor: Staff | None = None,
    cohort: Cohort = Cohort.qualified,
    started_on: date = date(2024, 1, 8),
    password_hash: str | None = None,
    email: str | None = None,
    active: bool = True,
    now: datetime,
) -> Staff:
    n = next(_seq)
    staff = Staff(
        organisation_id=org.id,
        email=email or f"person{n}@council.example",
        display_name=f"Person {n}",
        password_hash=password_hash,
        roles=[r.value for r in (roles or (Role.practitioner,))],
        unit_id=unit.id if unit else None,
        supervisor_id=supervisor.id if supervisor else None,
        cohort=cohort,
        started_on=started_on,
        active=active,
        created_at=now,
        updated_at=now,
    )
    db.add(staff)
    await db.flush()
    return staff


def bearer(app: FastAPI, staff: Staff) -> dict[str, str]:
    """Headers that authenticate as `staff` (a real access token, as the token endpoint issues)."""
    tokens: AccessTokens = app.state.tokens
    return {"Authorization": f"Bearer {tokens.issue(staff.id, staff.organisation_id, now_of(app))}"}


async def password_login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
