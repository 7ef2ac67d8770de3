"""Fixtures for the web pages: a browser-like client (cookies over https) and signing in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import Passwords
from models.directory.staff import Staff
from tests.factories.directory import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies like a browser; https, as the session cookie is Secure
    outside development."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


def password_hash(app: FastAPI) -> str:
    passwords: Passwords = app.state.passwords
    return passwords.hash(PASSWORD)


def token_of(html: str) -> str:
    found = TOKEN.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


async def web_sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    """The browser's sign-in: load the form (its token), post it."""
    form = await client.get("/app/sign-in")
    return await client.post(
        "/app/sign-in",
        data={"csrf_token": token_of(form.text), "email": email, "password": password},
    )


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return token_of(page.text)


async def signed_in(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, staff: Staff
) -> httpx.AsyncClient:
    """Give `staff` the test password and sign `client` in as them."""
    staff.password_hash = password_hash(app)
    db.add(staff)
    await db.flush()
    response = await web_sign_in(client, staff.email)
    assert response.status_code == 303, response.text
    return client
