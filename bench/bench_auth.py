"""Benchmark the authenticated read path against yardsticks measured in the same run.

    .venv/bin/python -m bench.bench_auth [--requests 2000] [--database sqlite|postgresql]

Prints, per database:
- `GET /api/v1/me` (JWT check, active-staff read, schema) through the full ASGI stack,
- yardstick A: a bare FastAPI route returning a constant through the same stack,
- yardstick B: the same staff-row SELECT on the raw driver (aiosqlite / asyncpg),
and the ratios, so results compare across machines. In-process (httpx ASGITransport),
sequential, one connection: it measures Harbour's own overhead, not the network.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import aiosqlite
import asyncpg
import httpx
from alembic import command

from api.app import create_app
from api.settings import Settings
from migrations import alembic_config
from models.db import create_engine, create_session_factory, session_scope
from models.directory.organisation import Organisation
from models.directory.staff import Role, Staff

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "harbour_bench"


async def _timed(n: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(min(100, n // 10)):  # warm up
        await call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return samples


def _line(name: str, samples: list[float]) -> float:
    mean = statistics.fmean(samples)
    p95 = sorted(samples)[int(len(samples) * 0.95)]
    print(
        f"  {name:<44} {1 / mean:>9.0f} req/s   p50 {statistics.median(samples) * 1e6:>7.0f} µs"
        f"   p95 {p95 * 1e6:>7.0f} µs"
    )
    return mean


async def run(database: str, n: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    else:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {PG_DB}")
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    settings = Settings(
        env="test",
        database_url=url,
        secret_key="bench-" + "x" * 40,
        encryption_keys="bench:" + base64.b64encode(os.urandom(32)).decode(),
        scheduler="off",
    )
    engine = create_engine(url)
    now = datetime.now(UTC)
    async with session_scope(create_session_factory(engine)) as session:
        org = Organisation(name="Bench", created_at=now)
        session.add(org)
        await session.flush()
        staff = Staff(
            organisation_id=org.id,
            email="bench@example.org",
            display_name="Bench",
            roles=[Role.practitioner.value],
            started_on=date(2024, 1, 1),
            created_at=now,
            updated_at=now,
        )
        session.add(staff)
    app = create_app(settings, engine=engine, scheduler=False)

    @app.get("/bench/constant")
    async def constant() -> dict[str, str]:
        return {"ok": "yes"}

    token = app.state.tokens.issue(staff.id, org.id, now)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    print(f"{database}: {n} sequential requests each")
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        me = _line(
            "GET /api/v1/me", await _timed(n, lambda: client.get("/api/v1/me", headers=headers))
        )
        bare = _line(
            "yardstick A: bare FastAPI route",
            await _timed(n, lambda: client.get("/bench/constant")),
        )

    sql = "SELECT * FROM staff WHERE organisation_id = {p} AND id = {p} AND active"
    if database == "sqlite":
        async with aiosqlite.connect(tmp / "bench.db") as raw:
            args = (org.id.hex, staff.id.hex)
            query = sql.format(p="?")

            async def fetch() -> object:
                async with raw.execute(query, args) as cursor:
                    return await cursor.fetchone()

            driver = _line("yardstick B: raw aiosqlite SELECT", await _timed(n, fetch))
    else:
        raw_pg = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}")
        query = sql.replace("{p}", "$1", 1).replace("{p}", "$2", 1)
        driver = _line(
            "yardstick B: raw asyncpg SELECT",
            await _timed(n, lambda: raw_pg.fetchrow(query, org.id, staff.id)),
        )
        await raw_pg.close()
    await engine.dispose()
    print(f"  ratio /me ÷ bare route          {me / bare:6.2f}x the time")
    print(f"  overhead above route + driver   {(me - bare - driver) * 1e6:6.0f} µs per request")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    for database in ("sqlite", "postgresql") if args.database == "both" else (args.database,):
        asyncio.run(run(database, args.requests))


if __name__ == "__main__":
    main()
