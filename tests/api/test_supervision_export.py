"""Case decision export: decisions, rationale, actions and dates only, for those who may read."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from tests.api.test_supervision_sessions import _record, _recorded
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import make_team

EXPORT = "/api/v1/supervision/cases/CASE-001/decisions"
NEVER = (
    "distressing",  # support
    "duty rota",  # mediation
    "Caseload of 18",  # management
    "portfolio",  # development
    "Neglect indicators",  # Signs of Safety mapping
    "Grandmother",
)


async def test_export_has_decisions_and_actions_and_nothing_reflective(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    recorded = await _recorded(client, app, t)
    await client.post(
        f"/api/v1/supervision/sessions/{recorded['id']}/sign-off",
        json={"agreed": False, "comment": "Sign-off comment stays private"},
        headers=bearer(app, t.supervisee),
    )
    response = await client.get(EXPORT, headers=bearer(app, t.supervisor))
    assert response.status_code == 200
    body = response.json()
    assert body["case_reference"] == "CASE-001"
    [decision] = body["decisions"]
    assert decision["decision"] == "Convene strategy discussion by Friday."
    assert decision["rationale"] == "Escalating concerns over three visits."
    assert decision["held_on"] == "2026-11-20"
    assert decision["signed_off"] is True
    assert decision["supervisee_name"] == t.supervisee.display_name
    assert [a["description"] for a in body["actions"]] == ["Book strategy discussion"]
    assert body["actions"][0]["due_on"] == "2026-11-27"
    for text in (*NEVER, "Sign-off comment"):
        assert text not in response.text

    as_csv = await client.get(f"{EXPORT}.csv", headers=bearer(app, t.manager))
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["type"] for r in rows] == ["decision", "action"]
    assert rows[0]["decision"] == "Convene strategy discussion by Friday."
    assert rows[1]["action"] == "Book strategy discussion"
    assert rows[1]["action_status"] == "open"
    for text in NEVER:
        assert text not in as_csv.text

    logged = (
        await db.exec(
            select(AccessLog.reader_id).where(
                col(AccessLog.subject_id) == t.supervisee.id, col(AccessLog.reason) == "export"
            )
        )
    ).all()
    assert set(logged) == {t.supervisor.id, t.manager.id}


async def test_export_only_from_records_the_caller_may_read(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    await _recorded(client, app, t)
    for person in (t.supervisee, t.supervisor, t.manager, t.head):
        body = (await client.get(EXPORT, headers=bearer(app, person))).json()
        assert len(body["decisions"]) == 1, person.display_name
    for person in (t.admin, t.hr, t.colleague, t.other_manager, t.outsider):
        body = (await client.get(EXPORT, headers=bearer(app, person))).json()
        assert body["decisions"] == [], person.display_name
        assert body["actions"] == []
    other = (
        await client.get(EXPORT.replace("CASE-001", "CASE-002"), headers=bearer(app, t.supervisor))
    ).json()
    assert other["decisions"] == []
    too_long = await client.get(
        EXPORT.replace("CASE-001", "X" * 101), headers=bearer(app, t.supervisor)
    )
    assert too_long.status_code == 422


async def test_csv_cells_cannot_run_as_formulas(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    record = _record(t)
    record["case_discussions"][0]["decision"] = '=HYPERLINK("http://evil")'
    await _recorded(client, app, t, case_discussions=record["case_discussions"])
    as_csv = await client.get(f"{EXPORT}.csv", headers=bearer(app, t.supervisor))
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows[0]["decision"] == '\'=HYPERLINK("http://evil")'
