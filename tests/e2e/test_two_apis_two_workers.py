"""End to end: two `harbour serve` and two `harbour worker` processes on one fresh database,
pushing to the local FCM/APNs/webhook server (tests/provider_server.py) over TLS and HTTP/2.

Phase one: 51 reminders of 8 kinds fall due for a council of eleven people (tests/e2e/council.py).
Each one due now reaches its recipient exactly once: in the inbox, read through either API
process, and at the provider once per (device token, notification); recipients in quiet
hours see nothing yet and get no push, their rows wait for the end of their quiet hours; a
further sweep finds nothing missed.

Phase two: ten more reminders; the provider holds one APNs push, the worker holding the lease
is killed (SIGKILL) while it waits, and a replacement worker is started. The surviving or the
new worker takes the lease over (three missed heartbeats) and sends everything left exactly
once; the one push in flight at the kill is sent again when its claim runs out, under the
same collapse id, so the phone shows it once.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import sweep
from api.settings import Settings
from migrations import alembic_config
from models.base import new_id
from models.crypto import parse_key_ring
from models.db import create_engine, create_session_factory, session_scope
from models.notifications.deliveries import Delivery, DeliveryChannel, DeliveryStatus
from models.notifications.outbox import PERSONAL_KINDS, Device, Notification
from models.notifications.webhooks import Webhook, new_secret, seal_secret
from models.ops import SchedulerHeartbeat
from tests.conftest import TEST_ENCRYPTION_KEYS, drop_pg_database, pg_url, recreate_pg_database
from tests.e2e.council import Council, Key, enrol, more_actions, seed
from tests.e2e.processes import Process, Processes, eventually, free_port, wait_healthy
from tests.providers.push_server import Answer, FakeProvider, Seen

pytestmark = pytest.mark.slow
Sessions = async_sessionmaker[AsyncSession]
WORKER = {
    "HARBOUR_SCHEDULER_HEARTBEAT_SECONDS": "1",  # the lease passes after 3 s of silence
    "HARBOUR_REMINDER_SWEEP_SECONDS": "10",
    "HARBOUR_DELIVERY_INTERVAL_SECONDS": "1",
    "HARBOUR_DELIVERY_LEASE_SECONDS": "15",  # a claim in doubt is retried after this
    # One send at a time, so the kill in phase two finds exactly one push in flight and the
    # rest of the batch unsent; kills with several lanes in flight are tests/api/test_push.py's.
    "HARBOUR_DELIVERY_CONCURRENCY": "1",
}


@asynccontextmanager
async def fresh_database(backend: str, directory: Path) -> AsyncIterator[str]:
    """A new, migrated database of its own (a file, or a uniquely named PostgreSQL database
    dropped afterwards); yields its URL."""
    name = f"harbour_e2e_{secrets.token_hex(4)}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / name}.db"
    else:
        await recreate_pg_database(name)
        url = pg_url(name)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        yield url
    finally:
        if backend != "sqlite":
            await drop_pg_database(name)


def base_environment(settings: Settings, url: str) -> dict[str, str]:
    return {
        "HARBOUR_ENV": "test",
        "HARBOUR_DATABASE_URL": url,
        "HARBOUR_DATABASE_POOL_SIZE": "4",
        "HARBOUR_SECRET_KEY": settings.secret_key.get_secret_value(),
        "HARBOUR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        "HARBOUR_ARGON2_MEMORY_KIB": "64",
        "HARBOUR_ARGON2_TIME_COST": "1",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Snapshot:
    """The council's notifications and deliveries as the database has them now."""

    notifications: dict[Key, Notification]
    deliveries: list[tuple[Delivery, str | None]]  # with the device's push token

    def by_id(self) -> dict[uuid.UUID, Notification]:
        return {n.id: n for n in self.notifications.values()}

    def unsettled(self, now: datetime) -> list[Delivery]:
        """Deliveries whose notification may go out now and that are not sent yet."""
        notes = self.by_id()
        return [
            d
            for d, _ in self.deliveries
            if notes[d.notification_id].deliver_after <= now and d.status != DeliveryStatus.sent
        ]


