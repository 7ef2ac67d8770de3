"""What reaches the organisation's webhook: a sweep plans one delivery per reminder to an
enabled webhook, none to a disabled one, never a check-in nudge; the body names no one; and
the request goes to the one address that was checked, under the URL's name (Host, TLS)."""

from __future__ import annotations

import ipaddress
import json
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import sweep_organisation
from api.delivery.webhook_sender import Resolver, WebhookSender
from models.crypto import KeyRing, parse_key_ring
from models.notifications.deliveries import Delivery, DeliveryChannel, PushOutcome
from models.notifications.outbox import Notification, NotificationKind
from models.notifications.webhooks import Address, Webhook, is_public
from tests.conftest import TEST_ENCRYPTION_KEYS
from tests.factories.directory import now_of
from tests.factories.notifications import (
    make_notification,
    make_webhook,
    resolves_publicly,
    resolving_to,
    webhook_row,
)
from tests.factories.supervision import make_team
from tests.providers.push_server import FakeProvider

RING = parse_key_ring(TEST_ENCRYPTION_KEYS)
# Names the system resolver does not know (.test is reserved): a request that arrives was
# sent to the address the test's resolver gave, not to a lookup of its own.
HOOKS = "hooks.harbour.test"
ELSEWHERE = "elsewhere.harbour.test"
LOOPBACK = ipaddress.ip_address("127.0.0.1")


def ring_of(app: FastAPI) -> KeyRing:
    ring: KeyRing = app.state.key_ring
    return ring


async def webhook_deliveries(db: AsyncSession, organisation_id: uuid.UUID) -> list[Notification]:
    stmt = (
        select(Notification)
        .join(Delivery, col(Delivery.notification_id) == col(Notification.id))
        .where(
            col(Delivery.organisation_id) == organisation_id,
            col(Delivery.channel) == DeliveryChannel.webhook.value,
        )
    )
    return list((await db.exec(stmt)).all())


async def test_a_sweep_plans_one_webhook_delivery_per_reminder_but_no_nudges(
    app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)  # Monday 09:30 in London: overdue reminders and check-in nudges
    team = await make_team(db, now=now)
    hook, _ = await make_webhook(db, ring_of(app), team.org.id, now=now)
    created = await sweep_organisation(db, team.org.id, now)
    notes = (await db.exec(select(Notification).where(col(Notification.id).in_(created)))).all()
    assert {n.kind for n in notes} == {
        "supervision_overdue",
        "supervisee_overdue",
        "overdue_escalation",
        "checkin_nudge",
    }

    sent = await webhook_deliveries(db, team.org.id)
    assert sorted(n.id for n in sent) == sorted(n.id for n in notes if n.kind != "checkin_nudge")
    assert len(sent) == 3
    assert all(n.kind != "checkin_nudge" for n in sent)
    targets = (
        await db.exec(
            select(col(Delivery.webhook_id)).where(col(Delivery.organisation_id) == team.org.id)
        )
    ).all()
    assert set(targets) == {hook.id}


async def test_a_disabled_webhook_gets_nothing(app: FastAPI, db: AsyncSession) -> None:
    now = now_of(app)
    team = await make_team(db, now=now)
    await make_webhook(db, ring_of(app), team.org.id, now=now, enabled=False)
    created = await sweep_organisation(db, team.org.id, now)
    assert created
    assert await webhook_deliveries(db, team.org.id) == []


async def test_the_webhook_body_names_no_one(app: FastAPI, db: AsyncSession) -> None:
    now = now_of(app)
    team = await make_team(db, now=now)
    row, _ = await make_webhook(db, ring_of(app), team.org.id, now=now)
    notification = await db.get_one(
        Notification, await make_notification(db, team.supervisee, now=now)
    )
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    sender = WebhookSender(
        lambda: httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
        ring_of(app),
        resolver=resolves_publicly,
    )
    await sender.send(row, "msg-1", notification)
    (request,) = sent
    assert str(request.url) == "https://93.184.216.34/harbour"  # the checked address
    assert request.headers["host"] == "hooks.example.com"  # row.url's host
    assert team.supervisee.display_name not in request.content.decode()
    assert team.supervisee.email not in request.content.decode()
    assert set(json.loads(request.content)) == {"type", "timestamp", "data"}


