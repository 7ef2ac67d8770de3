"""Delivery status for admins: their organisation's deliveries only, by ids and states (no
token, no URL, no names, no recipient or platform on a check-in nudge), counts per channel,
and a retry that sends a dead letter again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from api.delivery.deliver import Channels, deliver
from api.delivery.webhook_sender import WebhookSender
from api.settings import Settings
from models.crypto import KeyRing
from models.db import create_engine, create_session_factory
from models.directory.service import actor_for
from models.notifications.deliveries import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    plan_deliveries,
)
from models.notifications.outbox import NotificationKind, Platform, register_device
from models.notifications.webhooks import Webhook
from models.ops import claim_lease
from models.pagination import encode_cursor
from tests.conftest import FrozenClock, turn_taking_sessions
from tests.factories.directory import bearer
from tests.factories.notifications import make_notification, make_webhook, resolves_publicly
from tests.factories.supervision import Team, make_team

LIST = "/api/v1/deliveries"
SUMMARY = f"{LIST}/summary"
TOKEN = "device-token-never-shown"
FIELDS = {
    "id", "notification_id", "kind", "recipient_id", "channel", "platform", "status",
    "attempts", "next_attempt_at", "last_error", "created_at", "updated_at",
}  # fmt: skip


@dataclass
class Scene:
    team: Team
    webhook: Webhook
    secret: str
    action: uuid.UUID  # an action_due reminder: push and webhook
    nudge: uuid.UUID  # a check-in nudge: push only


def ring_of(app: FastAPI) -> KeyRing:
    ring: KeyRing = app.state.key_ring
    return ring


def admin_of(app: FastAPI, team: Team) -> dict[str, str]:
    return bearer(app, team.admin)


async def scene(db: AsyncSession, app: FastAPI, clock: FrozenClock) -> Scene:
    """A supervisee with an Android phone, the organisation's webhook, and two reminders."""
    now = clock()
    team = await make_team(db, now=now)
    webhook, secret = await make_webhook(db, ring_of(app), team.org.id, now=now)
    await register_device(db, actor_for(team.supervisee), Platform.android, TOKEN, now)
    action = await make_notification(db, team.supervisee, now=now)
    nudge = await make_notification(
        db,
        team.supervisee,
        now=now,
        kind=NotificationKind.checkin_nudge,
        subject_id=team.supervisee.id,
    )
    assert await plan_deliveries(db, [action, nudge], now, push=True) == 3
    return Scene(team, webhook, secret, action, nudge)


async def delivery(
    db: AsyncSession, notification_id: uuid.UUID, channel: DeliveryChannel
) -> Delivery:
    stmt = select(Delivery).where(
        col(Delivery.notification_id) == notification_id, col(Delivery.channel) == channel.value
    )
    return (await db.exec(stmt.execution_options(populate_existing=True))).one()


async def kill(db: AsyncSession, row: Delivery, error: str = "HTTP 503") -> None:
    row.status = DeliveryStatus.dead
    row.attempts = 5
    row.last_error = error
    db.add(row)
    await db.flush()