async def snapshot(sessions: Sessions, organisation_id: uuid.UUID) -> Snapshot:
    async with sessions() as db:
        notes = (
            await db.exec(
                select(Notification).where(col(Notification.organisation_id) == organisation_id)
            )
        ).all()
        rows = (
            await db.exec(
                select(Delivery, Device.token)
                .join(Device, col(Device.id) == col(Delivery.device_id), isouter=True)
                .where(col(Delivery.organisation_id) == organisation_id)
            )
        ).all()
    keyed = {(n.recipient_id, str(n.kind), n.subject_id): n for n in notes}
    assert len(keyed) == len(notes)  # one row per occurrence
    return Snapshot(keyed, [(d, token) for d, token in rows])


async def add_webhook(
    sessions: Sessions, organisation_id: uuid.UUID, provider: FakeProvider
) -> None:
    """The organisation's signed webhook, pointing at the provider's receiver."""
    secret, hook_id, now = new_secret(), new_id(), datetime.now(UTC)
    async with session_scope(sessions) as db:
        db.add(
            Webhook(
                id=hook_id,
                organisation_id=organisation_id,
                url=provider.webhook_url(str(hook_id), secret),
                secret=seal_secret(parse_key_ring(TEST_ENCRYPTION_KEYS), hook_id, secret),
                created_at=now,
                updated_at=now,
            )
        )


async def leader(sessions: Sessions, processes: Processes) -> Process | None:
    """The process whose holder id is on the scheduler lease (`host:pid:nonce`)."""
    async with sessions() as db:
        row = await db.get(SchedulerHeartbeat, "scheduler", populate_existing=True)
    if row is None or not row.holder:
        return None
    process = processes.by_pid(int(row.holder.rsplit(":", 2)[1]))
    return process if process is not None and process.alive else None


def pushes(provider: FakeProvider, ids: set[str]) -> list[Seen]:
    return [
        s for s in provider.requests("fcm") + provider.requests("apns") if s.notification_id in ids
    ]


def wanted_pushes(council: Council, notes: list[Notification]) -> Counter[tuple[str, str]]:
    """Each (device token, notification) once, for recipients with push on."""
    return Counter(
        (token, str(n.id))
        for n in notes
        if council.members[n.recipient_id].plan.push
        for token in council.members[n.recipient_id].devices
    )


async def inbox(client: httpx.AsyncClient, api: str, access_token: str) -> list[str]:
    answer = await client.get(
        f"{api}/api/v1/notifications",
        params={"limit": 200},
        headers={"Authorization": f"Bearer {access_token}"},
    )
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["data"]]


def assert_nothing_personal(provider: FakeProvider, council: Council) -> None:
    for seen in provider.requests():
        text = seen.body.decode() + " ".join(seen.headers.values())
        for member in council.members.values():
            assert member.display_name not in text, seen.route
            assert member.email not in text, seen.route


def assert_no_token_logged(processes: Processes, council: Council) -> None:
    """Device tokens are secrets a provider accepts pushes for: no process logs them (httpx
    logs each request's URL at INFO, and an APNs URL ends in the token)."""
    logs = {p.name: p.output() for p in processes.started}
    assert any("worker" in name and text for name, text in logs.items())
    for member in council.members.values():
        for token in member.devices:
            for name, text in logs.items():
                assert token not in text, name


async def test_two_apis_two_workers_deliver_every_due_reminder_exactly_once(
    backend: str, tmp_path: Path, test_settings: Settings
) -> None:
    async with fresh_database(backend, tmp_path) as url:
        engine = create_engine(url, pool_size=2)
        sessions = create_session_factory(engine)
        provider = FakeProvider(tmp_path / "provider").start()
        processes = Processes(tmp_path, base_environment(test_settings, url))
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                council = await phase_one(client, sessions, provider, processes, test_settings)
                await phase_two(client, sessions, provider, processes, council)
            assert_no_token_logged(processes, council)
        except BaseException:
            processes.stop_all()
            processes.dump_logs()
            raise
        finally:
            processes.stop_all()
            provider.stop()
            await engine.dispose()


