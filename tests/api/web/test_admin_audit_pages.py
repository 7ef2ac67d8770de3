"""Admins' access log, analytics audit and identity audit pages: the API's domain reads with
the same Actor (filtered by person and date, a page at a time, CSV), nobody else, nothing of
another organisation; looking at the access log is itself audited."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessReason, record_access
from models.directory.identity import IdentityAction, record_identity_change
from models.directory.service import actor_for
from models.directory.staff import Role, Staff
from models.wellbeing import AnalyticsAudit
from tests.api.web.conftest import signed_in
from tests.factories.directory import bearer, make_org, make_staff, now_of

PAGES = (
    "/app/admin/access-log",
    "/app/admin/access-log.csv",
    "/app/admin/analytics-audit",
    "/app/admin/analytics-audit.csv",
    "/app/admin/identity-audit",
    "/app/admin/identity-audit.csv",
)


async def _org(db: AsyncSession, now: datetime) -> dict[str, Staff]:
    org = await make_org(db, now=now)
    people = {
        "admin": await make_staff(db, org, Role.admin, now=now),
        "manager": await make_staff(db, org, Role.manager, now=now),
        "supervisor": await make_staff(db, org, Role.supervisor, now=now),
        "hr": await make_staff(db, org, Role.hr, now=now),
        "practitioner": await make_staff(db, org, now=now),
        "other": await make_staff(db, org, now=now),
    }
    people["practitioner"].display_name = "=HYPERLINK(evil)"
    people["other"].display_name = "Olu Other"
    await db.flush()
    day = timedelta(days=1)
    reads = [
        ("supervisor", "practitioner", 2 * day, AccessReason.shared_with_me),
        ("supervisor", "practitioner", day, AccessReason.supervision),
        ("manager", "practitioner", day, AccessReason.management_oversight),
        ("supervisor", "other", timedelta(0), AccessReason.supervision),
    ]
    for reader, subject, ago, reason in reads:
        await record_access(
            db,
            actor_for(people[reader]),
            people[subject].id,
            "reflection",
            uuid.uuid4(),
            reason,
            now - ago,
        )
    return people


def _rows(html: str, table: str) -> int:
    body = html.split(f'id="{table}"', 1)[1].split("</tbody>", 1)[0]
    return body.count('<tr class="govuk-table__row">') - 1  # less the heading row


async def test_admin_reads_the_access_log_filtered_and_downloads_it(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    elsewhere = await _org(db, now)
    await signed_in(web, db, app, p["admin"])

    everything = await web.get("/app/admin/access-log")
    assert everything.status_code == 200, everything.text
    assert _rows(everything.text, "access-table") == 4  # none of the other organisation's
    assert "management oversight" in everything.text
    assert elsewhere["supervisor"].display_name not in everything.text
    assert "Download these entries as CSV" in everything.text

    other = await web.get("/app/admin/access-log", params={"person": str(p["other"].id)})
    assert _rows(other.text, "access-table") == 1
    today = now.date()
    dated = await web.get(
        "/app/admin/access-log",
        params={"from": f"{(today - timedelta(days=1)):%d/%m/%Y}", "to": today.isoformat()},
    )
    assert _rows(dated.text, "access-table") == 3

    download = await web.get(
        "/app/admin/access-log.csv", params={"person": str(p["practitioner"].id)}
    )
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["at", "reader_id", "reader_name"]
    assert len(rows) == 4
    assert {r[4] for r in rows[1:]} == {"'=HYPERLINK(evil)"}  # neutralised, as the API's

    # Each read of the access log is in the analytics audit, as the API's reads are.
    audited = (
        await db.exec(
            select(AnalyticsAudit.endpoint).where(col(AnalyticsAudit.actor_id) == p["admin"].id)
        )
    ).all()
    assert audited.count("web_admin_access_log") == 3
    assert audited.count("web_admin_access_log_csv") == 1
    audit = await web.get("/app/admin/analytics-audit", params={"endpoint": "web_admin_access_log"})
    assert audit.status_code == 200
    assert _rows(audit.text, "audit-table") == 3
    mine = await web.get("/app/admin/analytics-audit.csv", params={"person": str(p["admin"].id)})
    assert len(list(csv.reader(io.StringIO(mine.content.decode("utf-8-sig"))))) == 1 + 4


async def test_the_access_log_is_paged(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    for i in range(55):
        await record_access(
            db,
            actor_for(p["supervisor"]),
            p["other"].id,
            "reflection",
            uuid.uuid4(),
            AccessReason.supervision,
            now - timedelta(minutes=i + 1),
        )
    await signed_in(web, db, app, p["admin"])
    first = await web.get("/app/admin/access-log", params={"person": str(p["other"].id)})
    assert _rows(first.text, "access-table") == 50
    assert 'rel="next"' in first.text
    link = first.text.split('rel="next"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    assert f"person={p['other'].id}" in link
    second = await web.get(link.replace("&amp;", "&"))
    assert second.status_code == 200
    assert _rows(second.text, "access-table") == 6
    assert 'rel="next"' not in second.text
    assert "Newest entries" in second.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "31/2/2026"}, "From must be a real date"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "is before"),
        ({"to": "1/1/1999"}, "outside"),
        ({"person": "not-a-person"}, "Choose a person from the list"),
    ],
)
async def test_a_bad_filter_is_said_plainly_and_shows_nothing(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession, params: dict[str, str], message: str
) -> None:
    p = await _org(db, now_of(app))
    await signed_in(web, db, app, p["admin"])
    for path in (
        "/app/admin/access-log",
        "/app/admin/analytics-audit",
        "/app/admin/identity-audit",
    ):
        answer = await web.get(path, params=params)
        assert answer.status_code == 422
        assert "govuk-error-summary" in answer.text
        assert message in answer.text
        assert "access-table" not in answer.text
    csv_answer = await web.get("/app/admin/access-log.csv", params=params)
    assert csv_answer.status_code == 422


@pytest.mark.parametrize("who", ["manager", "supervisor", "hr", "practitioner"])
async def test_nobody_but_an_admin_opens_them(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession, who: str
) -> None:
    p = await _org(db, now_of(app))
    await signed_in(web, db, app, p[who])
    for path in PAGES:
        answer = await web.get(path)
        assert answer.status_code == 403, path
        assert "admin role" in answer.text


async def _sign_in_changes(web: httpx.AsyncClient, app: FastAPI, p: dict[str, Staff]) -> None:
    """Through the API, a day apart: SSO set up, a SCIM token, an invitation."""
    sso = {"issuer": "https://idp.example.org", "client_id": "harbour-web"}
    made = await web.put("/api/v1/org/sso", json=sso, headers=bearer(app, p["admin"]))
    assert made.status_code == 201, made.text
    app.state.clock.advance(days=1)
    token = await web.post("/api/v1/org/scim-token", headers=bearer(app, p["admin"]))
    assert token.status_code == 201, token.text
    app.state.clock.advance(days=1)
    invited = await web.post(
        f"/api/v1/staff/{p['practitioner'].id}/invitation", headers=bearer(app, p["admin"])
    )
    assert invited.status_code == 201, invited.text


async def test_admin_reads_who_changed_sign_in_and_downloads_it(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    start = now_of(app)
    p = await _org(db, start)
    elsewhere = await _org(db, start)
    await _sign_in_changes(web, app, p)
    other = await web.post("/api/v1/org/scim-token", headers=bearer(app, elsewhere["admin"]))
    assert other.status_code == 201
    await signed_in(web, db, app, p["admin"])

    everything = await web.get("/app/admin/identity-audit")
    assert everything.status_code == 200, everything.text
    assert _rows(everything.text, "identity-table") == 3  # none of the other organisation's
    text = everything.text.split('id="identity-table"', 1)[1]
    # Newest first, in words.
    invited = text.index("Invitation link issued")
    assert invited < text.index("SCIM token issued") < text.index("Single sign-on set up")
    assert "=HYPERLINK(evil)" in text  # whom the invitation was for (escaped by Jinja)
    assert p["admin"].display_name in text
    assert elsewhere["admin"].display_name not in text
    assert 'href="/app/admin/identity-audit.csv"' in everything.text
    assert "Sign-in changes</strong>" in everything.text  # where the audit nav says we are

    about = await web.get("/app/admin/identity-audit", params={"person": str(p["practitioner"].id)})
    assert _rows(about.text, "identity-table") == 1
    tokens = await web.get("/app/admin/identity-audit", params={"action": "scim_token.issued"})
    assert _rows(tokens.text, "identity-table") == 1
    assert 'value="scim_token.issued" selected' in tokens.text
    today = now_of(app).date()
    dated = await web.get(
        "/app/admin/identity-audit",
        params={"from": f"{(today - timedelta(days=1)):%d/%m/%Y}", "to": today.isoformat()},
    )
    assert _rows(dated.text, "identity-table") == 2

    download = await web.get(
        "/app/admin/identity-audit.csv", params={"person": str(p["practitioner"].id)}
    )
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["at", "action", "actor_id", "actor_name", "subject_id", "subject_name"]
    assert [r[1] for r in rows[1:]] == ["invitation.created"]
    assert rows[1][5] == "'=HYPERLINK(evil)"  # neutralised, as the API's

    # Reading it is not recorded in the analytics audit (unlike the access log).
    audited = (
        await db.exec(
            select(AnalyticsAudit.endpoint).where(col(AnalyticsAudit.actor_id) == p["admin"].id)
        )
    ).all()
    assert audited == []


async def test_the_identity_audit_is_paged_and_a_bad_change_is_said_plainly(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    admin = p["admin"]
    for i in range(55):
        record_identity_change(
            db,
            admin.organisation_id,
            admin.id,
            IdentityAction.scim_token_issued,
            uuid.uuid4(),
            now - timedelta(minutes=i + 1),
        )
    record_identity_change(
        db, admin.organisation_id, admin.id, IdentityAction.sso_deleted, None, now
    )
    await signed_in(web, db, app, p["admin"])
    query = {"action": "scim_token.issued", "person": str(p["admin"].id)}
    first = await web.get("/app/admin/identity-audit", params=query)
    assert _rows(first.text, "identity-table") == 50
    link = first.text.split('rel="next"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    assert "action=scim_token.issued" in link
    second = await web.get(link.replace("&amp;", "&"))
    assert _rows(second.text, "identity-table") == 5
    assert 'rel="next"' not in second.text

    bad = await web.get("/app/admin/identity-audit", params={"action": "sso.stolen"})
    assert bad.status_code == 422
    assert "Choose a change from the list" in bad.text
    assert "identity-table" not in bad.text
    assert (
        await web.get("/app/admin/identity-audit.csv", params={"action": "sso.stolen"})
    ).status_code == 422
    # The other pages have no such field and ignore the parameter.
    assert (
        await web.get("/app/admin/access-log", params={"action": "sso.stolen"})
    ).status_code == 200
