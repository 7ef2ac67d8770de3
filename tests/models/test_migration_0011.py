"""Migration 0011_practice_a repairs what it finds: a supervisor without the role gets it,
and a check-in that told a supervisor becomes a talk request; the shipped bank holidays load.
Rebuilding tables on SQLite (batch mode) loses nothing that points at them: supervisors stay
named and a shared check-in stays shared (migrations run with foreign keys off)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from migrations import alembic_config
from models.base import UTCDateTime
from models.db import create_engine
from tests.conftest import BACKENDS, PG_TEST_DB, pg_url, recreate_pg_database

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

organisations = sa.table(
    "organisations",
    sa.column("id", sa.Uuid),
    sa.column("name", sa.String),
    sa.column("created_at", UTCDateTime()),
)
staff = sa.table(
    "staff",
    *(sa.column(c, sa.Uuid) for c in ("id", "organisation_id", "supervisor_id")),
    *(sa.column(c, sa.String) for c in ("email", "display_name", "cohort", "timezone")),
    sa.column("roles", sa.JSON),
    sa.column("started_on", sa.Date),
    sa.column("active", sa.Boolean),
    sa.column("version", sa.Integer),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
checkins = sa.table(
    "wellbeing_checkins",
    *(sa.column(c, sa.Uuid) for c in ("id", "organisation_id", "staff_id", "talk_supervisor_id")),
    *(
        sa.column(c, sa.String)
        for c in ("instrument", "content_hash", "band", "request_hash", "role_group", "tenure_band")
    ),
    sa.column("instrument_version", sa.Integer),
    *(sa.column(c, sa.JSON) for c in ("answers", "scores", "bands", "unit_path")),
    sa.column("wants_to_talk", sa.Boolean),
    sa.column("taken_at", UTCDateTime()),
)
shares = sa.table(
    "wellbeing_checkin_shares",
    *(
        sa.column(c, sa.Uuid)
        for c in ("id", "organisation_id", "checkin_id", "owner_id", "supervisor_id")
    ),
    sa.column("shared_at", UTCDateTime()),
    sa.column("expires_at", UTCDateTime()),
)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm0011.db'}"
    name = f"{PG_TEST_DB}_m0011"
    asyncio.run(recreate_pg_database(name))
    return pg_url(name)


def _person(
    org: uuid.UUID, n: int, roles: list[str], supervisor: uuid.UUID | None
) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "organisation_id": org,
        "supervisor_id": supervisor,
        "email": f"m0011-{n}@council.example",
        "display_name": f"Person {n}",
        "cohort": "qualified",
        "timezone": "Europe/London",
        "roles": roles,
        "started_on": date(2020, 1, 6),
        "active": True,
        "version": 1,
        "created_at": AT,
        "updated_at": AT,
    }


def test_the_migration_repairs_supervisors_and_keeps_talk_requests(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0009")
    org = uuid.uuid4()
    director = _person(org, 1, ["manager"], None)
    head = _person(org, 2, ["manager", "supervisor"], director["id"])  # type: ignore[arg-type]
    checkin_id = uuid.uuid4()

    async def seed() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(organisations.insert().values(id=org, name="M", created_at=AT))
                await conn.execute(staff.insert(), [director, head])
                await conn.execute(
                    checkins.insert().values(
                        id=checkin_id,
                        organisation_id=org,
                        staff_id=head["id"],
                        talk_supervisor_id=director["id"],
                        instrument="pulse",
                        content_hash="x",
                        band="struggling",
                        request_hash="h",
                        role_group="manager",
                        tenure_band="5_years_plus",
                        instrument_version=1,
                        answers={},
                        scores={},
                        bands={},
                        unit_path=[],
                        wants_to_talk=True,
                        taken_at=AT,
                    )
                )
                await conn.execute(
                    shares.insert().values(
                        id=uuid.uuid4(),
                        organisation_id=org,
                        checkin_id=checkin_id,
                        owner_id=head["id"],
                        supervisor_id=director["id"],
                        shared_at=AT,
                        expires_at=AT,
                    )
                )
        finally:
            await engine.dispose()

    async def read() -> tuple[list[str], int, list[tuple[object, ...]], int, int, object]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                roles = (
                    await conn.execute(sa.select(staff.c.roles).where(staff.c.id == director["id"]))
                ).scalar_one()
                version = (
                    await conn.execute(
                        sa.select(staff.c.version).where(staff.c.id == director["id"])
                    )
                ).scalar_one()
                talks = (
                    await conn.execute(
                        sa.text(
                            "SELECT recipient_id, checkin_id, notified_at"
                            " FROM wellbeing_talk_requests"
                        )
                    )
                ).all()
                holidays = (
                    await conn.execute(sa.text("SELECT count(*) FROM bank_holidays"))
                ).scalar_one()
                kept = (
                    await conn.execute(sa.text("SELECT count(*) FROM wellbeing_checkin_shares"))
                ).scalar_one()
                named = (
                    await conn.execute(
                        sa.select(staff.c.supervisor_id).where(staff.c.id == head["id"])
                    )
                ).scalar_one()
                return (
                    list(roles),
                    int(version),
                    [tuple(t) for t in talks],
                    int(holidays),
                    int(kept),
                    named,
                )
        finally:
            await engine.dispose()

    asyncio.run(seed())
    command.upgrade(config, "head")
    roles, version, talks, holidays, kept, named = asyncio.run(read())
    assert named == director["id"]
    assert kept == 1
    assert sorted(roles) == ["manager", "supervisor"]
    assert version == 2
    # Raw SELECT: SQLite answers UUIDs as 32 hex digits, PostgreSQL as UUID objects.
    assert [(uuid.UUID(str(r)), uuid.UUID(str(c)), n) for r, c, n in talks] == [
        (director["id"], checkin_id, None)
    ]
    assert holidays == 135
