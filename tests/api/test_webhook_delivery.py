"""What reaches the organisation's webhook: a sweep plans one delivery per reminder to an
enabled webhook, none to a disabled one, never a check-in nudge; and the body names no one."""

from __future__ import annotations

import json
import socket
import uuid

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.sweep import sweep_organisation
from api.webhook import Resolver, WebhookSender
from models.crypto import KeyRing
from models.deliveries import Delivery, DeliveryChannel, PushOutcome
from models.notifications import Notification
from tests.factories import now_of
from tests.notification_factories import (
    make_notification,
    make_webhook,
    resolves_publicly,
    resolving_to,
)
from tests.supervision_factories import make_team


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
        httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
        ring_of(app),
        resolver=resolves_publicly,
    )
    await sender.send(row, "msg-1", notification)
    (request,) = sent
    assert str(request.url) == row.url
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
        client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
        return WebhookSender(client, ring_of(app), resolver=resolver, allow_insecure=allow_insecure)

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
    # Development and tests may send to a local receiver.
    allowed = await sender(resolving_to("127.0.0.1"), allow_insecure=True).send(
        row, "msg-1", notification
    )
    assert allowed.outcome is PushOutcome.sent
    assert len(sent) == 1