async def test_a_name_that_resolves_into_a_private_network_is_not_sent_to(
    app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    team = await make_team(db, now=now)
    row, _ = await make_webhook(db, ring_of(app), team.org.id, now=now)
    notification = await db.get_one(
        Notification, await make_notification(db, team.supervisee, now=now)
    )
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    async def unresolvable(_host: str, _port: int) -> list[str]:
        raise socket.gaierror("no such name")

    def sender(resolver: Resolver, *, allow_insecure: bool = False) -> WebhookSender:
        return WebhookSender(
            lambda: httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
            ring_of(app),
            resolver=resolver,
            allow_insecure=allow_insecure,
        )

    # The name passed the save-time check; what it resolves to at send time decides.
    private = "webhook host resolves to a private address"
    for resolver, error in (
        (resolving_to("10.0.0.5"), private),
        (resolving_to("93.184.216.34", "169.254.169.254"), private),  # one bad answer is enough
        (resolving_to("::ffff:127.0.0.1"), private),
        (unresolvable, "resolve: gaierror"),
    ):
        result = await sender(resolver).send(row, "msg-1", notification)
        assert (result.outcome, result.error) == (PushOutcome.retry, error)
    assert sent == []
    # Development and tests may send to a local receiver; httpx connects to the URL as written
    # (every address is allowed, so there is no check to pin).
    allowed = await sender(resolving_to("127.0.0.1"), allow_insecure=True).send(
        row, "msg-1", notification
    )
    assert allowed.outcome is PushOutcome.sent
    (request,) = sent
    assert str(request.url) == row.url
    assert "sni_hostname" not in request.extensions


# --- the checked address is the one connected to (no database needed) -----------------------


def message(url: str) -> tuple[Webhook, str, Notification]:
    """A webhook row for `url`, its secret, and a reminder, in memory."""
    organisation_id = uuid.uuid4()
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    hook, secret = webhook_row(RING, organisation_id, now=moment, url=url)
    note = Notification(
        organisation_id=organisation_id,
        recipient_id=uuid.uuid4(),
        kind=NotificationKind.action_due,
        subject_id=uuid.uuid4(),
        occurrence="2026-11-23",
        created_at=moment,
        deliver_after=moment,
    )
    return hook, secret, note


def loopback_stands_in_for_public(address: Address) -> bool:
    """The public check, except that 127.0.0.1 (the test server) passes; 127.0.0.2 does not."""
    return address == LOOPBACK or is_public(address)


@pytest.mark.parametrize(
    ("url", "answer", "connect_to", "host"),
    [
        (
            "https://hooks.example.com/harbour?x=1",
            "93.184.216.34",
            "https://93.184.216.34/harbour?x=1",
            "hooks.example.com",
        ),
        (
            "https://hooks.example.com:8443/harbour",
            "2606:2800:220:1:248:1893:25c8:1946",
            "https://[2606:2800:220:1:248:1893:25c8:1946]:8443/harbour",
            "hooks.example.com:8443",
        ),
    ],
)
async def test_the_request_goes_to_the_checked_address_under_the_urls_name(
    url: str, answer: str, connect_to: str, host: str
) -> None:
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    hook, _, note = message(url)
    sender = WebhookSender(
        lambda: httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
        RING,
        resolver=resolving_to(answer),
    )
    result = await sender.send(hook, "msg-1", note)
    assert result.outcome is PushOutcome.sent
    (request,) = sent
    assert str(request.url) == connect_to
    assert request.headers["host"] == host
    assert request.extensions["sni_hostname"] == "hooks.example.com"


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeProvider]:
    """The local TLS receiver, its certificate for hooks.harbour.test only (not 127.0.0.1)."""
    with FakeProvider(tmp_path_factory.mktemp("hooks"), names=(HOOKS,)) as server:
        yield server


@pytest.fixture
def hooks(hooks_server: FakeProvider) -> FakeProvider:
    hooks_server.reset()
    return hooks_server


@pytest.mark.parametrize("http2", [False, True])
async def test_tls_is_checked_against_the_urls_name_on_the_pinned_connection(
    hooks: FakeProvider, http2: bool
) -> None:
    tls = hooks.ssl_context()
    sender = WebhookSender(
        lambda: httpx.AsyncClient(verify=tls, http2=http2, timeout=5.0),
        RING,
        resolver=resolving_to("127.0.0.1"),  # for every name
        allowed=loopback_stands_in_for_public,
    )
    hook, secret, note = message(f"https://{HOOKS}:{hooks.port}/webhook/pinned")
    hooks.webhook_url("pinned", secret)

    assert (await sender.send(hook, "msg-1", note)).outcome is PushOutcome.sent
    (seen,) = hooks.requests("webhook")
    assert seen.verified  # the receiver's own signature check
    assert seen.http_version == ("2" if http2 else "1.1")
    assert seen.peer.startswith("127.0.0.1:")
    assert seen.headers["host"] == f"{HOOKS}:{hooks.port}"

    # The same address under a name the certificate does not carry: TLS refuses it, even
    # right after a connection to that address was verified for another name.
    hook.url = f"https://{ELSEWHERE}:{hooks.port}/webhook/pinned"
    refused = await sender.send(hook, "msg-2", note)
    assert (refused.outcome, refused.error) == (PushOutcome.retry, "ConnectError")
    assert len(hooks.requests("webhook")) == 1


async def test_a_name_that_rebinds_after_the_check_is_not_followed(hooks: FakeProvider) -> None:
    answers: list[str] = []

    async def rebinding(host: str, _port: int) -> list[str]:
        """Answers the address that passes once, then one that does not (and goes nowhere)."""
        assert host == HOOKS
        answers.append("127.0.0.1" if not answers else "127.0.0.2")
        return [answers[-1]]

    tls = hooks.ssl_context()
    sender = WebhookSender(
        lambda: httpx.AsyncClient(verify=tls, timeout=5.0),
        RING,
        resolver=rebinding,
        allowed=loopback_stands_in_for_public,
    )
    hook, secret, note = message(f"https://{HOOKS}:{hooks.port}/webhook/rebind")
    hooks.webhook_url("rebind", secret)

    # One lookup per send: the address it checked is the one it connects to.
    assert (await sender.send(hook, "msg-1", note)).outcome is PushOutcome.sent
    assert answers == ["127.0.0.1"]
    (seen,) = hooks.requests("webhook")
    assert seen.peer.startswith("127.0.0.1:")
    # The next send looks again, sees the new answer, and sends nothing.
    refused = await sender.send(hook, "msg-2", note)
    assert (refused.outcome, refused.error) == (
        PushOutcome.retry,
        "webhook host resolves to a private address",
    )
    assert answers == ["127.0.0.1", "127.0.0.2"]
    assert len(hooks.requests("webhook")) == 1
