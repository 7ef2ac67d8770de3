"""The token endpoint, refresh rotation, forged tokens, throttling and deactivation."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import Passwords
from models.directory.auth import RefreshToken
from models.directory.organisation import Organisation
from models.directory.staff import Role, Staff
from tests.conftest import AppFactory, FrozenClock
from tests.factories.directory import PASSWORD, bearer, make_org, make_staff, now_of, password_login


@pytest.fixture
async def person(db: AsyncSession, app: FastAPI) -> Staff:
    now = now_of(app)
    org = await make_org(db, now=now)
    passwords: Passwords = app.state.passwords
    return await make_staff(
        db, org, Role.practitioner, password_hash=passwords.hash(PASSWORD), now=now
    )


async def test_password_grant_issues_tokens(client: httpx.AsyncClient, person: Staff) -> None:
    response = await password_login(client, person.email)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": str(person.id),
        "email": person.email,
        "display_name": person.display_name,
        "roles": ["practitioner"],
        "unit_id": None,
        "supervisor_id": None,
        "cohort": "qualified",
        "started_on": "2024-01-08",
        "timezone": "Europe/London",
    }


async def test_email_is_matched_case_insensitively(
    client: httpx.AsyncClient, person: Staff
) -> None:
    response = await password_login(client, person.email.upper())
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "x@y.example"}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant"),
    ],
)
async def test_token_errors_are_rfc6749(
    client: httpx.AsyncClient, form: dict[str, str], error: str
) -> None:
    response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.headers["content-type"] == "application/json"


async def test_json_body_is_refused_as_invalid_request(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/token", json={"grant_type": "password", "username": "a", "password": "b"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_wrong_password_and_unknown_email_answer_alike(
    client: httpx.AsyncClient, person: Staff
) -> None:
    wrong = await password_login(client, person.email, "not-the-password")
    unknown = await password_login(client, "nobody@council.example", "not-the-password")
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "invalid_grant"


def test_unknown_email_still_runs_the_hash(
    test_settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import Settings

    assert isinstance(test_settings, Settings)
    passwords = Passwords(test_settings)
    calls: list[str] = []
    original = passwords._hash.verify

    def counting(password: str, stored: str) -> bool:
        calls.append(stored)
        return original(password, stored)

    monkeypatch.setattr(passwords._hash, "verify", counting)
    assert passwords.verify("whatever", None) is False
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$")


async def test_refresh_rotates_and_reuse_revokes_the_whole_chain(
    client: httpx.AsyncClient, person: Staff, db: AsyncSession
) -> None:
    first = (await password_login(client, person.email)).json()["refresh_token"]
    rotated = await client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first}
    )
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first

    reused = await client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first}
    )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"

    # The newest token of the chain stops working too: one of its two holders is a thief.
    newest = await client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": second}
    )
    assert newest.status_code == 400
    rows = (
        await db.exec(select(RefreshToken).where(col(RefreshToken.staff_id) == person.id))
    ).all()
    assert len(rows) == 2
    assert all(row.revoked_at is not None for row in rows)


async def test_refresh_tokens_are_stored_hashed(
    client: httpx.AsyncClient, person: Staff, db: AsyncSession
) -> None:
    token = (await password_login(client, person.email)).json()["refresh_token"]
    row = (await db.exec(select(RefreshToken))).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash


async def test_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, person: Staff, clock: FrozenClock
) -> None:
    token = (await password_login(client, person.email)).json()["refresh_token"]
    clock.advance(days=31)
    response = await client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )
    assert response.status_code == 400


async def test_revoke_logs_out(client: httpx.AsyncClient, person: Staff) -> None:
    token = (await password_login(client, person.email)).json()["refresh_token"]
    assert (await client.post("/api/v1/auth/revoke", data={"token": token})).status_code == 200
    response = await client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )
    assert response.status_code == 400
    # Revoking an unknown token is not an error (RFC 7009).
    assert (await client.post("/api/v1/auth/revoke", data={"token": "x"})).status_code == 200


# --- forged and misused access tokens ----------------------------------------------------


def _signing_key(app: FastAPI) -> bytes:
    key: bytes = app.state.tokens._key
    return key


def _claims(person: Staff, app: FastAPI, **override: object) -> dict[str, object]:
    now = now_of(app)
    claims: dict[str, object] = {
        "iss": "harbour",
        "aud": "harbour-api",
        "sub": str(person.id),
        "org": str(person.organisation_id),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=15)).timestamp()),
    }
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


async def test_a_well_formed_token_is_accepted(
    client: httpx.AsyncClient, person: Staff, app: FastAPI
) -> None:
    token = jwt.encode(_claims(person, app), _signing_key(app), algorithm="HS256")
    assert (await _me(client, token)).status_code == 200


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    "forge",
    [
        "alg_none",
        "wrong_key",
        "expired",
        "wrong_audience",
        "wrong_issuer",
        "other_algorithm",
        "refresh_type",
        "no_expiry",
        "subject_not_a_uuid",
        "other_organisation",
        "garbage",
    ],
)
async def test_forged_tokens_are_refused(
    client: httpx.AsyncClient, person: Staff, app: FastAPI, forge: str
) -> None:
    key = _signing_key(app)
    tokens: dict[str, Callable[[], str]] = {
        "alg_none": lambda: _unsigned(_claims(person, app)),
        "wrong_key": lambda: jwt.encode(_claims(person, app), b"k" * 32, algorithm="HS256"),
        "expired": lambda: jwt.encode(
            _claims(person, app, exp=int(now_of(app).timestamp()) - 1), key, algorithm="HS256"
        ),
        "wrong_audience": lambda: jwt.encode(
            _claims(person, app, aud="someone-else"), key, algorithm="HS256"
        ),
        "wrong_issuer": lambda: jwt.encode(
            _claims(person, app, iss="evil"), key, algorithm="HS256"
        ),
        "other_algorithm": lambda: jwt.encode(_claims(person, app), key, algorithm="HS512"),
        "refresh_type": lambda: jwt.encode(
            _claims(person, app, typ="refresh"), key, algorithm="HS256"
        ),
        "no_expiry": lambda: jwt.encode(_claims(person, app, exp=None), key, algorithm="HS256"),
        "subject_not_a_uuid": lambda: jwt.encode(
            _claims(person, app, sub="1"), key, algorithm="HS256"
        ),
        "other_organisation": lambda: jwt.encode(
            _claims(person, app, org=str(uuid.uuid4())), key, algorithm="HS256"
        ),
        "garbage": lambda: "not.a.jwt",
    }
    response = await _me(client, tokens[forge]())
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


async def test_access_token_expires_after_fifteen_minutes(
    client: httpx.AsyncClient, person: Staff, clock: FrozenClock
) -> None:
    access = (await password_login(client, person.email)).json()["access_token"]
    clock.advance(minutes=14, seconds=59)
    assert (await _me(client, access)).status_code == 200
    clock.advance(seconds=1)
    assert (await _me(client, access)).status_code == 401


async def test_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, person: Staff
) -> None:
    refresh = (await password_login(client, person.email)).json()["refresh_token"]
    assert (await _me(client, refresh)).status_code == 401


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


# --- throttling --------------------------------------------------------------------------


async def test_throttle_holds_across_two_app_instances(
    make_app: AppFactory, person: Staff, clock: FrozenClock
) -> None:
    """Two server processes share one count: it lives in the database, not in memory."""
    first, second = make_app(), make_app()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b") as b,
    ):
        for attempt in range(5):
            server = a if attempt % 2 == 0 else b
            response = await password_login(server, person.email, "wrong-password")
            assert response.status_code == 400
        for server in (a, b):
            locked = await password_login(server, person.email)  # even the right password
            assert locked.status_code == 429
            assert locked.json()["error"] == "invalid_grant"
            assert 0 < int(locked.headers["retry-after"]) <= 900
        clock.advance(seconds=901)
        assert (await password_login(b, person.email)).status_code == 200


async def test_unknown_emails_lock_too(client: httpx.AsyncClient) -> None:
    """A lock must not tell an attacker which e-mail addresses have accounts."""
    for _ in range(5):
        await password_login(client, "ghost@council.example", "guess-guess")
    response = await password_login(client, "ghost@council.example", "guess-guess")
    assert response.status_code == 429


async def test_success_resets_the_count(client: httpx.AsyncClient, person: Staff) -> None:
    for _ in range(4):
        await password_login(client, person.email, "wrong-password")
    assert (await password_login(client, person.email)).status_code == 200
    for _ in range(4):
        await password_login(client, person.email, "wrong-password")
    assert (await password_login(client, person.email)).status_code == 200


# --- deactivation ------------------------------------------------------------------------


async def test_deactivation_ends_access_at_once(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, person: Staff
) -> None:
    tokens = (await password_login(client, person.email)).json()
    org = await db.get_one(Organisation, person.organisation_id)
    admin = await make_staff(db, org, Role.admin, now=now_of(app))
    headers = bearer(app, admin)
    etag = (await client.get(f"/api/v1/staff/{person.id}", headers=headers)).headers["etag"]
    response = await client.patch(
        f"/api/v1/staff/{person.id}",
        json={"active": False},
        headers={**headers, "If-Match": etag},
    )
    assert response.status_code == 200
    assert response.json()["active"] is False

    assert (await _me(client, tokens["access_token"])).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 400
    assert (await password_login(client, person.email)).status_code == 400
