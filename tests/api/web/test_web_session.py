"""Browser sessions: the cookie, sign-out, idle and absolute timeouts, deactivation, CSRF."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.identity import SsoConfig, WebSession
from models.directory.staff import Role
from tests.api.web.conftest import form_token, password_hash, web_sign_in
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, make_org, make_staff, now_of


async def _sessions(db: AsyncSession, staff_id: object) -> list[WebSession]:
    rows = await db.exec(select(WebSession).where(col(WebSession.staff_id) == staff_id))
    return list(rows.all())


async def test_sign_in_sets_a_secure_http_only_cookie_stored_only_as_a_hash(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    me = await make_staff(db, org, Role.manager, password_hash=password_hash(app), now=now_of(app))
    response = await web_sign_in(web, me.email)
    assert response.status_code == 303
    assert response.headers["location"] == "/app"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("harbour_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite", "path"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "path=/" in cookie.lower()
    raw = web.cookies["harbour_session"]
    [row] = await _sessions(db, me.id)
    assert row.token_hash != raw
    assert len(row.token_hash) == 64
    assert row.organisation_id == org.id
    assert (await web.get("/app")).status_code == 200


async def test_wrong_password_starts_no_session_and_says_so(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    me = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    response = await web_sign_in(web, me.email, "not-the-password")
    assert response.status_code == 422
    assert "The e-mail address or password is wrong" in response.text
    assert "harbour_session" not in web.cookies
    assert await _sessions(db, me.id) == []
    assert (await web.get("/app")).status_code == 303


async def test_repeated_failures_are_throttled_like_the_token_endpoint(
    web: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    org = await make_org(db, now=now_of(app))
    me = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    for _ in range(app.state.settings.login_max_failures):
        assert (await web_sign_in(web, me.email, "wrong-password")).status_code == 422
    locked = await web_sign_in(web, me.email)
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text
    assert int(locked.headers["retry-after"]) > 0


async def test_sign_out_deletes_the_session(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    me = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    await web_sign_in(web, me.email)
    copied = web.cookies["harbour_session"]
    token = await form_token(web, "/app")
    response = await web.post("/app/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/app/sign-in?signed_out=1"
    assert await _sessions(db, me.id) == []
    # A copy of the old cookie opens nothing.
    web.cookies.set("harbour_session", copied, domain="testserver")
    assert (await web.get("/app")).status_code == 303


async def test_idle_timeout_and_absolute_lifetime_end_the_session(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    org = await make_org(db, now=now_of(app))
    me = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    idle = app.state.settings.web_session_idle_minutes
    await web_sign_in(web, me.email)
    clock.advance(minutes=idle - 1)
    assert (await web.get("/app")).status_code == 200  # activity keeps it alive
    clock.advance(minutes=idle - 1)
    assert (await web.get("/app")).status_code == 200
    clock.advance(minutes=idle + 1)
    expired = await web.get("/app/units?status=overdue")
    assert expired.status_code == 303
    assert expired.headers["location"] == (
        "/app/sign-in?next=%2Fapp%2Funits%3Fstatus%3Doverdue&expired=1"
    )
    assert await _sessions(db, me.id) == []
    # However busy, a session ends at its absolute lifetime.
    await web_sign_in(web, me.email)
    for _ in range(app.state.settings.web_session_hours * 60 // (idle - 1) + 1):
        clock.advance(minutes=idle - 1)
        response = await web.get("/app")
    assert response.status_code == 303


async def test_deactivation_and_a_new_password_end_every_session(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    admin = await make_staff(db, org, Role.admin, now=now_of(app))
    me = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    await web_sign_in(web, me.email)
    assert len(await _sessions(db, me.id)) == 1
    response = await web.get("/api/v1/staff/" + str(me.id), headers=bearer(app, admin))
    etag = response.headers["etag"]
    changed = await web.patch(
        f"/api/v1/staff/{me.id}",
        json={"password": "another-long-password"},
        headers={**bearer(app, admin), "If-Match": etag},
    )
    assert changed.status_code == 200
    assert await _sessions(db, me.id) == []
    assert (await web.get("/app")).status_code == 303
    await web_sign_in(web, me.email, "another-long-password")
    assert len(await _sessions(db, me.id)) == 1
    await web.patch(
        f"/api/v1/staff/{me.id}",
        json={"active": False},
        headers={**bearer(app, admin), "If-Match": changed.headers["etag"]},
    )
    assert await _sessions(db, me.id) == []
    assert (await web.get("/app")).status_code == 303


async def test_forms_without_this_sessions_token_are_refused(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    me = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    other = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    # Sign-in itself needs the pre-session token.
    refused = await web.post("/app/sign-in", data={"email": me.email, "password": "x" * 12})
    assert refused.status_code == 403
    assert await _sessions(db, me.id) == []
    await web_sign_in(web, me.email)
    for data in ({}, {"csrf_token": "0" * 64}):
        response = await web.post("/app/sign-out", data=data)
        assert response.status_code == 403
        assert "This form has expired" in response.text
    # A token from another person's session is worth nothing here.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as theirs:
        await web_sign_in(theirs, other.email)
        their_token = await form_token(theirs, "/app")
    assert (await web.post("/app/sign-out", data={"csrf_token": their_token})).status_code == 403
    # A form posted from another site is refused even with a good token.
    token = await form_token(web, "/app")
    cross = await web.post(
        "/app/sign-out", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert len(await _sessions(db, me.id)) == 1
    assert (await web.post("/app/sign-out", data={"csrf_token": token})).status_code == 303


async def test_next_page_never_leaves_the_service(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    me = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    form = await web.get("/app/sign-in?next=//evil.example/app")
    assert 'name="next" value="/app"' in form.text
    from tests.api.web.conftest import token_of

    response = await web.post(
        "/app/sign-in",
        data={
            "csrf_token": token_of(form.text),
            "email": me.email,
            "password": "correct-horse-battery",
            "next": "https://evil.example/",
        },
    )
    assert response.headers["location"] == "/app"


async def _sso(db: AsyncSession, org_id: uuid.UUID, app: FastAPI, *, required: bool) -> None:
    db.add(
        SsoConfig(
            organisation_id=org_id,
            issuer="https://login.council.example",
            client_id="harbour-web",
            require_sso=required,
            created_at=now_of(app),
            updated_at=now_of(app),
        )
    )
    await db.flush()


async def test_the_council_account_button_shows_when_the_organisation_has_sso(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    plain = await make_org(db, now=now_of(app))
    await _sso(db, org.id, app, required=False)
    page = await web.get(f"/app/sign-in?org={org.id}&next=/app/units")
    assert "Sign in with your council account" in page.text
    assert f"/auth/sso/login?org={org.id}&amp;return_to=%2Fapp%2Funits" in page.text
    by_name = await web.get(f"/app/sign-in?org={org.name}")
    assert "Sign in with your council account" in by_name.text
    for query in (f"?org={plain.id}", "", "?org=nobody"):
        page = await web.get(f"/app/sign-in{query}")
        assert page.status_code == 200
        assert "Sign in with your council account" not in page.text


async def test_an_sso_only_organisation_sends_the_right_password_to_the_button(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    me = await make_staff(db, org, password_hash=password_hash(app), now=now_of(app))
    await _sso(db, org.id, app, required=True)
    right = await web_sign_in(web, me.email)
    assert right.status_code == 422
    assert "Your council signs in with its own account" in right.text
    assert f"/auth/sso/login?org={org.id}" in right.text
    assert await _sessions(db, me.id) == []
    wrong = await web_sign_in(web, me.email, "not-the-password")
    assert "own account" not in wrong.text  # a wrong password learns nothing about SSO
    assert "/auth/sso/login" not in wrong.text
