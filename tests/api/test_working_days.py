"""Working days: deadlines skip weekends, the nation's bank holidays (shipped as data,
replaceable by `harbour bank-holidays import`) and the organisation's closure days."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.calendar import BankHoliday, Nation, parse_govuk, replace_bank_holidays
from models.errors import Invalid
from models.supervision import SupervisionPolicyRow
from supervision.policy import write_up_due_on
from supervision.policy_store import load_policy
from tests.api.test_cli import harbour, scalar
from tests.conftest import BACKENDS, PG_TEST_DB, pg_url, recreate_pg_database
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import make_session, make_team

CLOSURES = "/api/v1/supervision/closure-days"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'holidays.db'}"
    name = f"{PG_TEST_DB}_holidays"
    asyncio.run(recreate_pg_database(name))
    return pg_url(name)


async def _nation(db: AsyncSession, organisation_id: uuid.UUID, nation: Nation) -> None:
    db.add(
        SupervisionPolicyRow(
            organisation_id=organisation_id,
            asye_weekly_weeks=6,
            asye_weekly_interval_days=7,
            asye_fortnightly_months=6,
            asye_fortnightly_interval_days=14,
            asye_interval_days=28,
            qualified_interval_days=28,
            manager_interval_days=28,
            student_interval_days=7,
            other_interval_days=28,
            minimum_minutes=90,
            counted_kinds=["one_to_one"],
            write_up_working_days=5,
            sign_off_working_days=5,
            bank_holidays=[],
            nation=nation.value,
            updated_at=datetime(2026, 11, 23, tzinfo=UTC),
        )
    )
    await db.flush()


@pytest.mark.parametrize(
    ("nation", "start", "days", "due"),
    [
        # Christmas 2026 (Boxing Day's substitute Monday 28th) and New Year 2027.
        (Nation.england_and_wales, date(2026, 12, 24), 5, date(2027, 1, 5)),
        # Easter 2027: Good Friday and Easter Monday in England, Good Friday only in Scotland.
        (Nation.england_and_wales, date(2027, 3, 25), 5, date(2027, 4, 5)),
        (Nation.scotland, date(2027, 3, 25), 5, date(2027, 4, 2)),
        # Scotland's 2 January (substitute Monday 4 January 2027) and St Andrew's Day.
        (Nation.scotland, date(2026, 12, 31), 1, date(2027, 1, 5)),
        (Nation.england_and_wales, date(2026, 12, 31), 1, date(2027, 1, 4)),
        (Nation.scotland, date(2026, 11, 27), 1, date(2026, 12, 1)),
        (Nation.england_and_wales, date(2026, 11, 27), 1, date(2026, 11, 30)),
        # Northern Ireland's 12 July (Battle of the Boyne, Monday 12 July 2027).
        (Nation.northern_ireland, date(2027, 7, 9), 1, date(2027, 7, 13)),
        (Nation.england_and_wales, date(2027, 7, 9), 1, date(2027, 7, 12)),
    ],
)
async def test_deadlines_skip_the_nations_bank_holidays(
    db: AsyncSession, app: FastAPI, nation: Nation, start: date, days: int, due: date
) -> None:
    t = await make_team(db, now=now_of(app))
    await _nation(db, t.org.id, nation)
    policy = replace(await load_policy(db, t.org.id), write_up_working_days=days)
    assert write_up_due_on(policy, start) == due


async def test_shipped_data_covers_this_year_and_the_next_two(db: AsyncSession) -> None:
    for nation in Nation:
        days = await db.exec(
            select(col(BankHoliday.day)).where(col(BankHoliday.nation) == nation.value)
        )
        years = {d.year for d in days.all()}
        assert {2026, 2027, 2028} <= years, nation


async def test_closure_days_admin_adds_and_removes_and_deadlines_follow(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    session = await make_session(
        db,
        t.supervisee,
        t.supervisor,
        now=now,
        scheduled_for=datetime(2026, 11, 23, 10, tzinfo=UTC),
    )
    url = f"/api/v1/supervision/sessions/{session.id}"
    before = (await client.get(url, headers=bearer(app, t.supervisor))).json()
    assert before["write_up_due_on"] == "2026-11-30"
    body = {"day": "2026-11-27", "name": "Staff conference"}
    for who in (t.supervisor, t.manager, t.hr, t.supervisee):
        refused = await client.post(CLOSURES, json=body, headers=bearer(app, who))
        assert refused.status_code == 403
    added = await client.post(CLOSURES, json=body, headers=bearer(app, t.admin))
    assert added.status_code == 201
    assert (await client.post(CLOSURES, json=body, headers=bearer(app, t.admin))).status_code == 200
    renamed = await client.post(
        CLOSURES, json=body | {"name": "Other"}, headers=bearer(app, t.admin)
    )
    assert renamed.status_code == 409
    after = (await client.get(url, headers=bearer(app, t.supervisor))).json()
    assert after["write_up_due_on"] == "2026-12-01"
    # Everyone in the organisation reads the list; another organisation sees none of it.
    listed = await client.get(CLOSURES, headers=bearer(app, t.supervisee))
    assert [d["day"] for d in listed.json()["data"]] == ["2026-11-27"]
    assert (await client.get(CLOSURES, headers=bearer(app, t.outsider))).json()["data"] == []
    outsider_delete = await client.delete(f"{CLOSURES}/2026-11-27", headers=bearer(app, t.outsider))
    assert outsider_delete.status_code == 204
    assert len((await client.get(CLOSURES, headers=bearer(app, t.admin))).json()["data"]) == 1
    assert (
        await client.delete(f"{CLOSURES}/2026-11-27", headers=bearer(app, t.supervisor))
    ).status_code == 403
    removed = await client.delete(f"{CLOSURES}/2026-11-27", headers=bearer(app, t.admin))
    assert removed.status_code == 204
    again = (await client.get(url, headers=bearer(app, t.supervisor))).json()
    assert again["write_up_due_on"] == "2026-11-30"


async def test_closure_days_page_in_date_order(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    for day in ("2026-12-29", "2026-12-24", "2026-12-30"):
        made = await client.post(
            CLOSURES, json={"day": day, "name": "Closed"}, headers=bearer(app, t.admin)
        )
        assert made.status_code == 201
    first = await client.get(f"{CLOSURES}?limit=2", headers=bearer(app, t.admin))
    assert [d["day"] for d in first.json()["data"]] == ["2026-12-24", "2026-12-29"]
    rest = await client.get(
        f"{CLOSURES}?limit=2&cursor={first.json()['next_cursor']}", headers=bearer(app, t.admin)
    )
    assert [d["day"] for d in rest.json()["data"]] == ["2026-12-30"]
    ranged = await client.get(
        f"{CLOSURES}?from=2026-12-25&to=2026-12-29", headers=bearer(app, t.admin)
    )
    assert [d["day"] for d in ranged.json()["data"]] == ["2026-12-29"]
    bad = await client.get(f"{CLOSURES}?cursor=nonsense", headers=bearer(app, t.admin))
    assert bad.status_code == 422


async def test_policy_names_the_nation(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    got = await client.get("/api/v1/supervision/policy", headers=bearer(app, t.admin))
    assert got.json()["nation"] == "england_and_wales"
    put = await client.put(
        "/api/v1/supervision/policy",
        json=got.json() | {"nation": "scotland"},
        headers=bearer(app, t.admin) | {"If-Match": got.headers["ETag"]},
    )
    assert put.status_code == 200
    assert (await load_policy(db, t.org.id)).nation is Nation.scotland
    wrong = await client.put(
        "/api/v1/supervision/policy",
        json=got.json() | {"nation": "wales"},
        headers=bearer(app, t.admin) | {"If-Match": put.headers["ETag"]},
    )
    assert wrong.status_code == 422


async def test_replacing_a_nations_days(db: AsyncSession) -> None:
    doc = {
        "scotland": {
            "division": "scotland",
            "events": [{"title": "Test day", "date": "2029-01-02"}],
        }
    }
    counts = await replace_bank_holidays(db, parse_govuk(doc))
    assert counts == {"scotland": 1}
    with pytest.raises(Invalid):
        parse_govuk({"wales": {"events": []}})
    with pytest.raises(Invalid):
        parse_govuk({"scotland": {"events": [{"title": "x", "date": "not a date"}]}})


def test_the_import_command_replaces_from_a_govuk_file(database_url: str, tmp_path: Path) -> None:
    harbour(database_url, "migrate")
    assert (
        scalar(database_url, "SELECT count(*) FROM bank_holidays WHERE nation = 'scotland'") == 45
    )
    path = tmp_path / "bank-holidays.json"
    path.write_text(
        json.dumps(
            {
                "scotland": {
                    "division": "scotland",
                    "events": [
                        {"title": "New Year", "date": "2029-01-01", "notes": "", "bunting": True}
                    ],
                }
            }
        ),
        encoding="utf-8",
    )
    out = harbour(database_url, "bank-holidays", "import", str(path))
    assert "scotland: 1 bank holidays" in out
    assert scalar(database_url, "SELECT count(*) FROM bank_holidays WHERE nation = 'scotland'") == 1
    assert (
        scalar(database_url, "SELECT count(*) FROM bank_holidays WHERE nation = 'northern_ireland'")
        == 50
    )
