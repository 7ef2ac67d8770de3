"""The page an invitation link opens: choose a password once, then sign in."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.staff import Role
from tests.api.web.conftest import form_token, web_sign_in
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, make_org, make_staff

NEW = "a-brand-new-passphrase"


async def test_an_invitation_link_opens_a_page_that_sets_the_password_once(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    org = await make_org(db, now=clock.now)
    admin = await make_staff(db, org, Role.admin, now=clock.now)
    person = await make_staff(db, org, now=clock.now)
    invited = await web.post(f"/api/v1/staff/{person.id}/invitation", headers=bearer(app, admin))
    url = invited.json()["url"]
    path = url.removeprefix("http://127.0.0.1:8000")
    token = url.split("token=", 1)[1]
    assert path.startswith("/app/set-password?token=")
    page = await web.get(path)
    assert page.status_code == 200
    assert "Choose your Harbour password" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    csrf = await form_token(web, path)
    mismatch = await web.post(
        "/app/set-password",
        data={"csrf_token": csrf, "token": token, "password": NEW, "confirm": NEW + "x"},
    )
    assert mismatch.status_code == 422
    assert "not the same" in mismatch.text
    no_csrf = await web.post(
        "/app/set-password", data={"token": token, "password": NEW, "confirm": NEW}
    )
    assert no_csrf.status_code == 403
    done = await web.post(
        "/app/set-password",
        data={"csrf_token": csrf, "token": token, "password": NEW, "confirm": NEW},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/app/sign-in?password_set=1"
    assert "Your password is set" in (await web.get("/app/sign-in?password_set=1")).text
    again = await web.post(
        "/app/set-password",
        data={"csrf_token": csrf, "token": token, "password": NEW, "confirm": NEW},
    )
    assert again.status_code == 400
    assert "not valid" in again.text
    signed_in = await web_sign_in(web, person.email, NEW)
    assert signed_in.status_code == 303


async def test_the_forgot_password_page_answers_the_same_for_any_address(
    web: httpx.AsyncClient, db: AsyncSession, clock: FrozenClock
) -> None:
    org = await make_org(db, now=clock.now)
    person = await make_staff(db, org, now=clock.now)
    sign_in = await web.get("/app/sign-in")
    assert 'href="/app/forgot-password"' in sign_in.text
    page = await web.get("/app/forgot-password")
    assert page.status_code == 200
    assert "does not send e-mail" in page.text  # no SMTP in this app
    answers = []
    for email in (person.email, "nobody@council.example"):
        csrf = await form_token(web, "/app/forgot-password")
        response = await web.post("/app/forgot-password", data={"csrf_token": csrf, "email": email})
        assert response.status_code == 200
        answers.append(response.text.replace(csrf, ""))
    assert answers[0] == answers[1]
    assert "a link to set a new one is on its way" in answers[0]
    csrf = await form_token(web, "/app/forgot-password")
    empty = await web.post("/app/forgot-password", data={"csrf_token": csrf, "email": " "})
    assert empty.status_code == 422
    no_csrf = await web.post("/app/forgot-password", data={"email": person.email})
    assert no_csrf.status_code == 403
