"""Push delivery against httpx.MockTransport acting as FCM (and Google's token endpoint) and
APNs: success, unregistered device, 5xx then success; backoff and the dead letter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.deliver import Channels, DeliveryPolicy, deliver
from api.delivery.push import ApnsSender, FcmSender, Pusher
from api.delivery.webhook_sender import WebhookSender
from models.crypto import parse_key_ring
from models.db import session_scope
from models.directory.organisation import Organisation
from models.directory.service import actor_for
from models.notifications.deliveries import Delivery, DeliveryStatus, plan_deliveries
from models.notifications.outbox import Device, Platform, register_device
from tests.conftest import TEST_ENCRYPTION_KEYS, FrozenClock, turn_taking_sessions
from tests.factories.directory import make_org, make_staff
from tests.factories.notifications import make_notification
from tests.harness import Committed

TOKEN_URI = "http://oauth.test/token"
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def sessions(connection: AsyncConnection) -> Sessions:
    """Sessions over the test's transaction (the deliverer opens one per push)."""
    return turn_taking_sessions(connection)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ACCOUNT = {
    "client_email": "harbour@project.iam.example",
    "private_key": pem(RSA_KEY),
    "token_uri": TOKEN_URI,
    "project_id": "harbour-test",
}


class Provider:
    """A scripted FCM + token endpoint + APNs: answers queued per path, requests recorded."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.script: list[httpx.Response] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == TOKEN_URI:
            return httpx.Response(200, json={"access_token": "oauth-1", "expires_in": 3600})
        return self.script.pop(0) if self.script else httpx.Response(200, json={"name": "ok"})

    def sends(self) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url) != TOKEN_URI]


def over(pusher: Pusher) -> Channels:
    """Channels with these push senders (the webhook sender unused here)."""
    return Channels(
        webhooks=WebhookSender(httpx.AsyncClient, parse_key_ring(TEST_ENCRYPTION_KEYS)),
        pusher=pusher,
    )


def fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def senders(provider: Provider, clock: Callable[[], float]) -> Pusher:
    client = httpx.AsyncClient(transport=httpx.MockTransport(provider.handler))
    return Pusher(
        fcm=FcmSender(client, ACCOUNT, base_url="http://fcm.test", clock=clock),
        apns=ApnsSender(
            client,
            team_id="TEAM123456",
            key_id="KEY1234567",
            private_key=pem(EC_KEY),
            topic="org.harbour.app",
            base_url="http://apns.test",
            clock=clock,
        ),
    )


async def setup(db: AsyncSession, clock: FrozenClock, platform: Platform) -> tuple[Device, str]:
    now = clock()
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    device, _ = await register_device(db, actor_for(me), platform, "device-token-1", now)
    note = await make_notification(db, me, now=now)
    await plan_deliveries(db, [note], now, push=True)
    return device, me.display_name


async def delivery_of(db: AsyncSession, device: Device) -> Delivery | None:
    stmt = select(Delivery).where(col(Delivery.device_id) == device.id)
    return (await db.exec(stmt.execution_options(populate_existing=True))).first()


async def test_fcm_success_carries_no_names_and_caches_the_oauth_token(
    db: AsyncSession, clock: FrozenClock, sessions: Sessions
) -> None:
    provider = Provider()
    pusher = senders(provider, lambda: 1000.0)
    device, name = await setup(db, clock, Platform.android)
    assert await deliver(sessions, over(pusher), clock) == 1
    row = await delivery_of(db, device)
    assert row is not None
    assert row.status == DeliveryStatus.sent
    (sent,) = provider.sends()
    assert sent.url.path == "/v1/projects/harbour-test/messages:send"
    assert sent.headers["authorization"] == "Bearer oauth-1"
    body = json.loads(sent.content)
    assert body["message"]["token"] == "device-token-1"
    assert set(body["message"]["data"]) == {"kind", "notification_id"}
    assert name not in sent.content.decode()
    # The token request was a signed service-account assertion; a second send reuses it.
    token_requests = [r for r in provider.requests if str(r.url) == TOKEN_URI]
    assert len(token_requests) == 1
    assert pusher.fcm is not None
    assert await pusher.fcm.access_token() == "oauth-1"
    assert len([r for r in provider.requests if str(r.url) == TOKEN_URI]) == 1
    assert await deliver(sessions, over(pusher), clock) == 0  # nothing left


async def test_fcm_unregistered_removes_the_device(
    db: AsyncSession, clock: FrozenClock, sessions: Sessions
) -> None:
    provider = Provider()
    provider.script.append(
        httpx.Response(
            404, json={"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}
        )
    )
    device, _ = await setup(db, clock, Platform.android)
    assert await deliver(sessions, over(senders(provider, lambda: 1000.0)), clock) == 1
    assert await db.get(Device, device.id, populate_existing=True) is None
    assert await delivery_of(db, device) is None


async def test_apns_5xx_then_success_with_backoff(
    db: AsyncSession, clock: FrozenClock, sessions: Sessions
) -> None:
    provider = Provider()
    provider.script.append(httpx.Response(503))
    pusher = senders(provider, lambda: 1000.0)
    device, _ = await setup(db, clock, Platform.ios)
    assert await deliver(sessions, over(pusher), clock) == 1
    row = await delivery_of(db, device)
    assert row is not None
    assert (row.status, row.attempts) == (DeliveryStatus.pending, 1)
    assert row.next_attempt_at == clock() + timedelta(seconds=60)
    assert (
        await deliver(sessions, over(pusher), fixed(clock() + timedelta(seconds=59))) == 0
    )  # not yet
    assert await deliver(sessions, over(pusher), fixed(clock() + timedelta(seconds=60))) == 1
    row = await delivery_of(db, device)
    assert row is not None
    assert (row.status, row.attempts) == (DeliveryStatus.sent, 2)
    first, second = provider.sends()
    assert first.url.path == "/3/device/device-token-1"
    assert first.headers["apns-topic"] == "org.harbour.app"
    # One provider token, reused: ES256, signed by our key, with the key id.
    assert first.headers["authorization"] == second.headers["authorization"]
    token = first.headers["authorization"].removeprefix("bearer ")
    assert jwt.get_unverified_header(token)["kid"] == "KEY1234567"
    claims = jwt.decode(token, EC_KEY.public_key(), algorithms=["ES256"])
    assert claims["iss"] == "TEAM123456"


async def test_apns_unregistered_410_and_dead_letter(
    db: AsyncSession, clock: FrozenClock, sessions: Sessions
) -> None:
    provider = Provider()
    provider.script.append(httpx.Response(410, json={"reason": "Unregistered"}))
    device, _ = await setup(db, clock, Platform.ios)
    assert await deliver(sessions, over(senders(provider, lambda: 1000.0)), clock) == 1
    assert await db.get(Device, device.id, populate_existing=True) is None

    failing = Provider()
    failing.script.extend(httpx.Response(500) for _ in range(3))
    other, _ = await setup(db, clock, Platform.ios)
    pusher = senders(failing, lambda: 1000.0)
    at = clock()
    for _ in range(3):
        assert await deliver(sessions, over(pusher), fixed(at), DeliveryPolicy(max_attempts=3)) == 1
        at += timedelta(hours=1)
    row = await delivery_of(db, other)
    assert row is not None
    assert (row.status, row.attempts) == (DeliveryStatus.dead, 3)
    assert (
        await deliver(
            sessions, over(pusher), fixed(at + timedelta(days=1)), DeliveryPolicy(max_attempts=3)
        )
        == 0
    )


def test_apns_provider_token_renewed_after_fifty_minutes() -> None:
    now = [1000.0]
    sender = senders(Provider(), lambda: now[0]).apns
    assert sender is not None
    first = sender.provider_token()
    now[0] += 49 * 60
    assert sender.provider_token() == first
    now[0] += 60
    assert sender.provider_token() != first


async def test_two_concurrent_deliverers_send_each_push_once(committed: Committed) -> None:
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        people = [await make_staff(db, org, now=now) for _ in range(10)]
        for n, person in enumerate(people):
            await register_device(db, actor_for(person), Platform.android, f"token-{n}", now)
            note = await make_notification(db, person, now=now)
            await plan_deliveries(db, [note], now, push=True)

    seen: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URI:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        await asyncio.sleep(0.01)  # let the other deliverer run while this batch is held
        seen.append(json.loads(request.content)["message"]["token"])
        return httpx.Response(200, json={"name": "ok"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    pusher = Pusher(fcm=FcmSender(client, ACCOUNT, base_url="http://fcm.test"))

    async def one() -> int:
        return await deliver(
            committed.sessions, over(pusher), fixed(now), DeliveryPolicy(per_organisation=5)
        )

    counts = await asyncio.gather(one(), one())
    assert sum(counts) == 10
    assert sorted(seen) == sorted(f"token-{n}" for n in range(10))
    async with committed.sessions() as db:
        stmt = select(Delivery).where(col(Delivery.organisation_id) == org.id)
        rows = (await db.exec(stmt)).all()
    assert [r.status for r in rows] == [DeliveryStatus.sent] * 10


async def phones(
    db: AsyncSession, now: datetime, count: int, org: Organisation | None = None
) -> Organisation:
    """`count` people of one organisation, each with an Android phone and one reminder due."""
    org = org or await make_org(db, now=now)
    for n in range(count):
        person = await make_staff(db, org, now=now)
        await register_device(db, actor_for(person), Platform.android, f"{org.id}-{n}", now)
        await plan_deliveries(db, [await make_notification(db, person, now=now)], now, push=True)
    return org


class Lanes:
    """An FCM whose sends can be held open: records what it accepted and what is in flight."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.in_flight: set[str] = set()
        self.most_at_once = 0
        self.hold = asyncio.Event()  # sends wait on this while `holding`
        self.holding = False
        self.failing = False  # the first send to arrive raises; the rest take a moment
        self.fail_token: str | None = None
        self.gather_at = 0  # the first sends wait (up to a second) until this many are in flight

    async def _gather(self) -> None:
        for _ in range(200):
            if len(self.in_flight) >= self.gather_at:
                self.gather_at = 0
                return
            await asyncio.sleep(0.005)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URI:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        token = json.loads(request.content)["message"]["token"]
        self.in_flight.add(token)
        self.most_at_once = max(self.most_at_once, len(self.in_flight))
        try:
            await self._gather()
            if self.failing and self.fail_token is None:
                self.fail_token = token
                raise RuntimeError("a bug in a sender")
            if self.failing:
                await asyncio.sleep(0.05)  # finish after the other lane's error
            if self.holding:
                await self.hold.wait()
        finally:
            self.in_flight.discard(token)
        self.accepted.append(token)
        return httpx.Response(200, json={"name": "ok"})

    def channels(self) -> Channels:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        return over(Pusher(fcm=FcmSender(client, ACCOUNT, base_url="http://fcm.test")))


