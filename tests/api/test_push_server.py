"""The real senders through `deliver`, over real sockets (TLS, HTTP/2) to a local server acting
as Google's token endpoint, FCM, APNs and a webhook receiver (tests/provider_server.py).

tests/api/test_push.py covers the same outcomes against httpx.MockTransport; here the wire is
real: the server checks the credentials and signatures as the providers do, and records what
arrived and over which HTTP version.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.deliver import Channels, DeliveryPolicy, channels_from_settings, deliver
from api.settings import Settings
from models.base import new_id
from models.crypto import parse_key_ring
from models.directory.service import actor_for
from models.directory.staff import Staff
from models.notifications.deliveries import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    plan_deliveries,
)
from models.notifications.outbox import Device, Platform, register_device
from models.notifications.webhooks import Webhook, new_secret, seal_secret
from tests.conftest import TEST_ENCRYPTION_KEYS, FrozenClock, turn_taking_sessions
from tests.factories.directory import make_org, make_staff
from tests.factories.notifications import make_notification
from tests.factories.reflections import make_reflection
from tests.providers.push_server import APNS_TOPIC, Answer, FakeProvider, Seen, verify_webhook

Sessions = async_sessionmaker[AsyncSession]
NAME = "Aoife Ní Bhriain"
NOTE_TITLE = "A hard visit"
NOTE_TEXT = "The home visit to the family on Elm Street went badly."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeProvider]:
    with FakeProvider(tmp_path_factory.mktemp("provider")) as provider:
        yield provider


@pytest.fixture
def provider(server: FakeProvider) -> FakeProvider:
    server.reset()
    return server


@pytest.fixture
def sessions(connection: AsyncConnection) -> Sessions:
    return turn_taking_sessions(connection)


@pytest.fixture
async def channels(provider: FakeProvider, test_settings: Settings) -> AsyncIterator[Channels]:
    """The worker's channels, built from settings that point at the local provider, over an
    HTTP/2 client like the worker's (trusting the test certificate)."""
    settings = Settings(**(test_settings.model_dump() | provider.settings()))
    tls = provider.ssl_context()
    async with httpx.AsyncClient(verify=tls, http2=True, timeout=10.0) as client:
        yield channels_from_settings(
            settings, client, lambda: httpx.AsyncClient(verify=tls, http2=True, timeout=10.0)
        )


async def person(db: AsyncSession, clock: FrozenClock, *platforms: Platform) -> Staff:
    """A named practitioner with a reflective note, and a device for each platform."""
    now = clock()
    org = await make_org(db, now=now)
    me = await make_staff(db, org, now=now)
    me.display_name = NAME
    db.add(me)
    await make_reflection(db, parse_key_ring(TEST_ENCRYPTION_KEYS), me, now, title=NOTE_TITLE)
    for n, platform in enumerate(platforms):
        await register_device(db, actor_for(me), platform, f"{platform}-token-{n}", now)
    return me


async def devices_of(db: AsyncSession, me: Staff) -> dict[str, Device]:
    stmt = select(Device).where(col(Device.staff_id) == me.id)
    rows = (await db.exec(stmt.execution_options(populate_existing=True))).all()
    return {row.platform: row for row in rows}


async def deliveries_of(db: AsyncSession, me: Staff) -> list[Delivery]:
    stmt = select(Delivery).where(col(Delivery.organisation_id) == me.organisation_id)
    return list((await db.exec(stmt.execution_options(populate_existing=True))).all())


def assert_nothing_personal(provider: FakeProvider, me: Staff) -> None:
    """No name, email or note text in any request the providers received."""
    for seen in provider.requests():
        text = seen.body.decode() + " ".join(seen.headers.values())
        for secret in (me.display_name, me.email, NOTE_TITLE, NOTE_TEXT):
            assert secret not in text, (seen.route, secret)


def sends(provider: FakeProvider, route: str) -> list[Seen]:
    return provider.requests(route)


async def test_fcm_success_over_the_wire_fetches_the_oauth_token_once(
    db: AsyncSession,
    clock: FrozenClock,
    sessions: Sessions,
    provider: FakeProvider,
    channels: Channels,
) -> None:
    me = await person(db, clock, Platform.android)
    first = await make_notification(db, me, now=clock())
    second = await make_notification(db, me, now=clock())
    await plan_deliveries(db, [first, second], clock(), push=True)

    assert await deliver(sessions, channels, clock) == 2
    (token,) = provider.requests("oauth")
    assert token.verified  # the RS256 assertion checked against the account's public key
    pushed = sends(provider, "fcm")
    assert [(s.status, s.verified, s.token) for s in pushed] == [(200, True, "android-token-0")] * 2
    assert {s.notification_id for s in pushed} == {str(first), str(second)}
    assert all(s.collapse_id == s.notification_id for s in pushed)
    assert len({s.headers["authorization"] for s in pushed}) == 1  # one OAuth token, reused
    assert {s.http_version for s in pushed} == {"2"}
    assert [d.status for d in await deliveries_of(db, me)] == [DeliveryStatus.sent] * 2
    assert_nothing_personal(provider, me)