async def phase_one(
    client: httpx.AsyncClient,
    sessions: Sessions,
    provider: FakeProvider,
    processes: Processes,
    settings: Settings,
) -> Council:
    council = await seed(sessions, settings, datetime.now(UTC))
    await add_webhook(sessions, council.organisation_id, provider)
    apis = []
    for name in ("api-a", "api-b"):
        port = free_port()
        processes.start(name, "serve", "--port", str(port), env={"HARBOUR_SCHEDULER": "off"})
        apis.append(f"http://127.0.0.1:{port}")
    await wait_healthy(client, apis, processes)
    await enrol(client, council, apis)
    for name in ("worker-1", "worker-2"):
        processes.start(name, "worker", env=WORKER | provider.env())

    async def settled() -> Snapshot | None:
        snap = await snapshot(sessions, council.organisation_id)
        if not council.expected <= set(snap.notifications) or not snap.deliveries:
            return None
        return None if snap.unsettled(datetime.now(UTC)) else snap

    snap = await eventually(settled, what="phase one sent", timeout=45, processes=processes)
    now = datetime.now(UTC)
    assert set(snap.notifications) == council.expected  # each due occurrence, nothing else
    notes = list(snap.notifications.values())
    due = [n for n in notes if not council.members[n.recipient_id].quiet]
    deferred = [n for n in notes if council.members[n.recipient_id].quiet]
    assert len(notes) == 51
    assert len(due) == 38
    assert len({n.kind for n in notes}) == 8

    # Quiet hours: nothing yet, due at the end of the recipient's window in their zone.
    for n in deferred:
        assert n.deliver_after == council.members[n.recipient_id].quiet_end(n.created_at) > now
    for n in due:
        assert n.deliver_after <= now

    # Push: each due (device, notification) exactly once, verified, with its collapse id;
    # nothing deferred and nothing to the person with push off went out.
    due_ids = {str(n.id) for n in due}
    sent = pushes(provider, {str(n.id) for n in notes})
    assert Counter((s.token or "", s.notification_id or "") for s in sent) == wanted_pushes(
        council, due
    )
    assert all(s.status == 200 and s.verified for s in sent)
    assert all(s.collapse_id == s.notification_id for s in sent)
    assert {s.http_version for s in provider.requests("apns")} == {"2"}
    platforms = {token: p for m in council.members.values() for token, p in m.devices.items()}
    assert {platforms[s.token or ""] for s in provider.requests("apns")} == {"ios"}
    assert {platforms[s.token or ""] for s in provider.requests("fcm")} == {"android"}

    # The webhook: every due, non-personal notification once, signed, keyed by its delivery.
    hooks = provider.requests("webhook")
    assert Counter(s.notification_id for s in hooks) == Counter(
        str(n.id) for n in due if n.kind not in PERSONAL_KINDS
    )
    hook_ids = {
        str(d.notification_id): str(d.id)
        for d, _ in snap.deliveries
        if d.channel == DeliveryChannel.webhook
    }
    for seen in hooks:
        assert seen.verified
        assert seen.headers["webhook-id"] == hook_ids[seen.notification_id or ""]

    # What is deferred waits, untouched, for the end of the quiet hours.
    by_id = snap.by_id()
    for d, _ in snap.deliveries:
        n = by_id[d.notification_id]
        if str(n.id) in due_ids:
            assert (d.status, d.attempts) == (DeliveryStatus.sent, 1)
        else:
            assert (d.status, d.attempts) == (DeliveryStatus.pending, 0)
            assert d.next_attempt_at == n.deliver_after

    # The inbox, through either API process: each due notification once, nothing deferred.
    for member in council.members.values():
        mine = sorted(str(n.id) for n in due if n.recipient_id == member.id)
        for api in apis:
            assert sorted(await inbox(client, api, member.access_token)) == mine

    assert_nothing_personal(provider, council)
    # Nothing due was missed: one more sweep, in process, finds nothing new.
    async with session_scope(sessions) as db:
        assert await sweep(db, datetime.now(UTC), push=True) == 0
    for api in apis:
        assert (await client.get(f"{api}/readyz")).status_code == 200
    council.apis = apis
    return council