async def statuses(db: AsyncSession, org: Organisation) -> list[tuple[DeliveryStatus, int]]:
    stmt = select(Delivery).where(col(Delivery.organisation_id) == org.id)
    rows = (await db.exec(stmt.execution_options(populate_existing=True))).all()
    return sorted((DeliveryStatus(r.status), r.attempts) for r in rows)


async def test_lanes_send_side_by_side_and_each_push_once(
    db: AsyncSession, clock: FrozenClock, sessions: Sessions
) -> None:
    org = await phones(db, clock(), 10)
    provider = Lanes()
    provider.gather_at = 4
    assert await deliver(sessions, provider.channels(), clock, DeliveryPolicy(concurrency=4)) == 10
    assert provider.most_at_once == 4
    assert sorted(provider.accepted) == sorted(f"{org.id}-{n}" for n in range(10))
    assert await statuses(db, org) == [(DeliveryStatus.sent, 1)] * 10


async def test_organisations_take_turns_and_one_run_sends_everything_due(
    db: AsyncSession, clock: FrozenClock, sessions: Sessions
) -> None:
    big = await phones(db, clock(), 6)
    small = await phones(db, clock(), 2)
    provider = Lanes()
    policy = DeliveryPolicy(per_organisation=2, concurrency=1)
    assert await deliver(sessions, provider.channels(), clock, policy) == 8
    owners = [token.rsplit("-", 1)[0] for token in provider.accepted]
    first, second = sorted([str(big.id), str(small.id)], key=owners.index)
    # Two of one, two of the other, then the rest of the bigger one: nobody waits for a
    # tenant's whole backlog, and nothing waits for the next run.
    assert owners[:4] == [first, first, second, second]
    assert owners[4:] == [str(big.id)] * 4


