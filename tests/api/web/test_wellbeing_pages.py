"""HR's wellbeing page and downloads: what the API releases, suppressed cells in words."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.staff import Role
from tests.api.test_wellbeing_analytics import _team
from tests.api.web.conftest import signed_in
from tests.conftest import FrozenClock
from tests.factories.analytics import PLAIN_RHO, publish, set_privacy
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of


async def test_the_page_and_its_downloads_show_what_the_api_releases(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=PLAIN_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    big = await make_unit(db, org, "Big Team", now=now)
    small = await make_unit(db, org, "=Small Team", now=now)
    await _team(db, org, big, 8, 18, app)
    await _team(db, org, small, 3, 12, app)
    clock.advance(days=40)
    await publish(db, org, app)
    await signed_in(web, db, app, hr)
    page = await web.get("/app/wellbeing?by=unit&period=month")
    assert page.status_code == 200
    assert "Not shown" in page.text
    assert "fewer than 5 people" in page.text
    assert "Big Team" in page.text
    api = await web.get(
        "/api/v1/analytics/wellbeing.csv?by=unit&period=month", headers=bearer(app, hr)
    )
    mine = await web.get("/app/wellbeing.csv?by=unit&period=month")
    assert mine.status_code == 200
    assert mine.text == api.text  # the same figures, byte for byte
    book = await web.get("/app/wellbeing.xlsx?by=unit&period=month")
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    csv_rows = list(csv.reader(io.StringIO(api.text)))
    assert [r[2] for r in rows] == [r[2] for r in csv_rows]
    assert "'=Small Team" in [r[2] for r in rows]
    small_rows = [r for r in rows[1:] if r[2] == "'=Small Team"]
    assert small_rows
    assert all(r[7] == "true" and r[3] is None for r in small_rows)


async def test_a_unit_from_another_organisation_is_not_found(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    org = await make_org(db, now=now_of(app))
    hr = await make_staff(db, org, Role.hr, now=now_of(app))
    elsewhere = await make_org(db, now=now_of(app))
    theirs = await make_unit(db, elsewhere, now=now_of(app))
    await signed_in(web, db, app, hr)
    for path in ("/app/wellbeing", "/app/wellbeing.csv", "/app/wellbeing.xlsx"):
        assert (await web.get(f"{path}?unit_id={theirs.id}")).status_code == 404
    bad = await web.get("/app/wellbeing?unit_id=not-a-unit")
    assert bad.status_code == 422
    assert "Choose a unit from the list" in bad.text
    assert (await web.get("/app/wellbeing?period=week")).status_code == 400


async def test_a_unit_with_a_role_or_tenure_breakdown_is_explained_on_the_page(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    hr = await make_staff(db, org, Role.hr, now=now)
    unit = await make_unit(db, org, "Assessment Team", now=now)
    await signed_in(web, db, app, hr)
    form = await web.get("/app/wellbeing")
    assert form.status_code == 200
    # The form says so before anyone chooses it.
    assert "Role and length of service are published for the whole organisation only." in (
        form.text
    )
    for by in ("role", "tenure_band"):
        page = await web.get(f"/app/wellbeing?by={by}&period=month&unit_id={unit.id}")
        assert page.status_code == 422
        # The GOV.UK error summary, linked to the unit field, and the form kept as chosen.
        assert "There is a problem" in page.text
        assert '<a href="#unit_id">' in page.text
        assert "choose \u201cThe whole organisation\u201d as the unit, or break down by unit" in (
            page.text
        )
        assert "govuk-select--error" in page.text
        assert f'<option value="{unit.id}" selected>' in page.text
        assert "Mean wellbeing by" not in page.text  # no figures, no download links
        assert "Download these figures" not in page.text
    # The organisation's role breakdown, and the unit by unit, still answer.
    assert (await web.get("/app/wellbeing?by=role&period=month")).status_code == 200
    assert (await web.get(f"/app/wellbeing?by=unit&unit_id={unit.id}")).status_code == 200
