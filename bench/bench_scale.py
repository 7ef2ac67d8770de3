"""The scale of the rest: oversight and the reminder sweep over a 5,000-person council.

    .venv/bin/python -m bench.bench_scale [--staff 5000] [--years 5] [--repeats 20]
        [--db harbour_bench_scale] [--keep] [--reuse] [--no-10x] [--profile DIR] [--no-freeze]

On PostgreSQL (`--db`, default `harbour_bench_scale`, made afresh and dropped after unless
`--keep`; `--reuse` times a kept database as it is, its outbox emptied first so the first
sweep is a first again, and seeds nothing; `--no-10x` stops before growing the history;
`--profile DIR` writes pyinstrument profiles of the roll-ups and of each sweep there; the
startup heap is frozen and the youngest generation collected less often, as the server and
the worker do, unless `--no-freeze`).

Seeds one council of `--staff` people: a directorate, services of 500 (50 teams of a
supervisor and nine practitioners), a manager per service; `--years` of history per
practitioner (a signed-off session a month with an action each, the older actions done;
annual leave twice a year),
plus what a live council has pending (a session awaiting write-up, one awaiting sign-off, a
recent cancellation, two open actions), and an Android phone each. Then:

- the oversight roll-up (`unit_oversight`) of one 500-person service, `--repeats` times:
  p50 and p95, and its statement count;
- the reminder sweep (`sweep_organisation`, pushes planned) over the whole council: the
  first (everything new) and a repeat (nothing new, the five-minutely case);
- then adds nine times the history again (sessions and actions going back 10x `--years`),
  re-analyses, and times the roll-up and the repeat sweep again: the 10x/1x ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy import event
from sqlalchemy.orm import configure_mappers

from api.delivery.sweep import sweep_organisation
from api.heap import collect_less_often, freeze_startup_heap
from migrations import alembic_config
from models.db import create_engine, create_session_factory, session_scope
from models.directory.service import actor_for
from models.directory.staff import Staff
from supervision.oversight.rollup import unit_oversight

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "harbour_bench_scale"  # --db replaces it
# Monday 09:30 in London: the weekly nudge is due and nobody is in quiet hours.
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TODAY = NOW.date()
SERVICE = 500
TEAM = 10


def _dsn(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class Council:
    org: uuid.UUID
    head: uuid.UUID
    service: uuid.UUID  # the first service's unit
    service_manager: uuid.UUID
    practitioners: list[tuple[uuid.UUID, uuid.UUID]]  # (practitioner, supervisor)


_SESSION_COLUMNS = [
    "id",
    "organisation_id",
    "supervisee_id",
    "supervisor_id",
    "kind",
    "status",
    "scheduled_for",
    "duration_minutes",
    "held_at",
    "held_on",
    "held_minutes",
    "cancelled_reason",
    "cancelled_by",
    "cancelled_at",
    "recorded_at",
    "signed_off_at",
    "created_by",
    "version",
    "created_at",
    "updated_at",
]
_ACTION_COLUMNS = [
    "id",
    "organisation_id",
    "session_id",
    "supervisee_id",
    "owner_id",
    "position",
    "description",
    "due_on",
    "status",
    "completed_at",
    "version",
    "created_at",
    "updated_at",
]


def _session(
    org: uuid.UUID,
    person: uuid.UUID,
    supervisor: uuid.UUID,
    on: date,
    status: str,
    *,
    cancelled: bool = False,
) -> tuple[Any, ...]:
    at = datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=10)
    held = status in ("recorded", "signed_off")
    return (
        uuid.uuid4(),
        org,
        person,
        supervisor,
        "one_to_one",
        status,
        at,
        90,
        at if held else None,
        on if held else None,
        90 if held else None,
        "Sickness" if cancelled else None,
        supervisor if cancelled else None,
        at if cancelled else None,
        at + timedelta(days=2) if held else None,
        at + timedelta(days=5) if status == "signed_off" else None,
        supervisor,
        1,
        at,
        at,
    )


def _action(session_row: tuple[Any, ...], done: bool) -> tuple[Any, ...]:
    at = session_row[6]
    return (
        uuid.uuid4(),
        session_row[1],
        session_row[0],
        session_row[2],
        session_row[2],
        0,
        "Follow up with the family's school",
        (at + timedelta(days=14)).date(),
        "done" if done else "open",
        at + timedelta(days=10) if done else None,
        1,
        at,
        at,
    )


def _history(council: Council, first_month: int, last_month: int) -> tuple[list[Any], list[Any]]:
    """Monthly signed-off sessions `first_month`..`last_month` months ago (done actions)."""
    sessions, actions = [], []
    for n, (person, supervisor) in enumerate(council.practitioners):
        for month in range(first_month, last_month):
            on = TODAY - timedelta(days=30 * month + n % 20)
            row = _session(council.org, person, supervisor, on, "signed_off")
            sessions.append(row)
            actions.append(_action(row, done=True))
    return sessions, actions


async def seed(conn: asyncpg.Connection, staff_count: int, years: int) -> Council:
    org = uuid.uuid4()
    await conn.execute(
        "INSERT INTO organisations (id, name, created_at) VALUES ($1, 'Scale Council', $2)",
        org,
        NOW,
    )
    staff: list[tuple[Any, ...]] = []
    units: list[tuple[Any, ...]] = []

    def person(sid: uuid.UUID, role: str, unit: uuid.UUID | None, sup: uuid.UUID | None) -> None:
        staff.append(
            (
                sid,
                org,
                f"{role}-{sid.hex[:12]}@scale.example",
                f"{role.title()} {sid.hex[:8]}",
                json.dumps([role]),
                unit,
                sup,
                "qualified",
                date(2019, 9, 2),
                "Europe/London",
                True,
                1,
                NOW,
                NOW,
            )
        )

    head = uuid.uuid4()
    person(head, "manager", None, None)
    directorate = uuid.uuid4()
    units.append((directorate, org, "Children's services", None, head, 1, NOW, NOW))
    practitioners: list[tuple[uuid.UUID, uuid.UUID]] = []
    services: list[tuple[uuid.UUID, uuid.UUID]] = []
    for s in range(max(1, staff_count // SERVICE)):
        manager, service = uuid.uuid4(), uuid.uuid4()
        person(manager, "manager", None, None)
        units.append((service, org, f"Service {s}", directorate, manager, 1, NOW, NOW))
        services.append((service, manager))
        for t in range(SERVICE // TEAM):
            team, supervisor = uuid.uuid4(), uuid.uuid4()
            units.append((team, org, f"Team {s}.{t}", service, None, 1, NOW, NOW))
            person(supervisor, "supervisor", team, None)
            for _ in range(TEAM - 1):
                pid = uuid.uuid4()
                person(pid, "practitioner", team, supervisor)
                practitioners.append((pid, supervisor))
    columns = [
        "id",
        "organisation_id",
        "email",
        "display_name",
        "roles",
        "unit_id",
        "supervisor_id",
        "cohort",
        "started_on",
        "timezone",
        "active",
        "version",
        "created_at",
        "updated_at",
    ]
    managers = {head} | {m for _, m in services}
    await conn.copy_records_to_table(
        "staff", records=[r for r in staff if r[0] in managers], columns=columns
    )
    await conn.copy_records_to_table(
        "units",
        records=units,
        columns=[
            "id",
            "organisation_id",
            "name",
            "parent_id",
            "manager_id",
            "version",
            "created_at",
            "updated_at",
        ],
    )
    await conn.copy_records_to_table(
        "staff", records=[r for r in staff if r[0] not in managers], columns=columns
    )
    council = Council(org, head, services[0][0], services[0][1], practitioners)
    sessions, actions = _history(council, 1, 12 * years)
    for n, (pid, supervisor) in enumerate(practitioners):
        # What is pending in a live council.
        awaiting = _session(org, pid, supervisor, TODAY - timedelta(days=3 + n % 5), "scheduled")
        recorded = _session(org, pid, supervisor, TODAY - timedelta(days=9), "recorded")
        cancelled = _session(
            org, pid, supervisor, TODAY - timedelta(days=20), "cancelled", cancelled=True
        )
        sessions += [awaiting, recorded, cancelled]
        actions += [_action(recorded, done=False), _action(sessions[n * (12 * years - 1)], False)]
    await conn.copy_records_to_table(
        "supervision_sessions", records=sessions, columns=_SESSION_COLUMNS
    )
    await conn.copy_records_to_table(
        "supervision_actions", records=actions, columns=_ACTION_COLUMNS
    )
    await conn.copy_records_to_table(
        "absences", records=_absences(council, 0, years), columns=_ABSENCE_COLUMNS
    )
    await conn.copy_records_to_table(
        "devices",
        records=[
            (uuid.uuid4(), org, pid, "android", f"token-{pid}", NOW) for pid, _ in practitioners
        ],
        columns=["id", "organisation_id", "staff_id", "platform", "token", "created_at"],
    )
    await conn.execute("ANALYZE")
    return council


async def _more_history(conn: asyncpg.Connection, council: Council, years: int) -> int:
    """Nine times the history again, older than what is there (10x in all)."""
    sessions, actions = _history(council, 12 * years, 12 * years * 10)
    await conn.copy_records_to_table(
        "supervision_sessions", records=sessions, columns=_SESSION_COLUMNS
    )
    await conn.copy_records_to_table(
        "supervision_actions", records=actions, columns=_ACTION_COLUMNS
    )
    await conn.copy_records_to_table(
        "absences", records=_absences(council, years, years * 10), columns=_ABSENCE_COLUMNS
    )
    await conn.execute("ANALYZE")
    return len(sessions)


_ABSENCE_COLUMNS = [
    "id",
    "organisation_id",
    "staff_id",
    "starts_on",
    "ends_on",
    "kind",
    "created_by",
    "created_at",
]


def _absences(council: Council, first_year: int, last_year: int) -> list[tuple[Any, ...]]:
    """Annual leave twice a year, `first_year`..`last_year` years ago."""
    rows: list[tuple[Any, ...]] = []
    for pid, _ in council.practitioners:
        for year in range(first_year, last_year):
            for month, day in ((4, 7), (8, 4)):
                start = date(TODAY.year - year, month, day)
                end = start + timedelta(days=11)
                rows.append((uuid.uuid4(), council.org, pid, start, end, "annual_leave", None, NOW))
    return rows


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class _Profiler:
    """A pyinstrument profile of one block, written to `directory/name.html` (no-op without)."""

    def __init__(self, directory: str | None, name: str) -> None:
        self.directory, self.name = directory, name
        self.profiler: Any = None

    def __enter__(self) -> None:
        if self.directory:
            from pyinstrument import Profiler

            self.profiler = Profiler(async_mode="enabled")
            self.profiler.start()

    def __exit__(self, *exc: object) -> None:
        if self.profiler is not None and self.directory:
            self.profiler.stop()
            os.makedirs(self.directory, exist_ok=True)
            path = f"{self.directory}/{self.name}"
            with open(f"{path}.html", "w") as out:
                out.write(self.profiler.output_html())
            with open(f"{path}.txt", "w") as out:
                out.write(self.profiler.output_text(unicode=False, color=False))


async def _oversight(
    factory: Any, council: Council, repeats: int, statements: list[str], profile: str | None
) -> tuple[float, float, int, int]:
    async with session_scope(factory) as session:
        manager = await session.get(Staff, council.service_manager)
        assert manager is not None
        actor = actor_for(manager)
    samples, count, people = [], 0, 0
    for _ in range(repeats + 2):
        async with session_scope(factory) as session:
            statements.clear()
            start = time.perf_counter()
            view = await unit_oversight(session, actor, council.service, NOW)
            samples.append(time.perf_counter() - start)
            count = len(statements)
            people = len(view.staff)
    samples = samples[2:]  # the first two warm the caches
    if profile:
        async with session_scope(factory) as session:
            with _Profiler(profile, "oversight"):
                for _ in range(repeats):
                    await unit_oversight(session, actor, council.service, NOW)
    return statistics.median(samples), _pct(samples, 0.95), count, people


async def _sweep(
    factory: Any, council: Council, statements: list[str], profile: str | None, name: str
) -> tuple[float, int, int]:
    async with session_scope(factory) as session:
        statements.clear()
        with _Profiler(profile, f"sweep-{name}"):
            start = time.perf_counter()
            created = await sweep_organisation(session, council.org, NOW, push=True)
            took = time.perf_counter() - start
    return took, len(created), len(statements)


async def _council(conn: asyncpg.Connection) -> Council:
    """The council a kept database holds (`--reuse`)."""
    org = await conn.fetchval("SELECT id FROM organisations WHERE name = 'Scale Council'")
    head = await conn.fetchval(
        "SELECT manager_id FROM units WHERE organisation_id = $1 AND parent_id IS NULL", org
    )
    service, manager = await conn.fetchrow(
        "SELECT id, manager_id FROM units WHERE organisation_id = $1 AND name = 'Service 0'", org
    )
    rows = await conn.fetch(
        "SELECT id, supervisor_id FROM staff WHERE organisation_id = $1 "
        "AND supervisor_id IS NOT NULL ORDER BY id",
        org,
    )
    return Council(org, head, service, manager, [(r[0], r[1]) for r in rows])


async def _empty_outbox(conn: asyncpg.Connection, council: Council) -> None:
    """Undo earlier sweeps of a kept database (the deliveries go with their notifications)."""
    await conn.execute(
        "DELETE FROM changes WHERE organisation_id = $1 AND entity_type = 'notification'",
        council.org,
    )
    await conn.execute("DELETE FROM notifications WHERE organisation_id = $1", council.org)
    # Each table the sweep writes, so that repeated runs do not pile up dead rows in them.
    for table in ("notifications", "deliveries", "changes"):
        await conn.execute(f"VACUUM ANALYZE {table}")


async def main(args: argparse.Namespace) -> None:
    staff_count, years, repeats, name = args.staff, args.years, args.repeats, args.db
    if not args.reuse:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
    url = f"postgresql+asyncpg://{_dsn(name).split('://', 1)[1]}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    conn = await asyncpg.connect(_dsn(name))
    started = time.perf_counter()
    if args.reuse:
        council = await _council(conn)
        await _empty_outbox(conn, council)
    else:
        council = await seed(conn, staff_count, years)
    total = await conn.fetchval("SELECT count(*) FROM staff")
    history = await conn.fetchval("SELECT count(*) FROM supervision_sessions")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{'reused' if args.reuse else 'seeded'} {total:,} staff, {history:,} sessions "
        f"in {time.perf_counter() - started:.0f} s; load average {load}"
    )
    engine = create_engine(url, pool_size=2)
    factory = create_session_factory(engine)
    if not args.no_freeze:
        # As `harbour serve` and `harbour worker` do at the end of their startup (api.heap).
        configure_mappers()
        collect_less_often()
        freeze_startup_heap()
    statements: list[str] = []
    event.listen(
        engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
    )
    profile = args.profile
    try:
        p50, p95, count, people = await _oversight(factory, council, repeats, statements, profile)
        print(
            f"  oversight roll-up, {people}-person service, {history:,} sessions: "
            f"p50 {p50 * 1000:.1f} ms  p95 {p95 * 1000:.1f} ms  ({count} statements; "
            f"target p95 < 50 ms)"
        )
        for run in ("first", "repeat"):
            took, made, n = await _sweep(factory, council, statements, profile, run)
            print(
                f"  reminder sweep ({run}), {total:,} staff: {took:.2f} s, {made:,} new, "
                f"{n} statements (target < 2 s)"
            )
        if args.reuse or args.no_10x:
            return
        added = await _more_history(conn, council, years)
        print(f"  + {added:,} older sessions (history 10x: {years * 10} years)")
        p50x, p95x, count_x, _ = await _oversight(factory, council, repeats, statements, None)
        print(
            f"  oversight roll-up, {years * 10}y history: p50 {p50x * 1000:.1f} ms  "
            f"p95 {p95x * 1000:.1f} ms  ({count_x} statements); "
            f"10x/1x p95 {p95x / p95:.2f} (target < 1.5)"
        )
        took, made, n = await _sweep(factory, council, statements, None, "repeat-10x")
        print(f"  reminder sweep (repeat), {years * 10}y history: {took:.2f} s, {made} new")
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"  load average {load}")
    finally:
        await engine.dispose()
        await conn.close()
        if not args.keep and not args.reuse:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--staff", type=int, default=5000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--db", default=DB_NAME, help="the benchmark database's name")
    parser.add_argument("--keep", action="store_true", help="keep the database after")
    parser.add_argument("--reuse", action="store_true", help="time a kept database as it is")
    parser.add_argument("--no-10x", action="store_true", help="do not grow the history")
    parser.add_argument("--profile", metavar="DIR", help="write pyinstrument profiles here")
    parser.add_argument(
        "--no-freeze", action="store_true", help="leave the collector as Python sets it"
    )
    asyncio.run(main(parser.parse_args()))