async def test_a_worker_killed_with_sends_in_flight_leaves_those_in_doubt_and_the_rest_once(
    db: AsyncSession, clock: FrozenClock, sessions: Sessions
) -> None:
    now = clock()
    org = await phones(db, now, 8)
    policy = DeliveryPolicy(concurrency=3)
    provider = Lanes()
    provider.holding = True  # every send hangs: the worker dies with three in flight
    run = asyncio.create_task(deliver(sessions, provider.channels(), fixed(now), policy))
    for _ in range(500):
        if len(provider.in_flight) == 3:
            break
        await asyncio.sleep(0.01)
    in_doubt = set(provider.in_flight)
    assert len(in_doubt) == 3
    run.cancel()  # killed
    with pytest.raises(asyncio.CancelledError):
        await run
    assert provider.accepted == []

    # The next worker sends the five nobody had claimed at once; the three in doubt wait for
    # their lease, then go once more each (the phone shows each once: same collapse id).
    provider.holding = False
    assert await deliver(sessions, provider.channels(), fixed(now), policy) == 5
    assert in_doubt.isdisjoint(provider.accepted)
    lease = timedelta(seconds=policy.lease_seconds)
    assert await deliver(sessions, provider.channels(), fixed(now + lease), policy) == 3
    assert sorted(provider.accepted) == sorted(f"{org.id}-{n}" for n in range(8))
    assert (
        await statuses(db, org) == [(DeliveryStatus.sent, 1)] * 5 + [(DeliveryStatus.sent, 2)] * 3
    )


async def test_a_failing_lane_stops_new_claims_and_the_sends_in_flight_are_recorded(
    db: AsyncSession, clock: FrozenClock, sessions: Sessions
) -> None:
    now = clock()
    org = await phones(db, now, 6)
    provider = Lanes()
    provider.gather_at = 2  # both lanes are sending when the first one fails
    provider.failing = True
    with pytest.raises(RuntimeError, match="a bug in a sender"):
        await deliver(sessions, provider.channels(), fixed(now), DeliveryPolicy(concurrency=2))
    # The other lane's send finished and was recorded; nothing new was claimed after the error.
    assert len(provider.accepted) == 1
    assert await statuses(db, org) == [
        (DeliveryStatus.pending, 0),
        (DeliveryStatus.pending, 0),
        (DeliveryStatus.pending, 0),
        (DeliveryStatus.pending, 0),
        (DeliveryStatus.pending, 1),  # the failing one, in doubt until its lease runs out
        (DeliveryStatus.sent, 1),
    ]
