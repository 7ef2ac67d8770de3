"""Invitations and password resets: a real SMTP server (aiosmtpd) on 127.0.0.1 receives the
mail; the link sets a password once, expires, and tells nobody whether an address exists."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from pydantic import ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import Passwords
from api.settings import Settings
from models.directory.auth import RefreshToken
from models.directory.identity import IdentityAudit, PasswordLink, SsoConfig
from models.directory.organisation import Organisation
from models.directory.staff import Role, Staff
from tests.conftest import AppFactory, FrozenClock
from tests.factories.directory import PASSWORD, bearer, make_org, make_staff, password_login

NEW_PASSWORD = "a-brand-new-passphrase"


class Inbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_app(make_app: AppFactory, smtp: tuple[Inbox, int]) -> FastAPI:
    return make_app(smtp_host="127.0.0.1", smtp_port=smtp[1], smtp_security="none")


@pytest.fixture
async def mail_client(mail_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=mail_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def token_in(message: EmailMessage) -> str:
    body = message.get_content()
    found = re.search(r"/app/set-password\?token=([A-Za-z0-9_\-]+)", body)
    assert found, body
    return found.group(1)


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


async def invite(
    client: httpx.AsyncClient, app: FastAPI, caller: Staff, staff_id: uuid.UUID | str
) -> httpx.Response:
    """`caller` asks for an invitation link for `staff_id`."""
    return await client.post(f"/api/v1/staff/{staff_id}/invitation", headers=bearer(app, caller))


async def set_password(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/password/set", json={"token": token, "password": password}
    )


@pytest.fixture
async def org(db: AsyncSession, clock: FrozenClock) -> Organisation:
    return await make_org(db, now=clock.now)


@pytest.fixture
async def admin(db: AsyncSession, org: Organisation, clock: FrozenClock) -> Staff:
    return await make_staff(db, org, Role.admin, now=clock.now)


async def test_an_invitation_is_mailed_sets_a_password_once_and_signs_in(
    mail_client: httpx.AsyncClient,
    mail_app: FastAPI,
    smtp: tuple[Inbox, int],
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    clock: FrozenClock,
) -> None:
    person = await make_staff(db, org, email="new.starter@council.example", now=clock.now)
    response = await invite(mail_client, mail_app, admin, person.id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sent"] is True
    assert body["url"] is None
    assert body["email"] == "new.starter@council.example"
    inbox = smtp[0]
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "new.starter@council.example"
    assert message["Subject"] == "You are invited to Harbour"
    token = token_in(message)
    # Stored only hashed.
    link = (
        await db.exec(select(PasswordLink).where(col(PasswordLink.staff_id) == person.id))
    ).one()
    assert token not in link.token_hash
    assert (await password_login(mail_client, person.email, NEW_PASSWORD)).status_code == 400

    done = await set_password(mail_client, token, NEW_PASSWORD)
    assert done.status_code == 200, done.text
    signed_in = await password_login(mail_client, person.email, NEW_PASSWORD)
    assert signed_in.status_code == 200, signed_in.text

    again = await set_password(mail_client, token, "yet-another-passphrase")
    assert again.status_code == 400
    assert again.headers["content-type"] == "application/problem+json"
    assert (await password_login(mail_client, person.email, NEW_PASSWORD)).status_code == 200
    actions = (
        await db.exec(
            select(IdentityAudit.action).where(col(IdentityAudit.subject_id) == person.id)
        )
    ).all()
    assert sorted(actions) == ["invitation.created", "password.set"]


async def test_without_smtp_the_admin_gets_the_link_and_it_expires(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    clock: FrozenClock,
) -> None:
    person = await make_staff(db, org, now=clock.now)
    response = await invite(client, app, admin, person.id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sent"] is False
    assert body["url"].startswith("http://127.0.0.1:8000/app/set-password?token=")
    clock.advance(days=7, seconds=1)  # HARBOUR_INVITATION_DAYS is 7
    expired = await set_password(client, token_of(body["url"]), NEW_PASSWORD)
    assert expired.status_code == 400
    person_now = await db.get(Staff, person.id)
    assert person_now is not None
    assert person_now.password_hash is None


async def test_a_newer_link_replaces_the_older(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    clock: FrozenClock,
) -> None:
    person = await make_staff(db, org, now=clock.now)
    first = (await invite(client, app, admin, person.id)).json()["url"]
    second = (await invite(client, app, admin, person.id)).json()["url"]
    assert (await set_password(client, token_of(first), NEW_PASSWORD)).status_code == 400
    assert (await set_password(client, token_of(second), NEW_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.admin, 201),
        (Role.practitioner, 403),
        (Role.supervisor, 403),
        (Role.manager, 403),
        (Role.hr, 403),
    ],
)
async def test_only_admins_invite(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    clock: FrozenClock,
    role: Role,
    status: int,
) -> None:
    caller = await make_staff(db, org, role, now=clock.now)
    person = await make_staff(db, org, now=clock.now)
    response = await invite(client, app, caller, person.id)
    assert response.status_code == status, response.text
    links = (
        await db.exec(select(PasswordLink).where(col(PasswordLink.staff_id) == person.id))
    ).all()
    assert len(links) == (1 if status == 201 else 0)


async def test_invitations_stay_in_the_organisation_and_refuse_leavers_and_sso(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    clock: FrozenClock,
) -> None:
    other = await make_org(db, now=clock.now)
    stranger = await make_staff(db, other, now=clock.now)
    response = await invite(client, app, admin, stranger.id)
    assert response.status_code == 404
    leaver = await make_staff(db, org, active=False, now=clock.now)
    response = await invite(client, app, admin, leaver.id)
    assert response.status_code == 409
    bad = await invite(client, app, admin, "not-an-id")
    assert bad.status_code == 422
    db.add(
        SsoConfig(
            organisation_id=org.id,
            issuer="https://login.example",
            client_id="harbour",
            require_sso=True,
            created_at=clock.now,
            updated_at=clock.now,
        )
    )
    await db.flush()
    person = await make_staff(db, org, now=clock.now)
    response = await invite(client, app, admin, person.id)
    assert response.status_code == 409
    assert "single sign-on" in response.json()["detail"]


async def test_a_leavers_pending_invitation_dies(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    clock: FrozenClock,
) -> None:
    person = await make_staff(db, org, now=clock.now)
    headers = bearer(app, admin)
    url = (await invite(client, app, admin, person.id)).json()["url"]
    etag = (await client.get(f"/api/v1/staff/{person.id}", headers=headers)).headers["etag"]
    left = await client.patch(
        f"/api/v1/staff/{person.id}",
        json={"active": False},
        headers={**headers, "If-Match": etag},
    )
    assert left.status_code == 200, left.text
    assert (await set_password(client, token_of(url), NEW_PASSWORD)).status_code == 400
    links = (
        await db.exec(select(PasswordLink).where(col(PasswordLink.staff_id) == person.id))
    ).all()
    assert links == []


async def test_forgot_password_reveals_nothing_and_the_reset_works_once(
    mail_client: httpx.AsyncClient,
    smtp: tuple[Inbox, int],
    db: AsyncSession,
    org: Organisation,
    clock: FrozenClock,
) -> None:
    known = await make_staff(db, org, email="known@council.example", now=clock.now)
    gone = await make_staff(db, org, email="gone@council.example", active=False, now=clock.now)
    answers = []
    for email in (known.email, "nobody@council.example", gone.email, "not an address"):
        response = await mail_client.post("/api/v1/auth/password/forgot", json={"email": email})
        answers.append((response.status_code, response.json()))
    assert len(set(map(str, answers))) == 1
    assert answers[0][0] == 202
    inbox = smtp[0]
    assert [m["To"] for m in inbox.messages] == ["known@council.example"]
    assert inbox.messages[0]["Subject"] == "Set a new Harbour password"
    token = token_in(inbox.messages[0])
    assert (await set_password(mail_client, token, NEW_PASSWORD)).status_code == 200
    assert (await password_login(mail_client, known.email, NEW_PASSWORD)).status_code == 200
    assert (await set_password(mail_client, token, "another-passphrase!")).status_code == 400
    # The same address, twice in a row: the same answer, a new link replacing the first.
    for _ in range(2):
        response = await mail_client.post(
            "/api/v1/auth/password/forgot", json={"email": "KNOWN@council.example"}
        )
        assert (response.status_code, response.json()) == answers[0]
    first, second = token_in(inbox.messages[1]), token_in(inbox.messages[2])
    assert (await set_password(mail_client, first, NEW_PASSWORD)).status_code == 400
    assert (await set_password(mail_client, second, NEW_PASSWORD)).status_code == 200
    # A fourth request within the hour: the same answer, no mail (the mailbox is not
    # flooded); an hour on, it works again.
    forgot = {"email": known.email}
    response = await mail_client.post("/api/v1/auth/password/forgot", json=forgot)
    assert (response.status_code, response.json()) == answers[0]
    assert len(inbox.messages) == 3
    clock.advance(hours=1, seconds=1)
    await mail_client.post("/api/v1/auth/password/forgot", json=forgot)
    assert len(inbox.messages) == 4


async def test_a_reset_expires_and_ends_earlier_sessions(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    clock: FrozenClock,
) -> None:
    hasher: Passwords = app.state.passwords
    person = await make_staff(db, org, password_hash=hasher.hash(PASSWORD), now=clock.now)
    signed_in = await password_login(client, person.email)
    assert signed_in.status_code == 200
    url = (await invite(client, app, admin, person.id)).json()["url"]
    assert (await set_password(client, token_of(url), NEW_PASSWORD)).status_code == 200
    refreshed = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": signed_in.json()["refresh_token"]},
    )
    assert refreshed.status_code == 400
    tokens = (
        await db.exec(select(RefreshToken).where(col(RefreshToken.staff_id) == person.id))
    ).all()
    assert all(t.revoked_at is not None for t in tokens)
    assert (await password_login(client, person.email)).status_code == 400
    # A reset link lasts HARBOUR_PASSWORD_RESET_MINUTES (60).
    await client.post("/api/v1/auth/password/forgot", json={"email": person.email})
    link = (
        await db.exec(
            select(PasswordLink).where(
                col(PasswordLink.staff_id) == person.id, col(PasswordLink.used_at).is_(None)
            )
        )
    ).one()
    assert link.expires_at == clock.now + timedelta(minutes=60)


async def test_short_passwords_and_unknown_tokens_are_refused(client: httpx.AsyncClient) -> None:
    short = await set_password(client, "whatever", "tiny-pw")
    assert short.status_code == 422
    assert "tiny-pw" not in short.text  # never echoed
    unknown = await set_password(client, "x" * 43, NEW_PASSWORD)
    assert unknown.status_code == 400
    extra = await client.post(
        "/api/v1/auth/password/forgot", json={"email": "a@b.example", "admin": True}
    )
    assert extra.status_code == 422


async def test_the_csv_import_invites_the_people_it_makes(
    mail_client: httpx.AsyncClient,
    mail_app: FastAPI,
    smtp: tuple[Inbox, int],
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    clock: FrozenClock,
) -> None:
    csv = (
        "email,display_name,started_on\n"
        "ann@council.example,Ann,2026-01-05\n"
        "bob@council.example,Bob,2026-01-05\n"
    )
    headers = {**bearer(mail_app, admin), "Content-Type": "text/csv"}
    mailed = await mail_client.post(
        "/api/v1/staff/import?invite=true", content=csv, headers=headers
    )
    assert mailed.status_code == 200, mailed.text
    body = mailed.json()
    assert body["created"] == 2
    assert [(i["email"], i["sent"], i["url"]) for i in body["invitations"]] == [
        ("ann@council.example", True, None),
        ("bob@council.example", True, None),
    ]
    assert sorted(m["To"] for m in smtp[0].messages) == [
        "ann@council.example",
        "bob@council.example",
    ]
    # Without a mail server, the links are in the answer; without `invite`, nobody is invited.
    more = csv.replace("ann@", "cat@").replace("bob@", "dan@")
    plain = await client.post(
        "/api/v1/staff/import?invite=true",
        content=more,
        headers={**bearer(app, admin), "Content-Type": "text/csv"},
    )
    invitations = plain.json()["invitations"]
    assert [(i["email"], i["sent"]) for i in invitations] == [
        ("cat@council.example", False),
        ("dan@council.example", False),
    ]
    assert (
        await set_password(client, token_of(invitations[0]["url"]), NEW_PASSWORD)
    ).status_code == 200
    quiet = await client.post(
        "/api/v1/staff/import",
        content=more.replace("cat@", "eve@"),
        headers={**bearer(app, admin), "Content-Type": "text/csv"},
    )
    assert quiet.json()["invitations"] == []
    practitioner = await make_staff(db, org, now=clock.now)
    refused = await client.post(
        "/api/v1/staff/import?invite=true",
        content=csv,
        headers={**bearer(app, practitioner), "Content-Type": "text/csv"},
    )
    assert refused.status_code == 403


def test_plain_smtp_to_another_host_is_refused_in_production(test_settings: Settings) -> None:
    base = test_settings.model_dump() | {"env": "production", "smtp_security": "none"}
    with pytest.raises(ValidationError, match="HARBOUR_SMTP_SECURITY=none"):
        Settings(**(base | {"smtp_host": "mail.council.example"}))
    assert Settings(**(base | {"smtp_host": "127.0.0.1"})).smtp_host == "127.0.0.1"
