"""Benchmark the reminder sweep and push delivery as the organisation grows.

    .venv/bin/python -m bench.bench_reminders [--sizes 200,2000] [--database sqlite|postgresql]

For each size it seeds teams of ten practitioners who are all overdue for supervision (so
each gets an overdue reminder, their supervisor one, the unit manager an escalation) and due
their weekly check-in nudge, each with one Android phone. Then:

- the first sweep (every reminder new, its push planned) against a yardstick that inserts
  the same notification and delivery rows with two bulk INSERTs and no logic;
- a repeat sweep (nothing new: the idempotent path every five minutes of a quiet day);
- delivering every planned push through `api.delivery.deliver.deliver` (a provider that answers at
  once) against a yardstick of one bare UPDATE transaction per push, the least any design
  that records each push durably can do;
- 400 pushes again to a provider that takes 50 ms a call, with one lane and with the
  default lanes, against the yardstick of the latency alone (400 x 50 ms / lanes).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from alembic import command
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from api.delivery.deliver import Channels, DeliveryPolicy, deliver, pool_size_for
from api.delivery.push import FcmSender, Pusher
from api.delivery.sweep import sweep_organisation
from api.delivery.webhook_sender import WebhookSender
from bench.bench_oversight import _url
from migrations import alembic_config
from models.crypto import generate_key_spec, parse_key_ring
from models.db import create_engine, create_session_factory, session_scope
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from models.notifications.deliveries import Delivery, DeliveryChannel
from models.notifications.outbox import Device, Notification, NotificationKind, Platform

# What Google and Apple take to answer a push, roughly (the slow-provider run).
LATENCY = 0.05
# Monday 09:30 in London: the default nudge (Monday 09:00) is due, and nobody is in quiet hours.
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ACCOUNT = {
    "client_email": "bench@bench.example",
    "token_uri": "http://oauth.bench/token",
    "project_id": "bench",
    "private_key": "",
}


def _seed(org: Organisation, size: int) -> list[list[Any]]:
    """Teams of ten practitioners, a supervisor each and a unit manager; one phone each."""
    units: list[Any] = []
    staff: list[Any] = []
    devices: list[Any] = []
    for i in range(size):
        if i % 10 == 0:
            manager = Staff(
                organisation_id=org.id,
                email=f"m{i}-{org.id}@bench.example",
                display_name=f"Manager {i}",
                roles=[Role.manager.value],
                started_on=date(2020, 1, 6),
                created_at=NOW,
                updated_at=NOW,
            )
            team = Unit(
                organisation_id=org.id,
                name=f"Team {i // 10}",
                manager_id=manager.id,
                created_at=NOW,
                updated_at=NOW,
            )
            supervisor = Staff(
                organisation_id=org.id,
                email=f"s{i}-{org.id}@bench.example",
                display_name=f"Supervisor {i}",
                roles=[Role.supervisor.value],
                unit_id=team.id,
                started_on=date(2020, 1, 6),
                created_at=NOW,
                updated_at=NOW,
            )
            staff.append(manager)
            units.append(team)
            staff.append(supervisor)
        person = Staff(
            organisation_id=org.id,
            email=f"p{i}-{org.id}@bench.example",
            display_name=f"Practitioner {i}",
            roles=[Role.practitioner.value],
            unit_id=team.id,
            supervisor_id=supervisor.id,
            started_on=date(2024, 1, 8),  # never supervised: long overdue
            created_at=NOW,
            updated_at=NOW,
        )
        staff.append(person)
        devices.append(
            Device(
                organisation_id=org.id,
                staff_id=person.id,
                platform=Platform.android,
                token=f"token-{person.id}",
                created_at=NOW,
            )
        )
    # Managers first (units point at them), then units, then the rest.
    managers = [s for s in staff if Role.manager.value in s.roles]
    others = [s for s in staff if Role.manager.value not in s.roles]
    return [managers, units, others, devices]


def _channels(latency: float = 0.0) -> Channels:
    async def provider(request: httpx.Request) -> httpx.Response:
        if request.url.host == "oauth.bench":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if latency:
            await asyncio.sleep(latency)
        return httpx.Response(200, json={"name": "ok"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(provider))
    fcm = FcmSender(client, ACCOUNT, base_url="http://fcm.bench")
    fcm._token, fcm._expires = "t", float("inf")  # no RSA signing in the timed loop
    return Channels(
        webhooks=WebhookSender(
            lambda: httpx.AsyncClient(transport=httpx.MockTransport(provider)),
            parse_key_ring(generate_key_spec("b")),
        ),
        pusher=Pusher(fcm=fcm),
    )


async def _yardstick_insert(engine: AsyncEngine, org_id: uuid.UUID, n: int) -> float:
    """Insert n notifications and n deliveries in two bulk statements, then remove them."""
    devices = Device.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        device_id, recipient_id = (
            await conn.execute(
                sa.select(devices.c.id, devices.c.staff_id)
                .where(devices.c.organisation_id == org_id)
                .limit(1)
            )
        ).one()
    notes = [
        {
            "id": uuid.uuid4(),
            "organisation_id": org_id,
            "recipient_id": recipient_id,
            "kind": NotificationKind.action_due.value,
            "subject_id": uuid.uuid4(),
            "occurrence": "yardstick",
            "created_at": NOW,
            "deliver_after": NOW,
        }
        for _ in range(n)
    ]
    deliveries = [
        {
            "id": uuid.uuid4(),
            "organisation_id": org_id,
            "notification_id": note["id"],
            "channel": DeliveryChannel.push.value,
            "device_id": device_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": NOW,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for note in notes
    ]
    start = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(sa.insert(Notification.__table__), notes)  # type: ignore[attr-defined]
        await conn.execute(sa.insert(Delivery.__table__), deliveries)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    async with engine.begin() as conn:
        table = Notification.__table__  # type: ignore[attr-defined]
        await conn.execute(sa.delete(table).where(table.c.occurrence == "yardstick"))
    return elapsed


async def _yardstick_updates(engine: AsyncEngine, org_id: uuid.UUID) -> tuple[float, int]:
    """One bare UPDATE transaction per delivery row: the floor for recording each push."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        ids = list(
            (await conn.execute(sa.select(table.c.id).where(table.c.organisation_id == org_id)))
            .scalars()
            .all()
        )
    start = time.perf_counter()
    for delivery_id in ids:
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(table).where(table.c.id == delivery_id).values(updated_at=NOW)
            )
    return time.perf_counter() - start, len(ids)


