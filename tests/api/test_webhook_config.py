"""The organisation's webhook as its admins set it: the secret shown once and sealed at rest,
ETags on every change, URLs that cannot reach the server's own network, admins only, one
organisation only (what a sweep then sends to it: test_webhook_delivery.py)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.webhook_sender import WebhookSender
from models.crypto import KeyRing
from models.db import session_scope
from models.directory.staff import Role
from models.notifications.deliveries import Delivery, plan_deliveries
from models.notifications.outbox import Notification
from models.notifications.webhooks import Webhook, open_secret, signature
from tests.conftest import AppFactory
from tests.factories.directory import bearer, make_org, make_staff, now_of
from tests.factories.notifications import make_notification, make_webhook, resolves_publicly
from tests.factories.supervision import make_team
from tests.harness import Committed

HOOK = "/api/v1/org/webhook"
ROTATE = f"{HOOK}/rotate-secret"
GOOD = "https://hooks.example.com/harbour?team=7"
PUBLIC = {"id", "url", "enabled", "created_at", "updated_at"}


def ring_of(app: FastAPI) -> KeyRing:
    ring: KeyRing = app.state.key_ring
    return ring


async def stored(db: AsyncSession, organisation_id: uuid.UUID) -> Webhook | None:
    stmt = select(Webhook).where(col(Webhook.organisation_id) == organisation_id)
    return (await db.exec(stmt.execution_options(populate_existing=True))).first()


async def test_create_shows_the_secret_once_and_seals_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    admin = bearer(app, team.admin)
    assert (await client.get(HOOK, headers=admin)).status_code == 404

    made = await client.put(HOOK, json={"url": GOOD, "enabled": True}, headers=admin)
    assert made.status_code == 201
    body = made.json()
    assert set(body) == PUBLIC | {"secret"}
    assert body["url"] == GOOD
    assert body["enabled"] is True
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert made.headers["cache-control"] == "no-store"
    tag = made.headers["etag"]

    # At rest the secret is sealed under the key ring, bound to the row; it opens to the same.
    table = sa.table("webhooks", sa.column("id", sa.Uuid()), sa.column("secret", sa.Text()))
    raw = (await db.exec(select(table.c.secret).where(table.c.id == uuid.UUID(body["id"])))).one()
    assert raw != secret
    assert secret.removeprefix("whsec_") not in raw
    assert raw.startswith("v1.k1.")
    row = await stored(db, team.org.id)
    assert row is not None
    assert open_secret(ring_of(app), row) == secret

    # Read back: the same resource and tag, never the secret.
    read = await client.get(HOOK, headers=admin)
    assert read.status_code == 200
    assert set(read.json()) == PUBLIC
    assert read.json()["id"] == body["id"]
    assert read.headers["etag"] == tag
    assert secret not in read.text


async def test_update_needs_the_current_etag_and_never_shows_the_secret(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    admin = bearer(app, team.admin)
    made = await client.put(HOOK, json={"url": GOOD, "enabled": True}, headers=admin)
    tag = made.headers["etag"]
    change = {"url": "https://other.example.org/in", "enabled": False}

    missing = await client.put(HOOK, json=change, headers=admin)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    stale = await client.put(HOOK, json=change, headers={**admin, "If-Match": '"stale"'})
    assert stale.status_code == 412
    row = await stored(db, team.org.id)
    assert row is not None
    assert (row.url, row.enabled, row.version) == (GOOD, True, 1)

    updated = await client.put(HOOK, json=change, headers={**admin, "If-Match": tag})
    assert updated.status_code == 200
    assert set(updated.json()) == PUBLIC
    assert updated.json()["id"] == made.json()["id"]
    assert updated.json()["enabled"] is False
    assert updated.headers["etag"] != tag
    row = await stored(db, team.org.id)
    assert row is not None
    assert (row.url, row.enabled, row.version) == (change["url"], False, 2)
    # The tag read before the change is stale now.
    again = await client.put(HOOK, json=change, headers={**admin, "If-Match": tag})
    assert again.status_code == 412
    fresh = await client.get(HOOK, headers=admin)
    assert fresh.headers["etag"] == updated.headers["etag"]


async def test_a_tag_from_a_deleted_webhook_matches_neither_nothing_nor_its_successor(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    admin = bearer(app, team.admin)
    old_tag = (await client.put(HOOK, json={"url": GOOD, "enabled": True}, headers=admin)).headers[
        "etag"
    ]
    assert (await client.delete(HOOK, headers=admin)).status_code == 204
    # Updating what the admin read, which is gone, does not quietly make a new one.
    gone = await client.put(
        HOOK, json={"url": GOOD, "enabled": True}, headers={**admin, "If-Match": old_tag}
    )
    assert gone.status_code == 412
    assert await stored(db, team.org.id) is None
    remade = await client.put(HOOK, json={"url": GOOD, "enabled": True}, headers=admin)
    assert remade.status_code == 201
    late = await client.put(
        HOOK, json={"url": GOOD, "enabled": False}, headers={**admin, "If-Match": old_tag}
    )
    assert late.status_code == 412


async def test_rotate_shows_a_new_secret_once_and_the_old_one_stops_signing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    team = await make_team(db, now=now)
    admin = bearer(app, team.admin)
    assert (await client.post(ROTATE, headers={**admin, "If-Match": '"x"'})).status_code == 404
    made = await client.put(HOOK, json={"url": GOOD, "enabled": True}, headers=admin)
    old_secret, tag = made.json()["secret"], made.headers["etag"]

    assert (await client.post(ROTATE, headers=admin)).status_code == 428
    assert (await client.post(ROTATE, headers={**admin, "If-Match": '"x"'})).status_code == 412
    row = await stored(db, team.org.id)
    assert row is not None
    assert open_secret(ring_of(app), row) == old_secret

    rotated = await client.post(ROTATE, headers={**admin, "If-Match": tag})
    assert rotated.status_code == 200
    assert set(rotated.json()) == PUBLIC | {"secret"}
    assert rotated.headers["cache-control"] == "no-store"
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != old_secret
    assert rotated.headers["etag"] != tag
    assert (await client.post(ROTATE, headers={**admin, "If-Match": tag})).status_code == 412
    read = await client.get(HOOK, headers=admin)
    assert set(read.json()) == PUBLIC
    assert new_secret not in read.text

    # What the sender signs with from now on: the new secret, not the old one.
    row = await stored(db, team.org.id)
    assert row is not None
    assert open_secret(ring_of(app), row) == new_secret
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    notification = await db.get_one(
        Notification, await make_notification(db, team.supervisee, now=now)
    )
    sender = WebhookSender(
        lambda: httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
        ring_of(app),
        resolver=resolves_publicly,
        clock=lambda: 1_800_000_000.0,
    )
    await sender.send(row, "msg-1", notification)
    (request,) = sent
    header = request.headers["webhook-signature"]
    assert header == signature(new_secret, "msg-1", 1_800_000_000, request.content)
    assert header != signature(old_secret, "msg-1", 1_800_000_000, request.content)


async def test_delete_takes_its_waiting_deliveries_with_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    team = await make_team(db, now=now)
    admin = bearer(app, team.admin)
    await make_webhook(db, ring_of(app), team.org.id, now=now)
    note = await make_notification(db, team.supervisee, now=now)
    assert await plan_deliveries(db, [note], now, push=False) == 1

    deleted = await client.delete(HOOK, headers=admin)
    assert deleted.status_code == 204
    assert await stored(db, team.org.id) is None
    left = (
        await db.exec(select(Delivery).where(col(Delivery.organisation_id) == team.org.id))
    ).all()
    assert left == []
    assert (await client.get(HOOK, headers=admin)).status_code == 404
    assert (await client.delete(HOOK, headers=admin)).status_code == 404


BAD_URLS = [
    "http://hooks.example.com/harbour",
    "ftp://hooks.example.com/harbour",
    "hooks.example.com/harbour",
    "https://localhost/harbour",
    "https://LocalHost./harbour",
    "https://api.localhost/harbour",
    "https://10.1.2.3/harbour",
    "https://192.168.0.10/harbour",
    "https://169.254.169.254/latest/meta-data",
    "https://127.0.0.1:8443/harbour",
    "https://0.0.0.0/harbour",
    "https://224.0.0.1/harbour",
    "https://[::1]/harbour",
    "https://[fd00::1]/harbour",
    "https://[::ffff:127.0.0.1]/harbour",
    "https://127.1/harbour",
    "https://2130706433/harbour",
    "https://0x7f000001/harbour",
    "https://user:pass@hooks.example.com/harbour",
    "https://token@hooks.example.com/harbour",
    "https://hooks.example.com/harbour#frag",
    "https://hooks.example.com/harbour#",
    "https://hooks.example.com/" + "a" * 2000,
    "https://hooks.example.com:99999/harbour",
    "https://[::1/harbour",
    "https://[v1.fe]/harbour",
    "https://hooks.exa mple.com/harbour",
    "https://hooks.example.com/har\nbour",
    "https:///harbour",
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_bad_urls_are_422_and_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, url: str
) -> None:
    team = await make_team(db, now=now_of(app))
    admin = bearer(app, team.admin)
    refused = await client.put(HOOK, json={"url": url, "enabled": True}, headers=admin)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert await stored(db, team.org.id) is None

    made = await client.put(HOOK, json={"url": GOOD, "enabled": True}, headers=admin)
    tag = made.headers["etag"]
    changed = await client.put(
        HOOK, json={"url": url, "enabled": False}, headers={**admin, "If-Match": tag}
    )
    assert changed.status_code == 422
    assert changed.headers["content-type"] == "application/problem+json"
    if url.strip():
        assert url not in changed.text  # never echoed
    row = await stored(db, team.org.id)
    assert row is not None
    assert (row.url, row.enabled, row.version) == (GOOD, True, 1)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/harbour",
        "https://HOOKS.example.com:8443/in/harbour?team=7&x=%20",
        "https://8.8.8.8/harbour",
        "https://[2606:4700::1111]/harbour",
        "https://hooks.example.com./harbour",
    ],
)
async def test_public_https_urls_are_accepted(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, url: str
) -> None:
    team = await make_team(db, now=now_of(app))
    made = await client.put(
        HOOK, json={"url": url, "enabled": True}, headers=bearer(app, team.admin)
    )
    assert made.status_code == 201
    assert made.json()["url"] == url


async def test_the_insecure_setting_lets_http_and_local_addresses_through_only(
    make_app: AppFactory, db: AsyncSession
) -> None:
    app = make_app(webhook_allow_insecure=True)
    team = await make_team(db, now=now_of(app))
    admin = bearer(app, team.admin)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        made = await client.put(
            HOOK, json={"url": "http://localhost:8080/hook", "enabled": True}, headers=admin
        )
        assert made.status_code == 201
        tag = made.headers["etag"]
        for url in (
            "ftp://localhost/hook",
            "http://user:pw@localhost:8080/hook",
            "http://localhost:8080/hook#x",
        ):
            refused = await client.put(
                HOOK, json={"url": url, "enabled": True}, headers={**admin, "If-Match": tag}
            )
            assert refused.status_code == 422, url
        private = await client.put(
            HOOK,
            json={"url": "http://10.0.0.5/hook", "enabled": True},
            headers={**admin, "If-Match": tag},
        )
        assert private.status_code == 200


async def test_bodies_with_unknown_or_missing_fields_are_422(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    admin = bearer(app, team.admin)
    for body in (
        {"url": GOOD, "enabled": True, "secret": "whsec_mine"},
        {"url": GOOD},
        {"enabled": True},
        {"url": 7, "enabled": True},
    ):
        response = await client.put(HOOK, json=body, headers=admin)
        assert response.status_code == 422, body
    assert await stored(db, team.org.id) is None


@pytest.mark.parametrize("role", ["practitioner", "supervisor", "manager", "hr"])
async def test_only_admins_may_see_or_change_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, role: str
) -> None:
    now = now_of(app)
    team = await make_team(db, now=now)
    await make_webhook(db, ring_of(app), team.org.id, now=now)
    caller = {
        "practitioner": team.supervisee,
        "supervisor": team.supervisor,
        "manager": team.manager,
        "hr": team.hr,
    }[role]
    assert Role.admin.value not in caller.roles
    headers = {**bearer(app, caller), "If-Match": "*"}
    for response in (
        await client.get(HOOK, headers=headers),
        await client.put(HOOK, json={"url": GOOD, "enabled": False}, headers=headers),
        await client.post(ROTATE, headers=headers),
        await client.delete(HOOK, headers=headers),
    ):
        assert response.status_code == 403
        assert "whsec_" not in response.text
    row = await stored(db, team.org.id)
    assert row is not None
    assert (row.url, row.enabled, row.version) == ("https://hooks.example.com/harbour", True, 1)


async def test_another_organisations_admin_sees_and_touches_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    team = await make_team(db, now=now)
    ours, _ = await make_webhook(db, ring_of(app), team.org.id, now=now)
    theirs = {**bearer(app, team.outsider), "If-Match": "*"}
    assert (await client.get(HOOK, headers=theirs)).status_code == 404
    assert (await client.post(ROTATE, headers=theirs)).status_code == 404
    assert (await client.delete(HOOK, headers=theirs)).status_code == 404
    # Their PUT is about their own organisation (which has none, so If-Match fails).
    assert (
        await client.put(HOOK, json={"url": GOOD, "enabled": False}, headers=theirs)
    ).status_code == 412
    row = await stored(db, team.org.id)
    assert row is not None
    assert (row.id, row.url, row.enabled, row.version) == (ours.id, ours.url, True, 1)
    assert await stored(db, team.outsider.organisation_id) is None


async def test_two_first_puts_at_once_make_one_webhook(committed: Committed) -> None:
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        admin = await make_staff(db, org, Role.admin, now=now)
    app = committed.app()

    async def put(url: str) -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            return await client.put(
                HOOK, json={"url": url, "enabled": True}, headers=bearer(app, admin)
            )

    first, second = await asyncio.gather(put(GOOD), put("https://other.example.org/in"))
    # One creates it; the other finds it made and, like any update, needs If-Match.
    assert sorted([first.status_code, second.status_code]) == [201, 428]
    async with committed.sessions() as db:
        rows = (await db.exec(select(Webhook).where(col(Webhook.organisation_id) == org.id))).all()
    assert len(rows) == 1
    winner = first if first.status_code == 201 else second
    assert rows[0].url == winner.json()["url"]
