"""HR and manager analytics reads over the published release (issue 14, item 5), on PostgreSQL,
beside yardsticks measured in the same run.

    .venv/bin/python -m bench.bench_analytics [--staff 5000] [--repeats 30] [--keep] [--reuse]

On PostgreSQL (`harbour_bench_analytics`, made afresh and dropped after unless `--keep`).
Seeds, by COPY (not the API), the synthetic council of `bench/bench_dp.py` (directorates of
500-700 staff, services of 40-150, teams of 6-12; a director and two staff directly in each
directorate, a head of service directly in each service) with an HR officer, and two calendar
years (2025-2026) of weekly pulse check-ins, each person taking part in a week with their own
probability (60% on average), each check-in carrying its group snapshot (unit path, role
group, tenure band) as the API stores it. Then:

- publishes every completed period (24 months and 8 quarters, four measures) with the real
  publisher, `publish_all` (what `harbour publish --backfill-from 2025-01` runs), and times it:
  the backfill on a real database, membership snapshots and stored figures included;
- times each analytics read in-process over ASGI (the whole request: token, scope, the read,
  the audit row, the JSON or file) as the HR officer and as a directorate's director:
  *cold*, the first call of a fresh app (new engine, no connection, no statement compiled)
  right after publication, three apps per read: as the very first request of an app that
  has not started (no lifespan: what the in-process test client does, and what a server paid
  before its startup warmed up, `api.app.warm_up`) and as the first request of an app that
  has run its startup, as `harbour serve` does before it accepts a connection; *warm*, p50
  and p95 over `--repeats` calls of one app;
- yardsticks in the same run: `GET /healthz` (the bare framework) and a raw asyncpg read of
  the stored figure rows the main read answers (the organisation and its directorates, 13
  months) serialised with the same JSON library the app answers with.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np
from alembic import command
from fastapi import FastAPI

from api.app import create_app
from api.delivery.scheduler import publish_all
from api.settings import Settings
from bench.bench_dp import council
from migrations import alembic_config
from models.analytics.periods import role_group, tenure_band
from models.db import create_engine, create_session_factory
from wellbeing.instruments import latest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "harbour_bench_analytics"
FIRST = date(2025, 1, 1)
WEEKS = 104
# Tuesday 6 January 2027: every month and quarter of 2025-2026 is due (3 days' delay).
NOW = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)
TARGET_MS = 300.0
BENCH_SECRET = "bench-analytics-secret-key-0123456789abcdef"  # not the placeholder: no warning
COLD_APPS = 5  # fresh apps per read for the cold figures (the worst is the figure judged)
ROLES = {
    "manager": ["manager"],
    "supervisor": ["supervisor"],
    "practitioner": ["practitioner"],
    "other": ["admin"],  # business support: role group "other"
}
STAFF_COLUMNS = [
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
CHECKIN_COLUMNS = [
    "id",
    "organisation_id",
    "staff_id",
    "instrument",
    "instrument_version",
    "content_hash",
    "answers",
    "scores",
    "bands",
    "band",
    "wants_to_talk",
    "request_hash",
    "taken_at",
    "unit_path",
    "role_group",
    "tenure_band",
]


def _dsn() -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{DB_NAME}"


@dataclass
class Seeded:
    org: uuid.UUID
    hr: uuid.UUID
    director: uuid.UUID
    directorate: uuid.UUID
    service: uuid.UUID
    staff: int
    checkins: int


async def seed(conn: asyncpg.Connection, staff_count: int, seed_: int) -> Seeded:
    c = council(staff_count, seed_)
    org = uuid.uuid4()
    await conn.execute(
        "INSERT INTO organisations (id, name, created_at) VALUES ($1, 'Analytics Council', $2)",
        org,
        NOW,
    )
    # Units: every node of the generated tree but the root and the ':direct' leaves.
    parent = c.trees["unit"].parent
    ids = {n: uuid.uuid4() for n in parent if n != "org" and not n.endswith(":direct")}
    ordered = sorted(ids, key=lambda n: n.count("."))  # parents first
    units = [
        (
            ids[n],
            org,
            f"Directorate {n}" if "." not in n else f"Unit {n}",
            ids.get(parent[n] or ""),
            1,
            NOW,
            NOW,
        )
        for n in ordered
    ]
    await conn.copy_records_to_table(
        "units",
        records=units,
        columns=[
            "id",
            "organisation_id",
            "name",
            "parent_id",
            "version",
            "created_at",
            "updated_at",
        ],
    )
    people = [uuid.uuid4() for _ in c.unit_leaf]
    unit_of = [ids[leaf.removesuffix(":direct")] for leaf in c.unit_leaf]
    started = [s[0] for s in c.starts]
    staff: list[tuple[Any, ...]] = []
    for p, pid in enumerate(people):
        role = c.role[p]
        staff.append(
            (
                pid,
                org,
                f"{role}-{pid.hex[:12]}@analytics.example",
                f"{role.title()} {pid.hex[:8]}",
                json.dumps(ROLES[role]),
                unit_of[p],
                None,
                "qualified",
                started[p],
                "Europe/London",
                True,
                1,
                NOW,
                NOW,
            )
        )
    hr = uuid.uuid4()
    staff.append(
        (hr, org, "hr@analytics.example", "HR Officer", json.dumps(["hr"]), None, None)
        + ("qualified", date(2020, 1, 6), "Europe/London", True, 1, NOW, NOW)
    )
    await conn.copy_records_to_table("staff", records=staff, columns=STAFF_COLUMNS)
    # Managers: the first manager directly in each directorate and service, and each team's.
    managers: dict[uuid.UUID, uuid.UUID] = {}
    for p in range(len(people)):
        if c.role[p] == "manager":
            managers.setdefault(unit_of[p], people[p])
    await conn.executemany("UPDATE units SET manager_id = $2 WHERE id = $1", list(managers.items()))
    # Weekly pulse check-ins, as bench_dp draws them (a person's level, their team's, noise).
    rng = np.random.default_rng(seed_ + 1)
    n = len(people)
    level = rng.normal(15.5, 2.5, n)
    rate = rng.beta(3.0, 2.0, n)
    who, week = np.nonzero(rng.random((n, WEEKS)) < rate[:, None])
    scores = np.clip(np.rint(level[who] + rng.normal(0.0, 2.0, who.size)), 5, 25)
    pulse = latest("pulse")
    assert pulse is not None
    paths: list[str] = []
    for p in range(n):
        path: list[str] = []
        at: str | None = c.unit_leaf[p].removesuffix(":direct")
        while at is not None and at != "org":
            path.append(str(ids[at]))
            at = parent[at]
        paths.append(json.dumps(list(reversed(path))))
    groups = [role_group(ROLES[r]) for r in c.role]
    monday = datetime.combine(FIRST - timedelta(days=FIRST.weekday()), datetime.min.time(), UTC)
    rows: list[tuple[Any, ...]] = []
    for p, w, s in zip(who.tolist(), week.tolist(), scores.tolist(), strict=True):
        taken = monday + timedelta(weeks=w, days=p % 5, hours=9 + p % 8)
        if taken.date() < FIRST:
            taken += timedelta(days=7)
        rows.append(
            (
                uuid.uuid4(),
                org,
                people[p],
                "pulse",
                pulse.version,
                "bench",
                "{}",
                json.dumps({pulse.primary: int(s)}),
                "{}",
                None,
                False,
                "bench",
                taken,
                paths[p],
                groups[p],
                tenure_band(started[p], taken.date()),
            )
        )
    await conn.copy_records_to_table("wellbeing_checkins", records=rows, columns=CHECKIN_COLUMNS)
    await conn.execute("ANALYZE")
    d0 = ids["d0"]
    service = ids["d0.s0"]
    return Seeded(org, hr, managers[d0], d0, service, len(staff), len(rows))


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f}"


Reads = dict[str, tuple[str, str]]  # name: (who, path)


def reads(s: Seeded) -> Reads:
    a = "/api/v1/analytics"
    o = f"/api/v1/oversight/units/{s.directorate}"
    two_years = "from=2025-01-01&to=2026-12-31"
    return {
        "HR: wellbeing by unit (13 months)": ("hr", f"{a}/wellbeing"),
        "HR: wellbeing by unit (2 years)": ("hr", f"{a}/wellbeing?{two_years}"),
        "HR: wellbeing by unit, quarters": ("hr", f"{a}/wellbeing?period=quarter"),
        "HR: wellbeing, a directorate": ("hr", f"{a}/wellbeing?unit_id={s.directorate}"),
        "HR: wellbeing by role": ("hr", f"{a}/wellbeing?by=role&period=quarter"),
        "HR: wellbeing by tenure band": ("hr", f"{a}/wellbeing?by=tenure_band&period=quarter"),
        "HR: participation by unit": ("hr", f"{a}/participation"),
        "HR: participation, a service": ("hr", f"{a}/participation?unit_id={s.service}"),
        "HR: wellbeing.xlsx (2 years)": ("hr", f"{a}/wellbeing.xlsx?{two_years}"),
        "HR: wellbeing.csv (2 years)": ("hr", f"{a}/wellbeing.csv?{two_years}"),
        "HR: report card, a directorate": ("hr", f"{o}/report-card"),
        "manager: oversight wellbeing": ("manager", f"{o}/wellbeing"),
        "manager: oversight wellbeing, quarters": ("manager", f"{o}/wellbeing?period=quarter"),
        "manager: report card (quarter)": ("manager", f"{o}/report-card"),
        "manager: report card (month)": ("manager", f"{o}/report-card?period=month"),
    }


class Bench:
    def __init__(self, url: str, s: Seeded) -> None:
        self.url, self.s = url, s

    async def app_client(
        self,
    ) -> tuple[httpx.AsyncClient, FastAPI, Callable[[], Any], dict[str, str]]:
        """A fresh app (new engine, no connection yet) and bearer headers for both callers."""
        engine = create_engine(self.url, pool_size=2)
        settings = Settings(database_url=self.url, scheduler="off", secret_key=BENCH_SECRET)
        app = create_app(
            settings,
            session_factory=create_session_factory(engine),
            clock=lambda: NOW,
            scheduler=False,
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
        tokens = {
            "hr": app.state.tokens.issue(self.s.hr, self.s.org, NOW),
            "manager": app.state.tokens.issue(self.s.director, self.s.org, NOW),
        }
        return client, app, engine.dispose, tokens

    async def cold(self, who: str, path: str, started: bool) -> tuple[float, int, int]:
        """The read as the first call of a fresh app; with `started`, of an app that has run
        its startup (the lifespan, whose warm-up builds FastAPI's routes and SQLAlchemy's
        mappers), so only the read's own first-call costs are left: its connection, its
        statements compiled for the first time, and its data."""
        client, app, dispose, tokens = await self.app_client()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if started:
                    await stack.enter_async_context(app.router.lifespan_context(app))
                start = time.perf_counter()
                response = await client.get(
                    path, headers={"Authorization": f"Bearer {tokens[who]}"}
                )
                took = time.perf_counter() - start
        finally:
            await client.aclose()
            await dispose()
        return took, response.status_code, len(response.content)

    async def warm(
        self, client: httpx.AsyncClient, headers: dict[str, str], path: str, repeats: int
    ) -> tuple[float, float, int]:
        samples, status = [], 0
        await client.get(path, headers=headers)
        for _ in range(repeats):
            start = time.perf_counter()
            response = await client.get(path, headers=headers)
            samples.append(time.perf_counter() - start)
            status = response.status_code
        return statistics.median(samples), _pct(samples, 0.95), status


async def yardstick_rows(conn: asyncpg.Connection, s: Seeded, repeats: int) -> list[float]:
    """The main read's stored rows (organisation and its children, 13 months), straight from
    asyncpg, serialised with the app's JSON library (the standard one, as FastAPI's default)."""
    starts = [date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 13)]
    samples = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        rows = await conn.fetch(
            "SELECT period_start, node, label, count, count_sd, mean, low, high "
            "FROM analytics_figures WHERE organisation_id = $1 AND measure = 'wellbeing' "
            "AND period_kind = 'month' AND tree = 'unit' AND period_start = ANY($2) "
            "AND (node = 'org' OR parent = 'org') ORDER BY period_start, depth, label",
            s.org,
            starts,
        )
        json.dumps([{**dict(r), "period_start": r["period_start"].isoformat()} for r in rows])
        samples.append(time.perf_counter() - start)
    return samples[1:]


async def seed_and_publish(
    conn: asyncpg.Connection, url: str, staff_count: int, seed_: int
) -> Seeded:
    started = time.perf_counter()
    s = await seed(conn, staff_count, seed_)
    print(
        f"seeded {s.staff:,} staff, {s.checkins:,} check-ins (2 years, weekly) "
        f"in {time.perf_counter() - started:.0f} s  [{_load()}]"
    )
    engine = create_engine(url, pool_size=2)
    started = time.perf_counter()
    count = await publish_all(create_session_factory(engine), NOW, since=FIRST)
    took = time.perf_counter() - started
    await engine.dispose()
    figures = await conn.fetchval("SELECT count(*) FROM analytics_figures")
    await conn.execute("ANALYZE")
    print(
        f"published {count} measure-periods (24 months + 8 quarters), {figures:,} figures, "
        f"with publish_all (harbour publish --backfill-from 2025-01): {took:.0f} s  "
        f"[{_load()}]"
    )
    return s


async def existing(conn: asyncpg.Connection) -> Seeded:
    """The council of an earlier run kept with `--keep`."""
    org = await conn.fetchval("SELECT id FROM organisations")
    hr = await conn.fetchval("SELECT id FROM staff WHERE email = 'hr@analytics.example'")
    d0, director = await conn.fetchrow(
        "SELECT id, manager_id FROM units WHERE name = 'Directorate d0'"
    )
    service = await conn.fetchval("SELECT id FROM units WHERE name = 'Unit d0.s0'")
    staff = await conn.fetchval("SELECT count(*) FROM staff")
    checkins = await conn.fetchval("SELECT count(*) FROM wellbeing_checkins")
    return Seeded(org, hr, director, d0, service, staff, checkins)


async def main(
    staff_count: int, repeats: int, seed_: int, keep: bool, reuse: bool, only: str | None
) -> None:
    url = f"postgresql+asyncpg://{_dsn().split('://', 1)[1]}"
    if not reuse:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
        await admin.close()
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    conn = await asyncpg.connect(_dsn())
    try:
        if reuse:
            s = await existing(conn)
            await conn.execute("ANALYZE")
            print(f"reusing {s.staff:,} staff, {s.checkins:,} check-ins, published earlier")
        else:
            s = await seed_and_publish(conn, url, staff_count, seed_)
        bench = Bench(url, s)
        chosen = {k: v for k, v in reads(s).items() if only is None or only in k}
        print(
            f"cold: first call after publication of a fresh app (new engine, no connection), "
            f"median / worst of {COLD_APPS} apps: before its startup ran; as the first "
            f"request of a started server  [{_load()}]"
        )
        cold: dict[str, float] = {}
        for name, (who, path) in chosen.items():
            firsts, tooks, status, size = [], [], 0, 0
            for _ in range(COLD_APPS):
                first, status, size = await bench.cold(who, path, started=False)
                took, _, _ = await bench.cold(who, path, started=True)
                firsts.append(first)
                tooks.append(took)
            cold[name] = max(tooks)
            print(
                f"  {name:<40} {status}  {statistics.median(firsts) * 1000:7.1f} /"
                f" {max(firsts) * 1000:7.1f} ms   {statistics.median(tooks) * 1000:6.1f} /"
                f" {max(tooks) * 1000:6.1f} ms  ({size:,} bytes)"
            )
        yard = await yardstick_rows(conn, s, repeats)
        client, _, dispose, tokens = await bench.app_client()
        try:
            bare = []
            for _ in range(repeats + 1):
                start = time.perf_counter()
                await client.get("/healthz")
                bare.append(time.perf_counter() - start)
            bare = bare[1:]
            raw50, bare50 = statistics.median(yard), statistics.median(bare)
            print(
                f"warm: p50 / p95 over {repeats} calls  [{_load()}]\n"
                f"  yardstick GET /healthz                  p50 {bare50 * 1000:6.1f}"
                f" ms  p95 {_pct(bare, 0.95) * 1000:6.1f} ms\n"
                f"  yardstick raw asyncpg rows + json       p50 {raw50 * 1000:6.1f} ms  p95 "
                f"{_pct(yard, 0.95) * 1000:6.1f} ms"
            )
            worst = 0.0
            for name, (who, path) in chosen.items():
                headers = {"Authorization": f"Bearer {tokens[who]}"}
                p50, p95, status = await bench.warm(client, headers, path, repeats)
                worst = max(worst, p95, cold[name])
                print(
                    f"  {name:<40} {status}  p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"
                    f"  ÷ raw {p50 / raw50:5.1f}x"
                )
        finally:
            await client.aclose()
            await dispose()
        verdict = "met" if worst * 1000 < TARGET_MS else "NOT met"
        print(
            f"worst warm p95 or cold (first request of a started server): {worst * 1000:.0f} ms "
            f"(target < {TARGET_MS:.0f} ms: "
            f"{verdict})  [{_load()}]"
        )
    finally:
        await conn.close()
        if not keep and not reuse:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--staff", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time the reads of a kept database")
    parser.add_argument("--only", help="only the reads whose name contains this")
    args = parser.parse_args()
    asyncio.run(main(args.staff, args.repeats, args.seed, args.keep, args.reuse, args.only))