async def test_the_list_shows_ids_and_states_and_hides_the_nudges_recipient(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    s = await scene(db, app, clock)
    response = await client.get(LIST, headers=admin_of(app, s.team))
    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    items = {(i["notification_id"], i["channel"]): i for i in page["data"]}
    assert set(items) == {
        (str(s.action), "push"),
        (str(s.action), "webhook"),
        (str(s.nudge), "push"),
    }
    for item in page["data"]:
        assert set(item) == FIELDS
        assert (item["status"], item["attempts"], item["last_error"]) == ("pending", 0, None)
    pushed = items[(str(s.action), "push")]
    assert (pushed["kind"], pushed["platform"]) == ("action_due", "android")
    assert pushed["recipient_id"] == str(s.team.supervisee.id)
    hooked = items[(str(s.action), "webhook")]
    assert (hooked["platform"], hooked["recipient_id"]) == (None, str(s.team.supervisee.id))
    # A check-in nudge tells whoever reads it that its recipient has not checked in: neither
    # who that is nor their phone's platform (which can single them out) is shown.
    nudged = items[(str(s.nudge), "push")]
    assert (nudged["kind"], nudged["recipient_id"], nudged["platform"]) == (
        "checkin_nudge",
        None,
        None,
    )
    # Nothing that reaches a phone or the receiver, and no names.
    for hidden in (
        TOKEN,
        s.webhook.url,
        s.secret,
        s.team.supervisee.display_name,
        s.team.supervisee.email,
    ):
        assert hidden not in response.text
    # The nudge's subject is the person themself: not in the view either.
    assert str(s.team.supervisee.id) not in str(nudged)


async def test_pages_run_newest_first_without_repeats_or_gaps(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    s = await scene(db, app, clock)  # three planned at one instant: ties broken by id
    clock.advance(minutes=5)
    later = await make_notification(db, s.team.supervisee, now=clock(), occurrence="2026-11-24")
    await plan_deliveries(db, [later], clock(), push=True)  # two more, five minutes later
    admin = admin_of(app, s.team)

    seen: list[dict[str, str]] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get(LIST, params=params, headers=admin)
        assert response.status_code == 200
        assert len(response.json()["data"]) <= 2
        seen += response.json()["data"]
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len({i["id"] for i in seen}) == 5
    assert {i["notification_id"] for i in seen[:2]} == {str(later)}
    order = [(i["created_at"], i["id"]) for i in seen]
    assert order == sorted(order, reverse=True)


async def test_filters_by_status_and_channel(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    s = await scene(db, app, clock)
    dead = await delivery(db, s.action, DeliveryChannel.webhook)
    await kill(db, dead)
    admin = admin_of(app, s.team)

    got = await client.get(LIST, params={"status": "dead"}, headers=admin)
    assert [i["id"] for i in got.json()["data"]] == [str(dead.id)]
    assert got.json()["data"][0]["last_error"] == "HTTP 503"
    pushes = await client.get(LIST, params={"channel": "push"}, headers=admin)
    assert {i["channel"] for i in pushes.json()["data"]} == {"push"}
    assert len(pushes.json()["data"]) == 2
    both = await client.get(LIST, params={"channel": "push", "status": "dead"}, headers=admin)
    assert both.json() == {"data": [], "next_cursor": None}


@pytest.mark.parametrize(
    "params",
    [
        {"status": "failed"},
        {"status": ""},
        {"channel": "sms"},
        {"channel": "PUSH"},
        {"limit": 0},
        {"limit": 201},
        {"limit": "many"},
        {"cursor": "not-a-cursor"},
        {"cursor": encode_cursor({"k": "2026-11-23T09:00:00", "id": str(uuid.uuid4())})},
    ],
)
async def test_bad_query_values_are_422(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    clock: FrozenClock,
    params: dict[str, str | int],
) -> None:
    team = await make_team(db, now=clock())
    response = await client.get(LIST, params=params, headers=admin_of(app, team))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_summary_counts_every_channel_and_the_oldest_due(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    team = await make_team(db, now=clock())
    empty = await client.get(SUMMARY, headers=admin_of(app, team))
    assert empty.status_code == 200
    assert empty.json() == {
        "channels": [
            {"channel": "push", "pending": 0, "sent": 0, "dead": 0},
            {"channel": "webhook", "pending": 0, "sent": 0, "dead": 0},
        ],
        "oldest_due_at": None,
    }

    s = await scene(db, app, clock)
    await kill(db, await delivery(db, s.action, DeliveryChannel.webhook))
    sent = await delivery(db, s.nudge, DeliveryChannel.push)
    sent.status = DeliveryStatus.sent
    db.add(sent)
    pending = await delivery(db, s.action, DeliveryChannel.push)
    pending.next_attempt_at = clock() - timedelta(minutes=7)
    db.add(pending)
    await db.flush()

    summary = await client.get(SUMMARY, headers=admin_of(app, s.team))
    assert summary.json()["channels"] == [
        {"channel": "push", "pending": 1, "sent": 1, "dead": 0},
        {"channel": "webhook", "pending": 0, "sent": 0, "dead": 1},
    ]
    assert summary.json()["oldest_due_at"] == "2026-11-23T09:23:00Z"


async def test_retry_sends_a_dead_letter_again(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    clock: FrozenClock,
    connection: AsyncConnection,
) -> None:
    s = await scene(db, app, clock)
    dead = await delivery(db, s.action, DeliveryChannel.webhook)
    await kill(db, dead)
    clock.advance(hours=2)

    retried = await client.post(f"{LIST}/{dead.id}/retry", headers=admin_of(app, s.team))
    assert retried.status_code == 200
    body = retried.json()
    assert set(body) == FIELDS
    assert (body["id"], body["status"], body["attempts"], body["last_error"]) == (
        str(dead.id),
        "pending",
        0,
        None,
    )
    assert body["next_attempt_at"] == "2026-11-23T11:30:00Z"
    row = await delivery(db, s.action, DeliveryChannel.webhook)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, clock())

    # Pending again: the next delivery run sends it, signed, and it is sent.
    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    channels = Channels(
        webhooks=WebhookSender(
            lambda: httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
            ring_of(app),
            resolver=resolves_publicly,
        )
    )
    await deliver(turn_taking_sessions(connection), channels, clock)
    assert [r.headers["webhook-id"] for r in received] == [str(dead.id)]
    assert (await delivery(db, s.action, DeliveryChannel.webhook)).status == "sent"
    again = await client.post(f"{LIST}/{dead.id}/retry", headers=admin_of(app, s.team))
    assert again.status_code == 409


async def test_retry_refuses_what_is_not_dead_or_not_ours(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    s = await scene(db, app, clock)
    admin = admin_of(app, s.team)
    pending = await delivery(db, s.action, DeliveryChannel.push)
    conflict = await client.post(f"{LIST}/{pending.id}/retry", headers=admin)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert (await client.post(f"{LIST}/{uuid.uuid4()}/retry", headers=admin)).status_code == 404
    assert (await client.post(f"{LIST}/not-an-id/retry", headers=admin)).status_code == 422

    dead = await delivery(db, s.action, DeliveryChannel.webhook)
    await kill(db, dead)
    outsider = await client.post(f"{LIST}/{dead.id}/retry", headers=bearer(app, s.team.outsider))
    assert outsider.status_code == 404
    # A switched-off webhook is not sent to, by a retry either.
    s.webhook.enabled = False
    db.add(s.webhook)
    await db.flush()
    off = await client.post(f"{LIST}/{dead.id}/retry", headers=admin)
    assert off.status_code == 409
    row = await delivery(db, s.action, DeliveryChannel.webhook)
    assert (row.status, row.attempts, row.last_error) == ("dead", 5, "HTTP 503")


@pytest.mark.parametrize("role", ["practitioner", "supervisor", "manager", "hr"])
async def test_only_admins_see_deliveries(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock, role: str
) -> None:
    s = await scene(db, app, clock)
    dead = await delivery(db, s.action, DeliveryChannel.push)
    await kill(db, dead)
    caller = {
        "practitioner": s.team.supervisee,
        "supervisor": s.team.supervisor,
        "manager": s.team.manager,
        "hr": s.team.hr,
    }[role]
    headers = bearer(app, caller)
    for response in (
        await client.get(LIST, headers=headers),
        await client.get(SUMMARY, headers=headers),
        await client.post(f"{LIST}/{dead.id}/retry", headers=headers),
    ):
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
    row = await delivery(db, s.action, DeliveryChannel.push)
    assert row.status == "dead"


async def test_another_organisations_admin_sees_nothing_of_ours(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    s = await scene(db, app, clock)
    theirs = bearer(app, s.team.outsider)
    listed = await client.get(LIST, headers=theirs)
    assert listed.json() == {"data": [], "next_cursor": None}
    summary = await client.get(SUMMARY, headers=theirs)
    assert [c["pending"] + c["sent"] + c["dead"] for c in summary.json()["channels"]] == [0, 0]
    assert summary.json()["oldest_due_at"] is None
    # Our own admin, meanwhile, sees all three.
    assert len((await client.get(LIST, headers=admin_of(app, s.team))).json()["data"]) == 3


def gauges(text: str) -> dict[str, float]:
    """The samples of /metrics that are not request counts, by name and labels."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or line.startswith("harbour_http_"):
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


async def test_metrics_show_the_backlog_and_dead_letters_without_naming_anyone(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    s = await scene(db, app, clock)
    await kill(db, await delivery(db, s.action, DeliveryChannel.webhook))
    later = await delivery(db, s.nudge, DeliveryChannel.push)
    later.next_attempt_at = clock() + timedelta(hours=8)  # deferred past quiet hours
    db.add(later)
    await db.flush()
    assert await claim_lease(db, "a-worker", clock(), timedelta(seconds=0))
    clock.advance(seconds=90)  # the action's push has waited a minute and a half, and the
    # worker has not beaten since

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert gauges(response.text) == {
        "harbour_database_up": 1,
        "harbour_scheduler_heartbeat_age_seconds": 90,
        'harbour_deliveries{channel="push",status="pending"}': 2,
        'harbour_deliveries{channel="webhook",status="pending"}': 0,
        'harbour_deliveries{channel="push",status="dead"}': 0,
        'harbour_deliveries{channel="webhook",status="dead"}': 1,
        'harbour_deliveries_due{channel="push"}': 1,
        'harbour_deliveries_due{channel="webhook"}': 0,
        "harbour_delivery_oldest_due_seconds": 90,
    }
    # Counts for the platform's operators: no organisation, person, device or URL in them.
    for hidden in (str(s.team.org.id), str(s.team.supervisee.id), TOKEN, s.webhook.url):
        assert hidden not in response.text


async def test_metrics_still_answer_when_the_database_does_not(
    test_settings: Settings, clock: FrozenClock
) -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere", pool_size=1)
    app = create_app(
        test_settings, session_factory=create_session_factory(engine), clock=clock, scheduler=False
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.get("/metrics")
    finally:
        await engine.dispose()
    assert response.status_code == 200
    assert gauges(response.text) == {"harbour_database_up": 0}
