"""Benchmark the supervision oversight roll-up as the organisation grows.

    .venv/bin/python -m bench.bench_oversight [--sizes 50,500,2000] [--database sqlite|postgresql]

For each size it seeds a directorate of teams of 10 (a year of monthly sessions each, open
actions, an absence), then times `unit_oversight` for the directorate and counts the SQL
statements it makes: the count must not grow with the size.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy import event, text

from migrations import alembic_config
from models.absence import Absence, AbsenceKind
from models.db import create_engine, create_session_factory, session_scope
from models.directory.organisation import Organisation, Unit
from models.directory.service import actor_for
from models.directory.staff import Role, Staff
from models.supervision import (
    ActionStatus,
    SessionKind,
    SessionStatus,
    SupervisionAction,
    SupervisionSession,
)
from supervision.oversight.rollup import unit_oversight
from supervision.oversight.trend import unit_trend

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "harbour_bench_sup"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TODAY = NOW.date()


def _seed(org: Organisation, size: int) -> tuple[list[list[Any]], Staff, Unit]:
    """Rows in insertion order (the tables have no ORM relationships to order them)."""
    units: list[Any] = []
    rows: list[Any] = []
    sessions: list[Any] = []
    leaves: list[Any] = []
    head = Staff(
        organisation_id=org.id,
        email=f"head-{org.id}@bench.example",
        display_name="Head",
        roles=[Role.manager.value],
        started_on=date(2020, 1, 6),
        created_at=NOW,
        updated_at=NOW,
    )
    directorate = Unit(
        organisation_id=org.id,
        name="Directorate",
        manager_id=head.id,
        created_at=NOW,
        updated_at=NOW,
    )
    units.append(directorate)
    supervisor: Staff | None = None
    team: Unit | None = None
    for i in range(size):
        if i % 10 == 0:
            team = Unit(
                organisation_id=org.id,
                name=f"Team {i // 10}",
                parent_id=directorate.id,
                created_at=NOW,
                updated_at=NOW,
            )
            supervisor = Staff(
                organisation_id=org.id,
                email=f"sup{i}-{org.id}@bench.example",
                display_name=f"Supervisor {i}",
                roles=[Role.supervisor.value],
                unit_id=team.id,
                started_on=date(2020, 1, 6),
                created_at=NOW,
                updated_at=NOW,
            )
            units.append(team)
            rows.append(supervisor)
        assert team is not None
        assert supervisor is not None
        person = Staff(
            organisation_id=org.id,
            email=f"p{i}-{org.id}@bench.example",
            display_name=f"Practitioner {i}",
            unit_id=team.id,
            supervisor_id=supervisor.id,
            started_on=date(2023, 1, 2),
            created_at=NOW,
            updated_at=NOW,
        )
        rows.append(person)
        for month in range(12):
            held = TODAY - timedelta(days=28 * month + i % 20)
            session = SupervisionSession(
                organisation_id=org.id,
                supervisee_id=person.id,
                supervisor_id=supervisor.id,
                kind=SessionKind.one_to_one,
                status=SessionStatus.signed_off,
                scheduled_for=datetime.combine(held, datetime.min.time(), UTC),
                duration_minutes=90,
                held_at=datetime.combine(held, datetime.min.time(), UTC),
                held_on=held,
                held_minutes=90,
                created_at=NOW,
                updated_at=NOW,
            )
            sessions.append(session)
            if month == 0:
                leaves.append(
                    SupervisionAction(
                        organisation_id=org.id,
                        session_id=session.id,
                        supervisee_id=person.id,
                        owner_id=person.id,
                        position=0,
                        description="Follow up",
                        due_on=TODAY - timedelta(days=i % 3),
                        status=ActionStatus.open,
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
        leaves.append(
            Absence(
                organisation_id=org.id,
                staff_id=person.id,
                kind=AbsenceKind.annual_leave,
                starts_on=TODAY - timedelta(days=10),
                ends_on=TODAY - timedelta(days=6),
                created_at=NOW,
            )
        )
    return [[head], units, rows, sessions, leaves], head, directorate


async def _url(database: str, tmp: Path) -> str:
    if database == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_DB}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"


async def main(sizes: list[int], database: str, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = await _url(database, Path(tmp))
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        engine = create_engine(url, pool_size=2)
        factory = create_session_factory(engine)
        statements: list[str] = []
        event.listen(
            engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
        )
        print(f"{database}: supervision oversight of a directorate")
        for size in sizes:
            async with session_scope(factory) as session:
                org = Organisation(name=f"Bench {size}", created_at=NOW)
                session.add(org)
                await session.flush()
                groups, head, directorate = _seed(org, size)
                for group in groups:
                    session.add_all(group)
                    await session.flush()
            actor, unit_id = actor_for(head), directorate.id
            # Yardstick: fetch the raw rows a roll-up needs (staff and sessions), no logic.
            yard = []
            for _ in range(repeats):
                async with session_scope(factory) as session:
                    start = time.perf_counter()
                    for table in ("staff", "supervision_sessions", "supervision_actions"):
                        await session.execute(
                            text(f"SELECT * FROM {table} WHERE organisation_id = :org"),
                            {"org": org.id if database == "postgresql" else org.id.hex},
                        )
                    yard.append(time.perf_counter() - start)
            yardstick = statistics.median(yard)
            print(
                f"  {size:>6} practitioners  yardstick: raw fetch of staff, sessions, actions "
                f"median {yardstick * 1000:>8.1f} ms"
            )
            for name in ("roll-up", "trend 12m"):
                samples = []
                for _ in range(repeats):
                    async with session_scope(factory) as session:
                        statements.clear()
                        start = time.perf_counter()
                        if name == "roll-up":
                            await unit_oversight(session, actor, unit_id, NOW)
                        else:
                            await unit_trend(session, actor, unit_id, 12, NOW)
                        samples.append(time.perf_counter() - start)
                        count = len(statements)
                median = statistics.median(samples)
                print(
                    f"  {size:>6} practitioners  {name:<10} {count:>3} statements  "
                    f"median {median * 1000:>8.1f} ms  ratio {median / yardstick:5.1f}x"
                )
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50,500,2000")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.sizes.split(",")], args.database, args.repeats))
