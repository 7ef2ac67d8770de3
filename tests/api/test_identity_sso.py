"""Single sign-on against a real OpenID Connect provider on 127.0.0.1 (oidc-provider-mock):
the phone's token exchange (RFC 8693), the refusals, require_sso, and the browser code flow."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import Passwords
from api.sso_flow import ID_TOKEN_TYPE, TOKEN_EXCHANGE
from models.directory.identity import IdentityAudit, SsoConfig, WebSession
from models.directory.organisation import Organisation
from models.directory.staff import Role, Staff
from tests.conftest import AppFactory, FrozenClock
from tests.factories.directory import PASSWORD, bearer, make_org, make_staff, password_login
from tests.providers.oidc import Provider, running_provider

CLIENT_ID = "harbour-web"
PHONE_ID = "harbour-phone"
TENANT = "8f1c-council-tenant"


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider() as p:
        yield p


@pytest.fixture
def real_time(clock: FrozenClock) -> FrozenClock:
    # The provider stamps tokens with the real time; Harbour's clock starts there.
    clock.now = datetime.now(UTC).replace(microsecond=0)
    return clock


@pytest.fixture
def app(make_app: AppFactory) -> FastAPI:
    return make_app(public_url="https://testserver")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # https: the session cookie is Secure outside development, and browsers keep it so.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


@pytest.fixture
async def org(db: AsyncSession, real_time: FrozenClock) -> Organisation:
    return await make_org(db, now=real_time.now)


@pytest.fixture
async def admin(db: AsyncSession, org: Organisation, real_time: FrozenClock) -> Staff:
    return await make_staff(db, org, Role.admin, now=real_time.now)


@pytest.fixture
async def person(
    db: AsyncSession, app: FastAPI, org: Organisation, real_time: FrozenClock
) -> Staff:
    passwords: Passwords = app.state.passwords
    return await make_staff(
        db,
        org,
        Role.practitioner,
        email="sam.jones@council.example",
        password_hash=passwords.hash(PASSWORD),
        now=real_time.now,
    )


async def configure(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, provider: Provider, **overrides: object
) -> httpx.Response:
    body: dict[str, object] = {
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": "web-client-secret",
        "app_client_ids": [PHONE_ID],
        "allowed_tenants": [TENANT],
        "subject_claim": "email",
        "group_roles": {"harbour-supervisors": ["practitioner", "supervisor"]},
    }
    body.update(overrides)
    response = await client.put("/api/v1/org/sso", json=body, headers=bearer(app, admin))
    assert response.status_code == 201, response.text
    return response


async def exchange(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": token,
            "subject_token_type": ID_TOKEN_TYPE,
        },
    )


def refused(response: httpx.Response, why: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == "invalid_grant"
    assert why in body["error_description"]


async def test_phone_exchanges_an_id_token_for_harbour_tokens(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, person: Staff, provider: Provider
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT, groups=["harbour-supervisors"])
    response = await exchange(client, provider.id_token("u1", PHONE_ID))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == str(person.id)
    assert me.json()["roles"] == ["practitioner", "supervisor"]  # the group mapping
    again = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert again.status_code == 200


async def test_the_web_client_id_is_accepted_as_audience_too(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, person: Staff, provider: Provider
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    assert (await exchange(client, provider.id_token("u1", CLIENT_ID))).status_code == 200


async def test_a_rotated_key_is_fetched_and_a_retired_key_refused(
    client: httpx.AsyncClient,
    app: FastAPI,
    admin: Staff,
    person: Staff,
    provider: Provider,
    real_time: FrozenClock,
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    old = provider.id_token("u1", PHONE_ID)
    assert (await exchange(client, old)).status_code == 200  # JWKS fetched and cached
    provider.rotate_key()
    real_time.advance(seconds=31)  # past the refetch rate limit
    new = provider.id_token("u1", PHONE_ID)
    assert (await exchange(client, new)).status_code == 200  # JWKS refetched
    refused(await exchange(client, old), "signature")  # the retired key is gone


async def test_a_token_for_another_tenant_is_refused(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, person: Staff, provider: Provider
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid="some-other-council")
    refused(await exchange(client, provider.id_token("u1", PHONE_ID)), "tenant")


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient,
    app: FastAPI,
    admin: Staff,
    person: Staff,
    provider: Provider,
    real_time: FrozenClock,
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    token = provider.id_token("u1", PHONE_ID)  # valid for an hour
    real_time.advance(hours=1, minutes=1)  # within the 2 min skew: still accepted
    assert (await exchange(client, token)).status_code == 200
    real_time.advance(minutes=2)
    refused(await exchange(client, token), "exp")


async def test_a_token_for_another_audience_is_refused(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, person: Staff, provider: Provider
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    refused(await exchange(client, provider.id_token("u1", "another-app")), "aud")


def _unsigned(token: str, **changes: object) -> str:
    """The same claims with `alg: none` and no signature."""
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    payload.update(changes)

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


async def test_an_unsigned_token_is_refused(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, person: Staff, provider: Provider
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    refused(await exchange(client, _unsigned(provider.id_token("u1", PHONE_ID))), "algorithm")


async def test_an_hmac_token_signed_with_the_public_key_is_refused(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, person: Staff, provider: Provider
) -> None:
    from joserfc import jwt
    from joserfc.jwk import OctKey

    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    claims = json.loads(
        base64.urlsafe_b64decode(provider.id_token("u1", PHONE_ID).split(".")[1] + "==")
    )
    public = httpx.get(f"{provider.issuer}/jwks").text.encode()
    forged = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(public))
    refused(await exchange(client, forged), "algorithm")


async def test_a_token_from_an_unknown_issuer_is_refused(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, person: Staff, provider: Provider
) -> None:
    await configure(client, app, admin, provider)
    with running_provider() as stranger:
        stranger.set_user("u1", email=person.email, tid=TENANT)
        refused(await exchange(client, stranger.id_token("u1", PHONE_ID)), "issuer")


async def test_a_deactivated_or_unknown_person_is_refused(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    admin: Staff,
    person: Staff,
    provider: Provider,
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    provider.set_user("u2", email="nobody@council.example", tid=TENANT)
    refused(await exchange(client, provider.id_token("u2", PHONE_ID)), "no active Harbour")
    person.active = False
    db.add(person)
    await db.flush()
    refused(await exchange(client, provider.id_token("u1", PHONE_ID)), "no active Harbour")
    staff = await db.exec(select(Staff).where(col(Staff.email) == "nobody@council.example"))
    assert staff.first() is None  # no just-in-time account


async def test_garbage_and_missing_subject_tokens(client: httpx.AsyncClient) -> None:
    refused(await exchange(client, "not-a-jwt"), "not a signed JWT")
    missing = await client.post(
        "/api/v1/auth/token", data={"grant_type": TOKEN_EXCHANGE, "subject_token": "x"}
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


async def test_require_sso_refuses_password_sign_in(
    client: httpx.AsyncClient, app: FastAPI, admin: Staff, person: Staff, provider: Provider
) -> None:
    assert (await password_login(client, person.email)).status_code == 200
    await configure(client, app, admin, provider, require_sso=True)
    right = await password_login(client, person.email)
    refused(right, "single sign-on")
    wrong = await password_login(client, person.email, "not-the-password")
    unknown = await password_login(client, "nobody@council.example", "not-the-password")
    # A wrong password learns nothing about single sign-on or the account.
    assert wrong.json() == unknown.json()
    assert "single sign-on" not in wrong.json()["error_description"]


async def test_sso_settings_are_admin_only_and_never_show_the_secret(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    provider: Provider,
    real_time: FrozenClock,
) -> None:
    created = await configure(client, app, admin, provider)
    assert "client_secret" not in created.json()
    assert created.json()["has_client_secret"] is True
    assert created.json()["redirect_uri"] == "https://testserver/auth/sso/callback"
    row = (await db.exec(select(SsoConfig))).one()
    assert row.client_secret is not None
    assert "web-client-secret" not in row.client_secret
    for role in (Role.practitioner, Role.supervisor, Role.manager, Role.hr):
        someone = await make_staff(db, org, role, now=real_time.now)
        assert (
            await client.get("/api/v1/org/sso", headers=bearer(app, someone))
        ).status_code == 403
        put = await client.put(
            "/api/v1/org/sso",
            json={"issuer": provider.issuer, "client_id": "x"},
            headers=bearer(app, someone),
        )
        assert put.status_code == 403
    other_admin = await make_staff(
        db, await make_org(db, now=real_time.now), Role.admin, now=real_time.now
    )
    assert (
        await client.get("/api/v1/org/sso", headers=bearer(app, other_admin))
    ).status_code == 404
    read = await client.get("/api/v1/org/sso", headers=bearer(app, admin))
    stale = await client.put(
        "/api/v1/org/sso",
        json={"issuer": provider.issuer, "client_id": "x"},
        headers={**bearer(app, admin), "If-Match": '"stale"'},
    )
    assert stale.status_code == 412
    missing = await client.put(
        "/api/v1/org/sso",
        json={"issuer": provider.issuer, "client_id": "x"},
        headers=bearer(app, admin),
    )
    assert missing.status_code == 428
    replaced = await client.put(
        "/api/v1/org/sso",
        json={"issuer": provider.issuer, "client_id": "x"},
        headers={**bearer(app, admin), "If-Match": read.headers["etag"]},
    )
    assert replaced.status_code == 200
    assert replaced.json()["has_client_secret"] is True  # omitted: kept
    insecure = await client.put(
        "/api/v1/org/sso",
        json={"issuer": "http://idp.example.org", "client_id": "x"},
        headers={**bearer(app, admin), "If-Match": replaced.headers["etag"]},
    )
    assert insecure.status_code == 422
    actions = (await db.exec(select(IdentityAudit.action))).all()
    assert actions == ["sso.created", "sso.replaced"]


async def test_browser_code_flow_signs_in_with_a_session_cookie(
    client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    org: Organisation,
    admin: Staff,
    person: Staff,
    provider: Provider,
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    start = await client.get(
        "/auth/sso/login", params={"org": org.name, "return_to": "/web/oversight"}
    )
    assert start.status_code == 302
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(provider.issuer)
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["https://testserver/auth/sso/callback"]
    # The person signs in at the provider, which sends the browser back with a code.
    with httpx.Client() as browser:
        consent = browser.post(authorize, data={"sub": "u1"})
    assert consent.status_code == 302
    back = urlsplit(consent.headers["location"])
    callback = await client.get(f"{back.path}?{back.query}")
    assert callback.status_code == 302, callback.text
    assert callback.headers["location"] == "/web/oversight"
    cookie = callback.headers["set-cookie"]
    assert "harbour_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" in cookie
    who = await client.get("/auth/session")
    assert who.status_code == 200
    assert who.json()["staff_id"] == str(person.id)
    # The same callback again (a replayed code and state) is refused.
    replay = await client.get(f"{back.path}?{back.query}")
    assert replay.status_code == 400
    # Signing out ends the session.
    assert (await client.post("/auth/logout")).status_code == 204
    client.cookies.clear()
    assert (await db.exec(select(WebSession))).all() == []


async def test_callback_without_the_state_cookie_is_refused(
    client: httpx.AsyncClient,
    app: FastAPI,
    org: Organisation,
    admin: Staff,
    person: Staff,
    provider: Provider,
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    start = await client.get("/auth/sso/login", params={"org": str(org.id)})
    with httpx.Client() as browser:
        consent = browser.post(start.headers["location"], data={"sub": "u1"})
    back = urlsplit(consent.headers["location"])
    client.cookies.clear()  # another browser: the login-CSRF case
    callback = await client.get(f"{back.path}?{back.query}")
    assert callback.status_code == 400
    assert callback.headers["content-type"] == "application/problem+json"


async def test_deactivation_ends_browser_sessions(
    client: httpx.AsyncClient,
    app: FastAPI,
    org: Organisation,
    admin: Staff,
    person: Staff,
    provider: Provider,
) -> None:
    await configure(client, app, admin, provider)
    provider.set_user("u1", email=person.email, tid=TENANT)
    start = await client.get("/auth/sso/login", params={"org": org.name})
    with httpx.Client() as browser:
        consent = browser.post(start.headers["location"], data={"sub": "u1"})
    back = urlsplit(consent.headers["location"])
    assert (await client.get(f"{back.path}?{back.query}")).status_code == 302
    assert (await client.get("/auth/session")).status_code == 200
    read = await client.get(f"/api/v1/staff/{person.id}", headers=bearer(app, admin))
    patch = await client.patch(
        f"/api/v1/staff/{person.id}",
        json={"active": False},
        headers={**bearer(app, admin), "If-Match": read.headers["etag"]},
    )
    assert patch.status_code == 200
    assert (await client.get("/auth/session")).status_code == 401


async def test_login_for_an_organisation_without_sso(
    client: httpx.AsyncClient, org: Organisation
) -> None:
    response = await client.get("/auth/sso/login", params={"org": org.name})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
