"""Benchmark the web pages' server time for a generated organisation.

    .venv/bin/python -m bench.bench_web [--size 500] [--database postgresql|sqlite]

Seeds the oversight benchmark's directorate (teams of ten, a year of monthly sessions,
open actions, an absence; `bench/bench_oversight.py`), signs a browser session in as its
head (manager, admin and HR at once, so one session opens every page) and as a supervisor,
and times each page in-process over ASGI: the whole request (session lookup, domain calls,
template) without a network. Yardsticks measured in the same run: `GET /healthz` (the bare
framework) and a raw fetch of the rows a roll-up needs (staff, sessions, actions).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from alembic import command
from sqlalchemy import text

from api.app import create_app
from api.settings import Settings
from api.web_session import COOKIE
from bench.bench_oversight import NOW, _seed, _url
from migrations import alembic_config
from models.db import create_engine, create_session_factory, session_scope
from models.directory.organisation import Organisation
from models.directory.staff import Role, Staff
from models.directory.web_sessions import SessionPolicy, start_web_session


async def _timed(client: httpx.AsyncClient, path: str, repeats: int) -> tuple[float, int]:
    samples, status = [], 0
    await client.get(path)  # warm (template compiled, statements cached)
    for _ in range(repeats):
        start = time.perf_counter()
        response = await client.get(path)
        samples.append(time.perf_counter() - start)
        status = response.status_code
    return statistics.median(samples), status


async def main(size: int, database: str, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = await _url(database, Path(tmp))
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        engine = create_engine(url, pool_size=2)
        factory = create_session_factory(engine)
        async with session_scope(factory) as session:
            org = Organisation(name=f"Bench {size}", created_at=NOW)
            session.add(org)
            await session.flush()
            groups, head, directorate = _seed(org, size)
            head.roles = [Role.manager.value, Role.admin.value, Role.hr.value]
            for group in groups:
                session.add_all(group)
                await session.flush()
            supervisor = next(
                s for s in groups[2] if isinstance(s, Staff) and s.supervisor_id is None
            )
            policy = SessionPolicy(idle=timedelta(hours=1), lifetime=timedelta(hours=12))
            head_cookie = await start_web_session(session, head, NOW, policy)
            supervisor_cookie = await start_web_session(session, supervisor, NOW, policy)
        if database == "postgresql":
            async with engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
        settings = Settings(database_url=url, scheduler="off")
        app = create_app(settings, session_factory=factory, clock=lambda: NOW, scheduler=False)
        transport = httpx.ASGITransport(app=app)
        unit = f"/app/units/{directorate.id}"
        pages = {
            "manager: unit at a glance": unit,
            "manager: unit, overdue, by name": f"{unit}?status=overdue&sort=name",
            "manager: 12-month trend": f"{unit}/trend",
            "manager: report card (quarter)": f"{unit}/report-card",
            "HR: wellbeing by unit": "/app/wellbeing",
            "admin: staff list": "/app/admin/staff",
            "admin: staff list, sorted by e-mail": "/app/admin/staff?sort=email&order=desc",
            "admin: units": "/app/admin/units",
            "admin: supervision policy": "/app/admin/policy",
        }
        print(
            f"{database}: web pages for a directorate of {size} practitioners (median of {repeats})"
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            bare, _ = await _timed(client, "/healthz", repeats)
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
            raw = statistics.median(yard)
            print(
                f"  yardstick  GET /healthz {bare * 1000:7.1f} ms   raw fetch {raw * 1000:7.1f} ms"
            )
            client.headers["Cookie"] = f"{COOKIE}={head_cookie}"
            for name, path in pages.items():
                median, status = await _timed(client, path, repeats)
                print(
                    f"  {name:<38} {status}  median {median * 1000:7.1f} ms  "
                    f"÷ raw fetch {median / raw:5.1f}x"
                )
            # The same domain calls through the API, for comparison (no page rendered).
            token = app.state.tokens.issue(head.id, org.id, NOW)
            client.headers["Authorization"] = f"Bearer {token}"
            api = f"/api/v1/oversight/units/{directorate.id}"
            for name, path in {
                "API: unit supervision (JSON)": f"{api}/supervision",
                "API: trend (JSON)": f"{api}/supervision/trend",
                "API: report card (JSON)": f"{api}/report-card",
            }.items():
                median, status = await _timed(client, path, repeats)
                print(
                    f"  {name:<38} {status}  median {median * 1000:7.1f} ms  "
                    f"÷ raw fetch {median / raw:5.1f}x"
                )
            del client.headers["Authorization"]
            client.headers["Cookie"] = f"{COOKIE}={supervisor_cookie}"
            median, status = await _timed(client, "/app/supervisees", repeats)
            print(
                f"  {'supervisor: supervisees':<38} {status}  median {median * 1000:7.1f} ms  "
                f"÷ raw fetch {median / raw:5.1f}x"
            )
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.size, args.database, args.repeats))
