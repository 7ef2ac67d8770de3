"""Admins read their organisation's access log and analytics audit (PRODUCT.md: "admin: yes
(audit)"): filtered by person and date, paged, as CSV; nobody else, and never another
organisation's rows. Each admin read of the access log is recorded in the analytics audit."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog, AccessReason, record_access
from models.directory.service import actor_for
from models.directory.staff import Role, Staff
from models.wellbeing import AnalyticsAudit, audit_analytics
from tests.factories.directory import bearer, make_org, make_staff, now_of

ACCESS = "/api/v1/admin/access-log"
AUDIT = "/api/v1/admin/analytics-audit"


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
    await db.flush()
    return people


async def _read(
    db: AsyncSession, reader: Staff, subject: Staff, at: datetime, reason: AccessReason
) -> None:
    await record_access(db, actor_for(reader), subject.id, "reflection", uuid.uuid4(), reason, at)


async def _log(db: AsyncSession, people: dict[str, Staff], now: datetime) -> None:
    """Five reads over three days: the supervisor (three), the manager and the admin."""
    p = people
    day = timedelta(days=1)
    await _read(db, p["supervisor"], p["practitioner"], now - 2 * day, AccessReason.shared_with_me)
    await _read(db, p["supervisor"], p["practitioner"], now - day, AccessReason.supervision)
    await _read(db, p["manager"], p["practitioner"], now - day, AccessReason.management_oversight)
    await _read(db, p["supervisor"], p["other"], now, AccessReason.supervision)
    await _read(db, p["admin"], p["other"], now, AccessReason.administration)


async def _get(
    client: httpx.AsyncClient, app: FastAPI, who: Staff, url: str, **params: Any
) -> httpx.Response:
    return await client.get(url, params=params, headers=bearer(app, who))


async def test_admins_read_the_access_log_filtered_and_paged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    await _log(db, p, now)
    elsewhere = await _org(db, now)
    await _log(db, elsewhere, now)
    admin = p["admin"]

    everything = await _get(client, app, admin, ACCESS)
    assert everything.status_code == 200
    rows = everything.json()["data"]
    assert len(rows) == 5  # none of the other organisation's five
    assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)
    newest_first = {r["reader_id"] for r in rows[:2]}
    assert newest_first == {str(p["supervisor"].id), str(admin.id)}
    first = rows[-1]
    assert first["reader_name"] == p["supervisor"].display_name
    assert first["subject_name"] == "=HYPERLINK(evil)"
    assert first["reason"] == "shared_with_me"

    by_reader = await _get(client, app, admin, ACCESS, reader_id=str(p["supervisor"].id))
    assert len(by_reader.json()["data"]) == 3
    by_subject = await _get(client, app, admin, ACCESS, subject_id=str(p["practitioner"].id))
    assert {r["reader_id"] for r in by_subject.json()["data"]} == {
        str(p["supervisor"].id),
        str(p["manager"].id),
    }
    both = await _get(
        client,
        app,
        admin,
        ACCESS,
        reader_id=str(p["supervisor"].id),
        subject_id=str(p["other"].id),
    )
    assert len(both.json()["data"]) == 1
    either = await _get(client, app, admin, ACCESS, person_id=str(p["admin"].id))
    assert [r["subject_id"] for r in either.json()["data"]] == [str(p["other"].id)]
    yesterday = (now - timedelta(days=1)).date().isoformat()
    one_day = await _get(client, app, admin, ACCESS, **{"from": yesterday, "to": yesterday})
    assert len(one_day.json()["data"]) == 2
    since = await _get(client, app, admin, ACCESS, **{"from": yesterday})
    assert len(since.json()["data"]) == 4
    until = await _get(client, app, admin, ACCESS, to=yesterday)
    assert len(until.json()["data"]) == 3

    page = await _get(client, app, admin, ACCESS, limit=2)
    seen = [r["id"] for r in page.json()["data"]]
    while page.json()["next_cursor"] is not None:
        page = await _get(client, app, admin, ACCESS, limit=2, cursor=page.json()["next_cursor"])
        seen += [r["id"] for r in page.json()["data"]]
    assert seen == [r["id"] for r in rows]

    # Another organisation's person filters to nothing; its admin never sees these rows.
    foreign = await _get(client, app, admin, ACCESS, subject_id=str(elsewhere["other"].id))
    assert foreign.json()["data"] == []
    theirs = await _get(client, app, elsewhere["admin"], ACCESS)
    assert {r["id"] for r in theirs.json()["data"]}.isdisjoint(r["id"] for r in rows)
    assert len(theirs.json()["data"]) == 5


async def test_only_admins_may_read_either_audit(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    await _log(db, p, now)
    for url in (ACCESS, f"{ACCESS}.csv", AUDIT, f"{AUDIT}.csv"):
        for role in ("manager", "supervisor", "hr", "practitioner"):
            refused = await _get(client, app, p[role], url)
            assert refused.status_code == 403, (url, role)
            assert refused.headers["content-type"] == "application/problem+json"
        assert (await client.get(url)).status_code == 401
        assert (await _get(client, app, p["admin"], url)).status_code == 200
    # The refused reads of the access log are themselves audited (who tried, when).
    tried = await _get(client, app, p["admin"], AUDIT, endpoint="admin_access_log")
    statuses = sorted(r["status"] for r in tried.json()["data"])
    assert statuses.count(403) == 4


async def test_bad_filters_are_problems_and_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    before = (await db.exec(select(func.count()).select_from(AnalyticsAudit))).one()
    for params in (
        {"from": "2026-11-10", "to": "2026-11-01"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"cursor": "%%%"},
        {"reader_id": "not-a-uuid"},
        {"limit": "0"},
    ):
        bad = await _get(client, app, p["admin"], ACCESS, **params)
        assert bad.status_code == 422, params
        assert bad.headers["content-type"] == "application/problem+json"
    assert (await _get(client, app, p["admin"], f"{ACCESS}.csv", limit=10_001)).status_code == 422
    nul = await _get(client, app, p["admin"], AUDIT, endpoint="report\x00card")
    assert nul.status_code == 422
    assert (await db.exec(select(func.count()).select_from(AnalyticsAudit))).one() == before


async def test_the_access_log_as_csv_is_safe_in_a_spreadsheet_and_continues_by_link(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    await _log(db, p, now)
    first = await _get(client, app, p["admin"], f"{ACCESS}.csv", limit=3)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(first.text)))
    assert len(rows) == 3
    assert list(rows[0]) == [
        "at",
        "reader_id",
        "reader_name",
        "subject_id",
        "subject_name",
        "resource_type",
        "resource_id",
        "reason",
    ]
    link = first.headers["link"]
    assert link.endswith('>; rel="next"')
    rest = await client.get(link[1 : link.index(">")], headers=bearer(app, p["admin"]))
    rows += list(csv.DictReader(io.StringIO(rest.text)))
    assert "link" not in rest.headers
    assert len(rows) == 5
    names = {r["subject_name"] for r in rows}
    assert "'=HYPERLINK(evil)" in names  # neutralised: text, not a formula
    assert "=HYPERLINK(evil)" not in names


async def test_each_admin_read_of_the_access_log_is_audited_not_logged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    await _log(db, p, now)
    admin = p["admin"]

    def logged() -> Any:
        return (
            select(func.count())
            .select_from(AccessLog)
            .where(col(AccessLog.organisation_id) == admin.organisation_id)
        )

    before = (await db.exec(logged())).one()
    await _get(client, app, admin, ACCESS, subject_id=str(p["practitioner"].id))
    app.state.clock.advance(seconds=5)
    await _get(client, app, admin, f"{ACCESS}.csv")
    # Reading the log adds nothing to the log (no noise on the next read) ...
    assert (await db.exec(logged())).one() == before
    # ... and each read is one row of the analytics audit: who, which filters, how many.
    audit = (await _get(client, app, admin, AUDIT, actor_id=str(admin.id))).json()["data"]
    assert [r["endpoint"] for r in audit] == ["admin_access_log_csv", "admin_access_log"]
    filtered = audit[1]
    assert filtered["params"]["subject_id"] == str(p["practitioner"].id)
    assert filtered["released"] == 3
    assert filtered["status"] == 200
    assert filtered["actor_name"] == admin.display_name
    assert audit[0]["released"] == 5
    # Reading the audit itself is not recorded (it is the record of such reads).
    again = (await _get(client, app, admin, AUDIT, actor_id=str(admin.id))).json()["data"]
    assert len(again) == 2


async def test_admins_read_the_analytics_audit_of_their_organisation_only(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    p = await _org(db, now)
    elsewhere = await _org(db, now)
    hr = actor_for(p["hr"])
    await audit_analytics(
        db, hr, "analytics_wellbeing", {"by": "unit"}, now - timedelta(days=3), released=4
    )
    await audit_analytics(
        db, hr, "analytics_wellbeing_csv", {"by": "=cmd"}, now, released=2, suppressed=1
    )
    await audit_analytics(
        db, actor_for(p["manager"]), "report_card", {"unit_id": "x"}, now, status=404
    )
    await audit_analytics(db, actor_for(elsewhere["hr"]), "analytics_wellbeing", {}, now)

    listed = (await _get(client, app, p["admin"], AUDIT)).json()
    assert len(listed["data"]) == 3
    by_hr = (await _get(client, app, p["admin"], AUDIT, actor_id=str(p["hr"].id))).json()
    assert [r["endpoint"] for r in by_hr["data"]] == [
        "analytics_wellbeing_csv",
        "analytics_wellbeing",
    ]
    assert by_hr["data"][0]["suppressed"] == 1
    refused = (await _get(client, app, p["admin"], AUDIT, endpoint="report_card")).json()
    assert [r["status"] for r in refused["data"]] == [404]
    today = now.date().isoformat()
    recent = (await _get(client, app, p["admin"], AUDIT, **{"from": today})).json()
    assert len(recent["data"]) == 2
    foreign = await _get(client, app, p["admin"], AUDIT, actor_id=str(elsewhere["hr"].id))
    assert foreign.json()["data"] == []
    theirs = (await _get(client, app, elsewhere["admin"], AUDIT)).json()
    assert [r["actor_id"] for r in theirs["data"]] == [str(elsewhere["hr"].id)]

    as_csv = await _get(client, app, p["admin"], f"{AUDIT}.csv", actor_id=str(p["hr"].id))
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["endpoint"] for r in rows] == ["analytics_wellbeing_csv", "analytics_wellbeing"]
    assert rows[0]["params"] == "by==cmd"  # not at the start of the cell: no formula


def test_each_csv_download_documents_the_filters_of_its_json_twin(app: FastAPI) -> None:
    """A generated client sees the same filters, with the same words, on both (only the page
    size differs: up to 10,000 rows a file)."""
    paths = app.openapi()["paths"]
    for trail in ("access-log", "analytics-audit", "identity-audit"):
        json_params, csv_params = (
            {p["name"]: p for p in paths[f"/api/v1/admin/{name}"]["get"]["parameters"]}
            for name in (trail, f"{trail}.csv")
        )
        assert json_params.pop("limit")["schema"] != csv_params.pop("limit")["schema"]
        assert csv_params == json_params, trail
