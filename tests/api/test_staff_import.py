"""`POST /staff/import`: CSV from the HR system, all or nothing, errors by line number."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.staff import Cohort, Staff
from tests.api.test_org import build_council
from tests.factories.directory import bearer


async def _post(client: httpx.AsyncClient, headers: dict[str, str], text: str) -> httpx.Response:
    return await client.post(
        "/api/v1/staff/import",
        content=text.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )


async def _count(db: AsyncSession) -> int:
    return (await db.exec(select(func.count()).select_from(Staff))).one()


async def test_import_creates_and_updates(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    council = await build_council(db, app)
    csv_text = (
        "email,display_name,roles,unit,supervisor_email,cohort,started_on,timezone\n"
        # a supervisor defined later in the same file
        f"ana@council.example,Ana,practitioner,Assessment,bo@council.example,asye,2026-09-01,\n"
        f"bo@council.example,Bo,practitioner;supervisor,{council.team.id},,qualified,2020-01-06,"
        "Europe/London\n"
        f"{council.colleague.email},Renamed Colleague,practitioner,Assessment,,,2019-05-01,\n"
    )
    response = await _post(client, bearer(app, council.admin), csv_text)
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 2, "updated": 1, "invitations": []}

    ana = (await db.exec(select(Staff).where(col(Staff.email) == "ana@council.example"))).one()
    bo = (await db.exec(select(Staff).where(col(Staff.email) == "bo@council.example"))).one()
    assert ana.supervisor_id == bo.id
    assert ana.cohort == Cohort.asye
    assert ana.unit_id == council.team.id
    assert ana.password_hash is None  # imported people get no password
    assert sorted(bo.roles) == ["practitioner", "supervisor"]
    await db.refresh(council.colleague)
    assert council.colleague.display_name == "Renamed Colleague"
    assert council.colleague.version == 2


async def test_any_bad_line_rejects_the_whole_file(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    council = await build_council(db, app)
    other = await build_council(db, app)
    before = await _count(db)
    csv_text = (
        "email,display_name,started_on,unit,cohort,supervisor_email,timezone\n"
        "good@council.example,Good,2026-01-05,Assessment,,,\n"  # line 2 fine
        "not-an-email,Bad,2026-01-05,,,,\n"  # line 3
        "c@council.example,C,05/01/2026,,,,\n"  # line 4
        "d@council.example,D,2026-01-05,No Such Team,wizard,,\n"  # line 5 (two errors)
        "e@council.example,E,2026-01-05,,,ghost@council.example,\n"  # line 6
        "good@council.example,Again,2026-01-05,,,,\n"  # line 7 duplicate of line 2
        f"{other.practitioner.email},Theirs,2026-01-05,,,,\n"  # line 8 another tenant's
        "f@council.example,F,2026-01-05,,,,Mars/Base\n"  # line 9
    )
    response = await _post(client, bearer(app, council.admin), csv_text)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (3, "email"),
        (4, "started_on"),
        (5, "cohort"),
        (5, "unit"),
        (6, "supervisor_email"),
        (7, "email"),
        (8, "email"),
        (9, "timezone"),
    ]
    assert await _count(db) == before


async def test_header_problems_are_reported_on_line_one(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    council = await build_council(db, app)
    response = await _post(client, bearer(app, council.admin), "mail,name,salary\nx,y,z\n")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["line"], e["field"], e["msg"]) for e in errors} >= {
        (1, "email", "required column missing"),
        (1, "salary", "unknown column"),
    }


async def test_only_admins_import(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    council = await build_council(db, app)
    response = await _post(
        client, bearer(app, council.team_manager), "email,display_name,started_on\n"
    )
    assert response.status_code == 403


async def test_non_utf8_file_is_a_problem(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    council = await build_council(db, app)
    response = await client.post(
        "/api/v1/staff/import",
        content=b"email,display_name,started_on\n\xff\xfe,x,2026-01-01\n",
        headers={**bearer(app, council.admin), "Content-Type": "text/csv"},
    )
    assert response.status_code == 422


async def test_nul_bytes_and_broken_csv_are_problems_not_crashes(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    council = await build_council(db, app)
    before = await _count(db)
    for text in (
        "email,display_name,started_on\nx@c.example,A\x00B,2026-01-01\n",
        'email,display_name,started_on\nx@c.example,"unclosed,2026-01-01\n',
    ):
        response = await _post(client, bearer(app, council.admin), text)
        assert response.status_code == 422, text
        assert response.headers["content-type"] == "application/problem+json"
    assert await _count(db) == before


async def test_nul_in_a_json_body_is_422(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    council = await build_council(db, app)
    response = await client.post(
        "/api/v1/staff",
        json={"email": "n@c.example", "display_name": "N\x00", "started_on": "2026-01-01"},
        headers=bearer(app, council.admin),
    )
    assert response.status_code == 422
