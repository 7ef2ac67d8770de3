"""The analytics as XLSX: `/analytics/wellbeing.xlsx` (the CSV route refuses `format=xlsx`)."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.staff import Role
from models.wellbeing import AnalyticsAudit
from tests.api.test_wellbeing_analytics import _team
from tests.conftest import FrozenClock
from tests.factories.analytics import PLAIN_RHO, publish, set_privacy
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of

ANALYTICS = "/api/v1/analytics/wellbeing"


async def test_xlsx_has_the_csvs_figures_with_formulas_neutralised(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=PLAIN_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    unit = await make_unit(db, org, '=HYPERLINK("http://evil.example","x")', now=now)
    await _team(db, org, unit, 8, 18, app)
    clock.advance(days=40)
    await publish(db, org, app)
    query = "?period=month&by=unit"
    response = await client.get(f"{ANALYTICS}.xlsx{query}", headers=bearer(app, hr))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="wellbeing.xlsx"' in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "period", "group", "label", "n", "mean", "low", "high", "suppressed", "reason", "k"
    )  # fmt: skip
    labels = [r[2] for r in rows[1:]]
    assert "'" + unit.name in labels
    assert unit.name not in labels
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    as_csv = await client.get(f"{ANALYTICS}.csv{query}", headers=bearer(app, hr))
    csv_rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert len(csv_rows) == len(rows)
    released = [r for r in rows[1:] if r[7] == "false"]
    assert released
    assert all(isinstance(r[3], int) for r in released)
    assert [str(r[3]) for r in released] == [r[3] for r in csv_rows[1:] if r[7] == "false"]
    audits = (
        await db.exec(
            select(AnalyticsAudit.endpoint).where(col(AnalyticsAudit.organisation_id) == org.id)
        )
    ).all()
    assert "analytics_wellbeing_xlsx" in audits


async def test_csv_refuses_format_xlsx_instead_of_ignoring_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    hr = await make_staff(db, org, Role.hr, now=now_of(app))
    response = await client.get(f"{ANALYTICS}.csv?format=xlsx", headers=bearer(app, hr))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    ok = await client.get(f"{ANALYTICS}.csv?format=csv", headers=bearer(app, hr))
    assert ok.status_code == 200


async def test_xlsx_is_for_hr_in_their_own_organisation(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    manager = await make_staff(db, org, Role.manager, Role.admin, now=now_of(app))
    assert (await client.get(f"{ANALYTICS}.xlsx", headers=bearer(app, manager))).status_code == 403
    elsewhere = await make_org(db, now=now_of(app))
    their_unit = await make_unit(db, elsewhere, now=now_of(app))
    hr = await make_staff(db, org, Role.hr, now=now_of(app))
    response = await client.get(
        f"{ANALYTICS}.xlsx?unit_id={their_unit.id}", headers=bearer(app, hr)
    )
    assert response.status_code == 404