async def main(sizes: list[int], database: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = await _url(database, Path(tmp))
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        engine = create_engine(url, pool_size=pool_size_for(DeliveryPolicy()))
        factory = create_session_factory(engine)
        statements: list[str] = []
        event.listen(
            engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
        )
        print(f"{database}: reminder sweep and push delivery")
        for size in sizes:
            async with session_scope(factory) as session:
                org = Organisation(name=f"Bench {size}", created_at=NOW)
                session.add(org)
                await session.flush()
                for group in _seed(org, size):
                    session.add_all(group)
                    await session.flush()
            timings: dict[str, tuple[float, int, int]] = {}
            for name in ("first sweep", "repeat sweep"):
                async with session_scope(factory) as session:
                    statements.clear()
                    start = time.perf_counter()
                    created = await sweep_organisation(session, org.id, NOW, push=True)
                    timings[name] = (time.perf_counter() - start, len(created), len(statements))
            made = timings["first sweep"][1]
            yard = statistics.median(
                [await _yardstick_insert(engine, org.id, made) for _ in range(3)]
            )
            print(f"  {size:>6} practitioners, {made} reminders")
            print(
                f"         yardstick: two bulk INSERTs of {made} rows each  {yard * 1000:>9.1f} ms"
            )
            for name, (seconds, n, count) in timings.items():
                print(
                    f"         {name:<13} {n:>6} new  {count:>6} statements  "
                    f"{seconds * 1000:>9.1f} ms  ratio {seconds / yard:6.1f}x"
                )
            start = time.perf_counter()
            sent = await deliver(
                factory, _channels(), lambda: NOW, DeliveryPolicy(per_organisation=10**9)
            )
            pushing = time.perf_counter() - start
            floor, rows = await _yardstick_updates(engine, org.id)
            print(
                f"         delivery      {sent:>6} pushes  {sent / pushing:>8.0f} pushes/s   "
                f"yardstick: {rows} one-UPDATE transactions {rows / floor:>8.0f}/s   "
                f"ratio {pushing / sent / (floor / rows):5.1f}x"
            )
            await _slow_provider(engine, factory, org.id)
        await engine.dispose()


async def _slow_provider(
    engine: AsyncEngine, factory: Any, org_id: uuid.UUID, rows: int = 400
) -> None:
    """Re-send `rows` pushes to a provider that takes LATENCY a call, one lane against the
    default lanes; the yardstick is the latency alone (rows x latency / lanes)."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    for lanes in (1, DeliveryPolicy().concurrency):
        async with engine.begin() as conn:
            ids = sa.select(table.c.id).where(table.c.organisation_id == org_id).limit(rows)
            await conn.execute(
                sa.update(table)
                .where(table.c.id.in_(ids.scalar_subquery()))
                .values(status="pending", attempts=0, next_attempt_at=NOW)
            )
        start = time.perf_counter()
        sent = await deliver(
            factory,
            _channels(LATENCY),
            lambda: NOW,
            DeliveryPolicy(per_organisation=10**9, concurrency=lanes),
        )
        took = time.perf_counter() - start
        floor = sent * LATENCY / lanes
        print(
            f"         provider {LATENCY * 1000:.0f} ms, {lanes} lane(s): {sent} pushes "
            f"{sent / took:>7.0f} pushes/s   yardstick (latency alone) {sent / floor:>5.0f}/s   "
            f"ratio {took / floor:5.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="200,2000")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.sizes.split(",")], args.database))