async def test_fcm_unregistered_removes_the_device_and_its_deliveries(
    db: AsyncSession,
    clock: FrozenClock,
    sessions: Sessions,
    provider: FakeProvider,
    channels: Channels,
) -> None:
    me = await person(db, clock, Platform.android, Platform.ios)
    notes = [await make_notification(db, me, now=clock()) for _ in range(2)]
    await plan_deliveries(db, notes, clock(), push=True)
    provider.script("fcm", Answer.fcm_unregistered())

    # The first FCM answer removes the Android device and its other delivery with it (one
    # lane: with several, the other delivery may already be on its way to the same phone);
    # the iPhone still gets both.
    assert await deliver(sessions, channels, clock, DeliveryPolicy(concurrency=1)) == 3
    assert [s.status for s in sends(provider, "fcm")] == [404]
    assert sorted(s.notification_id or "" for s in sends(provider, "apns")) == sorted(
        str(n) for n in notes
    )
    devices = await devices_of(db, me)
    assert set(devices) == {Platform.ios}
    rows = await deliveries_of(db, me)
    assert {r.device_id for r in rows} == {devices[Platform.ios].id}
    assert [r.status for r in rows] == [DeliveryStatus.sent] * 2
    assert_nothing_personal(provider, me)


async def test_apns_arrives_over_http2_and_410_removes_the_device(
    db: AsyncSession,
    clock: FrozenClock,
    sessions: Sessions,
    provider: FakeProvider,
    channels: Channels,
) -> None:
    me = await person(db, clock, Platform.ios)
    first = await make_notification(db, me, now=clock())
    await plan_deliveries(db, [first], clock(), push=True)
    assert await deliver(sessions, channels, clock) == 1
    (sent,) = sends(provider, "apns")
    assert (sent.http_version, sent.status, sent.verified) == ("2", 200, True)
    assert sent.token == "ios-token-0"
    assert sent.headers["apns-topic"] == APNS_TOPIC
    assert sent.collapse_id == sent.notification_id == str(first)

    provider.script("apns", Answer.apns_unregistered())
    second = await make_notification(db, me, now=clock())
    await plan_deliveries(db, [second], clock(), push=True)
    assert await deliver(sessions, channels, clock) == 1
    assert [s.status for s in sends(provider, "apns")] == [200, 410]
    assert await devices_of(db, me) == {}
    assert await deliveries_of(db, me) == []
    assert_nothing_personal(provider, me)


@pytest.mark.parametrize(("platform", "route"), [(Platform.android, "fcm"), (Platform.ios, "apns")])
async def test_5xx_then_success_waits_exactly_the_backoff(
    db: AsyncSession,
    clock: FrozenClock,
    sessions: Sessions,
    provider: FakeProvider,
    channels: Channels,
    platform: Platform,
    route: str,
) -> None:
    me = await person(db, clock, platform)
    note = await make_notification(db, me, now=clock())
    await plan_deliveries(db, [note], clock(), push=True)
    provider.script(route, Answer.unavailable())
    backoff = timedelta(seconds=DeliveryPolicy().backoff_seconds)
    failed_at = clock()

    assert await deliver(sessions, channels, clock) == 1
    (row,) = await deliveries_of(db, me)
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.pending, 1, "HTTP 503")
    assert row.next_attempt_at == failed_at + backoff
    clock.now = failed_at + backoff - timedelta(seconds=1)
    assert await deliver(sessions, channels, clock) == 0
    assert len(sends(provider, route)) == 1  # nothing went out early
    clock.now = failed_at + backoff
    assert await deliver(sessions, channels, clock) == 1
    (row,) = await deliveries_of(db, me)
    assert (row.status, row.attempts) == (DeliveryStatus.sent, 2)
    first, second = sends(provider, route)
    assert (first.status, second.status) == (503, 200)
    assert first.notification_id == second.notification_id == str(note)
    assert first.collapse_id == second.collapse_id == str(note)
    assert_nothing_personal(provider, me)


async def test_webhook_is_signed_with_the_organisations_secret_and_keeps_its_id_on_retry(
    db: AsyncSession,
    clock: FrozenClock,
    sessions: Sessions,
    provider: FakeProvider,
    channels: Channels,
) -> None:
    me = await person(db, clock)
    secret = new_secret()
    hook_id = new_id()
    db.add(
        Webhook(
            id=hook_id,
            organisation_id=me.organisation_id,
            url=provider.webhook_url(str(hook_id), secret),
            secret=seal_secret(parse_key_ring(TEST_ENCRYPTION_KEYS), hook_id, secret),
            created_at=clock(),
            updated_at=clock(),
        )
    )
    await db.flush()
    note = await make_notification(db, me, now=clock())
    await plan_deliveries(db, [note], clock(), push=False)
    (row,) = await deliveries_of(db, me)
    assert row.channel == DeliveryChannel.webhook
    provider.script("webhook", Answer.unavailable())

    assert await deliver(sessions, channels, clock) == 1
    clock.advance(seconds=DeliveryPolicy().backoff_seconds)
    assert await deliver(sessions, channels, clock) == 1
    first, second = sends(provider, "webhook")
    assert (first.status, second.status) == (503, 204)
    # Both verify with the organisation's secret (the receiver's check, not ours) and carry
    # the delivery id, so the receiver can drop the repeat.
    assert first.verified
    assert second.verified
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(row.id)
    assert first.notification_id == second.notification_id == str(note)
    assert not verify_webhook(new_secret(), second.headers, second.body)  # the check bites
    (row,) = await deliveries_of(db, me)
    assert (row.status, row.attempts) == (DeliveryStatus.sent, 2)
    assert_nothing_personal(provider, me)


def test_the_server_certificate_is_trusted_only_through_the_test_ca(
    provider: FakeProvider,
) -> None:
    """A client without the test CA refuses the server: the tests really run over TLS."""
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{provider.url}/token", verify=True, trust_env=False)