async def phase_two(
    client: httpx.AsyncClient,
    sessions: Sessions,
    provider: FakeProvider,
    processes: Processes,
    council: Council,
) -> None:
    provider.reset()
    # The second APNs push of the batch hangs: the worker that sends it is killed meanwhile.
    provider.script("apns", Answer(), Answer(delay=60))
    now = datetime.now(UTC)
    people = [m for m in council.practitioners() if not m.quiet and m.plan.push]
    async with session_scope(sessions) as db:
        new = await more_actions(db, council, people, now.date() - timedelta(days=1), now)
        assert await sweep(db, now, push=True) == len(new) == 10

    async def held() -> Seen | None:
        return next((s for s in provider.in_flight() if s.delay >= 60), None)

    stuck = await eventually(held, what="a push in flight", timeout=20, processes=processes)
    victim = await leader(sessions, processes)
    assert victim is not None
    assert victim.name.startswith("worker-")
    killed_at = time.time()
    victim.kill()
    replacement = processes.start("worker-3", "worker", env=WORKER | provider.env())

    async def settled() -> Snapshot | None:
        snap = await snapshot(sessions, council.organisation_id)
        ids = {snap.notifications[k].id for k in new}
        mine = [d for d, _ in snap.deliveries if d.notification_id in ids]
        done = mine and all(d.status == DeliveryStatus.sent for d in mine)
        return snap if done else None

    snap = await eventually(settled, what="phase two sent", timeout=45, processes=processes)
    notes = [snap.notifications[k] for k in new]
    ids = {str(n.id) for n in notes}
    sent = pushes(provider, ids)
    got = Counter((s.token or "", s.notification_id or "") for s in sent)
    want = wanted_pushes(council, notes)
    assert set(got) == set(want)
    in_doubt = (stuck.token or "", stuck.notification_id or "")
    # Everything arrived once, except that the push in flight at the kill may arrive twice.
    assert {pair: n for pair, n in got.items() if n != 1}.keys() <= {in_doubt}
    assert got[in_doubt] <= 2
    copies = [s for s in sent if (s.token, s.notification_id) == in_doubt]
    assert {s.collapse_id for s in copies} == {stuck.notification_id}
    (claimed,) = [d for d, token in snap.deliveries if (token, str(d.notification_id)) == in_doubt]
    assert claimed.attempts == len(copies)  # each claim counted once
    if len(copies) == 2:  # resent by the process that took over, on its own connection
        assert copies[0].peer != copies[1].peer
    assert len([s for s in sent if s.arrived > killed_at]) > 1  # killed mid-batch
    assert Counter(s.notification_id for s in provider.requests("webhook")) == Counter(
        str(n.id) for n in notes
    )
    assert all(s.verified for s in provider.requests())

    successor = await leader(sessions, processes)
    assert successor is not None
    assert successor is not victim
    assert successor.name in {"worker-1", "worker-2", replacement.name}
    for member in people:
        mine = {str(n.id) for n in notes if n.recipient_id == member.id}
        for api in council.apis:
            seen = await inbox(client, api, member.access_token)
            assert len(seen) == len(set(seen))
            assert mine <= set(seen)
    for api in council.apis:
        assert (await client.get(f"{api}/readyz")).status_code == 200
    assert_nothing_personal(provider, council)
