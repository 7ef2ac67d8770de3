"""Admins read their organisation's identity audit: who changed its sign-in (SSO settings,
the SCIM token, invitations, passwords set by link, the console's break glass), written by
the real flows; filtered by person, action and date, paged, as CSV; nobody else, never
another organisation's entries; bad input is a 422 problem. Reading it is not audited."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.identity import IDENTITY_ACTION_LABELS, IdentityAction
from models.directory.sso import break_glass_disable
from models.directory.staff import Role, Staff
from models.pagination import encode_cursor
from models.wellbeing import AnalyticsAudit
from tests.factories.directory import bearer, make_org, make_staff, now_of

AUDIT = "/api/v1/admin/identity-audit"
SSO = {"issuer": "https://idp.example.org", "client_id": "harbour-web"}


async def _org(db: AsyncSession, now: datetime) -> dict[str, Any]:
    org = await make_org(db, now=now)
    people: dict[str, Any] = {
        "org": org,
        "admin": await make_staff(db, org, Role.admin, now=now),
        "manager": await make_staff(db, org, Role.manager, now=now),
        "supervisor": await make_staff(db, org, Role.supervisor, now=now),
        "hr": await make_staff(db, org, Role.hr, now=now),
        "practitioner": await make_staff(db, org, now=now),
    }
    people["practitioner"].display_name = "=HYPERLINK(evil)"
    await db.flush()
    return people


async def _ok(response: httpx.Response, status: int = 200) -> httpx.Response:
    assert response.status_code == status, response.text
    return response


async def _changes(client: httpx.AsyncClient, app: FastAPI, p: dict[str, Any]) -> None:
    """Through the API, a day apart: SSO set up, a SCIM token, an invitation, the password it
    sets, the SSO settings changed, the token revoked (six entries, oldest first)."""
    clock = app.state.clock
    made = await _ok(
        await client.put("/api/v1/org/sso", json=SSO, headers=bearer(app, p["admin"])), 201
    )
    clock.advance(days=1)
    await _ok(await client.post("/api/v1/org/scim-token", headers=bearer(app, p["admin"])), 201)
    clock.advance(days=1)
    invited = await client.post(
        f"/api/v1/staff/{p['practitioner'].id}/invitation", headers=bearer(app, p["admin"])
    )
    token = (await _ok(invited, 201)).json()["url"].split("token=", 1)[1]
    clock.advance(days=1)
    body = {"token": token, "password": "a-brand-new-passphrase"}
    await _ok(await client.post("/api/v1/auth/password/set", json=body))
    clock.advance(days=1)
    changed = {**bearer(app, p["admin"]), "If-Match": made.headers["etag"]}
    await _ok(await client.put("/api/v1/org/sso", json={**SSO, "client_id": "y"}, headers=changed))
    clock.advance(days=1)
    await _ok(await client.delete("/api/v1/org/scim-token", headers=bearer(app, p["admin"])), 204)


async def _get(
    client: httpx.AsyncClient, app: FastAPI, who: Staff, url: str = AUDIT, **params: Any
) -> httpx.Response:
    return await client.get(url, params=params, headers=bearer(app, who))


async def test_admins_read_who_changed_sign_in_filtered_and_paged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    start = now_of(app)
    p = await _org(db, start)
    elsewhere = await _org(db, start)
    await _changes(client, app, p)
    await _ok(
        await client.post("/api/v1/org/scim-token", headers=bearer(app, elsewhere["admin"])), 201
    )
    admin, person = p["admin"], p["practitioner"]

    everything = await _ok(await _get(client, app, admin))
    rows = everything.json()["data"]
    assert [r["action"] for r in rows] == [
        "scim_token.revoked",
        "sso.replaced",
        "password.set",
        "invitation.created",
        "scim_token.issued",
        "sso.created",
    ]  # newest first; nothing of the other organisation's token
    assert everything.json()["next_cursor"] is None
    revoked, replaced, password, invited, issued, created = rows
    assert revoked["actor_id"] == str(admin.id)
    assert revoked["actor_name"] == admin.display_name
    assert revoked["subject_id"] is None
    assert revoked["subject_name"] is None
    assert created["subject_id"] == replaced["subject_id"] is not None  # the SSO settings
    assert created["subject_name"] is None
    assert issued["subject_id"] is not None
    assert invited["actor_id"] == str(admin.id)
    assert (invited["subject_id"], invited["subject_name"]) == (str(person.id), "=HYPERLINK(evil)")
    # The person set their own password: they are the actor.
    assert (password["actor_id"], password["subject_id"]) == (str(person.id), str(person.id))
    assert password["actor_name"] == "=HYPERLINK(evil)"

    def ids(response: httpx.Response) -> list[str]:
        return [r["id"] for r in response.json()["data"]]

    by_admin = await _get(client, app, admin, actor_id=str(admin.id))
    assert ids(by_admin) == [r["id"] for r in rows if r is not password]
    about = await _get(client, app, admin, subject_id=str(person.id))
    assert ids(about) == [password["id"], invited["id"]]
    either = await _get(client, app, admin, person_id=str(person.id))
    assert ids(either) == [password["id"], invited["id"]]
    mine = await _get(client, app, admin, person_id=str(admin.id))
    assert ids(mine) == ids(by_admin)
    tokens = await _get(client, app, admin, action="scim_token.issued")
    assert ids(tokens) == [issued["id"]]
    both = await _get(client, app, admin, actor_id=str(admin.id), action="password.set")
    assert ids(both) == []

    def day(n: int) -> str:
        return (start + timedelta(days=n)).date().isoformat()

    assert ids(await _get(client, app, admin, **{"from": day(1), "to": day(2)})) == [
        invited["id"],
        issued["id"],
    ]
    assert len(ids(await _get(client, app, admin, **{"from": day(3)}))) == 3
    assert ids(await _get(client, app, admin, to=day(0))) == [created["id"]]

    page = await _get(client, app, admin, limit=4)
    seen = ids(page)
    assert len(seen) == 4
    while page.json()["next_cursor"] is not None:
        page = await _get(client, app, admin, limit=4, cursor=page.json()["next_cursor"])
        seen += ids(page)
    assert seen == [r["id"] for r in rows]
    # Paging keeps the filters.
    first = await _get(client, app, admin, actor_id=str(admin.id), limit=2)
    rest = await _get(
        client, app, admin, actor_id=str(admin.id), cursor=first.json()["next_cursor"]
    )
    assert ids(first) + ids(rest) == ids(by_admin)

    # The other organisation's admin sees their own token only, never these; their people
    # filter to nothing here.
    theirs = (await _get(client, app, elsewhere["admin"])).json()["data"]
    assert [(r["action"], r["actor_id"]) for r in theirs] == [
        ("scim_token.issued", str(elsewhere["admin"].id))
    ]
    for crossing in (
        {"actor_id": str(elsewhere["admin"].id)},
        {"person_id": str(elsewhere["admin"].id)},
    ):
        assert (await _get(client, app, admin, **crossing)).json()["data"] == []
    assert (await _get(client, app, elsewhere["admin"], subject_id=str(person.id))).json()[
        "data"
    ] == []


async def test_the_console_break_glass_has_no_actor(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _org(db, now_of(app))
    required = {**SSO, "require_sso": True}
    await _ok(
        await client.put("/api/v1/org/sso", json=required, headers=bearer(app, p["admin"])), 201
    )
    app.state.clock.advance(minutes=5)
    await break_glass_disable(db, p["org"].name, now_of(app))  # `harbour sso disable --org`
    rows = (await _get(client, app, p["admin"])).json()["data"]
    assert [r["action"] for r in rows] == ["sso.break_glass", "sso.created"]
    glass = rows[0]
    assert (glass["actor_id"], glass["actor_name"]) == (None, None)
    assert glass["subject_id"] == rows[1]["subject_id"]
    alone = await _get(client, app, p["admin"], actor_id=str(p["admin"].id))
    assert [r["action"] for r in alone.json()["data"]] == ["sso.created"]


async def test_switching_sso_off_and_inviting_an_import_are_recorded(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _org(db, now_of(app))
    admin = bearer(app, p["admin"])
    await _ok(await client.put("/api/v1/org/sso", json=SSO, headers=admin), 201)
    app.state.clock.advance(minutes=5)
    await _ok(await client.delete("/api/v1/org/sso", headers=admin), 204)
    app.state.clock.advance(minutes=5)
    people = "email,display_name,started_on\nann@council.example,Ann,2026-01-05\n"
    people += "bob@council.example,Bob,2026-01-05\n"
    imported = await client.post(
        "/api/v1/staff/import?invite=true",
        content=people,
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert (await _ok(imported)).json()["created"] == 2
    rows = (await _get(client, app, p["admin"])).json()["data"]
    assert [(r["action"], r["actor_id"]) for r in rows] == [
        ("invitation.created", str(p["admin"].id)),
        ("invitation.created", str(p["admin"].id)),
        ("sso.deleted", str(p["admin"].id)),
        ("sso.created", str(p["admin"].id)),
    ]
    assert sorted(r["subject_name"] for r in rows[:2]) == ["Ann", "Bob"]
    assert rows[2]["subject_id"] is None


async def test_only_admins_may_read_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _org(db, now_of(app))
    await _changes(client, app, p)
    for url in (AUDIT, f"{AUDIT}.csv"):
        for role in ("manager", "supervisor", "hr", "practitioner"):
            refused = await _get(client, app, p[role], url)
            assert refused.status_code == 403, (url, role)
            assert refused.headers["content-type"] == "application/problem+json"
            assert "scim_token" not in refused.text
            assert str(p["admin"].id) not in refused.text
        unauthenticated = await client.get(url)
        assert unauthenticated.status_code == 401
        assert (await _get(client, app, p["admin"], url)).status_code == 200


async def test_bad_filters_are_problems(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _org(db, now_of(app))
    for params in (
        {"actor_id": "not-a-uuid"},
        {"subject_id": "123"},
        {"person_id": "x"},
        {"action": "sso.stolen"},
        {"from": "2026-13-01"},
        {"from": "yesterday"},
        {"from": "2026-11-10", "to": "2026-11-01"},
        {"to": "9999-12-31"},
        {"limit": "0"},
        {"limit": "ten"},
        {"cursor": "%%%"},
        {"cursor": encode_cursor({"k": "yesterday", "id": "x"})},
        {"cursor": "x" * 501},
    ):
        for url in (AUDIT, f"{AUDIT}.csv"):
            bad = await _get(client, app, p["admin"], url, **params)
            assert bad.status_code == 422, (url, params, bad.text)
            assert bad.headers["content-type"] == "application/problem+json"
    assert (await _get(client, app, p["admin"], AUDIT, limit=201)).status_code == 422
    assert (await _get(client, app, p["admin"], f"{AUDIT}.csv", limit=10_001)).status_code == 422
    assert (await _get(client, app, p["admin"], f"{AUDIT}.csv", limit=10_000)).status_code == 200


async def test_as_csv_safe_in_a_spreadsheet_and_continued_by_link(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _org(db, now_of(app))
    await _changes(client, app, p)
    first = await _ok(await _get(client, app, p["admin"], f"{AUDIT}.csv", limit=4))
    assert first.headers["content-type"].startswith("text/csv")
    assert first.headers["content-disposition"] == 'attachment; filename="identity-audit.csv"'
    assert first.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(first.content.decode("utf-8-sig"))))
    assert len(rows) == 4
    assert list(rows[0]) == [
        "at",
        "action",
        "actor_id",
        "actor_name",
        "subject_id",
        "subject_name",
    ]
    assert rows[0]["action"] == "scim_token.revoked"
    assert (rows[0]["actor_name"], rows[0]["subject_id"]) == (p["admin"].display_name, "")
    link = first.headers["link"]
    assert link.endswith('>; rel="next"')
    assert "limit=4" in link
    rest = await client.get(link[1 : link.index(">")], headers=bearer(app, p["admin"]))
    assert "link" not in rest.headers
    rows += list(csv.DictReader(io.StringIO(rest.content.decode("utf-8-sig"))))
    assert [r["action"] for r in rows] == [
        "scim_token.revoked",
        "sso.replaced",
        "password.set",
        "invitation.created",
        "scim_token.issued",
        "sso.created",
    ]
    names = {r["subject_name"] for r in rows}
    assert "'=HYPERLINK(evil)" in names  # neutralised: text, not a formula
    assert "=HYPERLINK(evil)" not in names
    only = await _get(client, app, p["admin"], f"{AUDIT}.csv", subject_id=str(p["practitioner"].id))
    assert [r["action"] for r in csv.DictReader(io.StringIO(only.text))] == [
        "password.set",
        "invitation.created",
    ]


async def test_reading_it_is_not_recorded(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _org(db, now_of(app))
    await _changes(client, app, p)
    count = select(func.count()).select_from(AnalyticsAudit)
    before = (await db.exec(count)).one()
    await _get(client, app, p["admin"])
    await _get(client, app, p["admin"], f"{AUDIT}.csv")
    await _get(client, app, p["hr"])  # a refusal is not recorded either
    assert (await db.exec(count)).one() == before
    listed = (await _get(client, app, p["admin"])).json()["data"]
    assert len(listed) == 6  # nor does it add to itself


def test_every_action_has_words_on_the_page() -> None:
    assert set(IDENTITY_ACTION_LABELS) == set(IdentityAction)
    assert len(set(IDENTITY_ACTION_LABELS.values())) == len(IdentityAction)
