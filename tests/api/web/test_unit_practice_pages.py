"""A manager's unit page says, per person, whether a supervision agreement is in place and
whether its review is overdue (sortable, filterable), and counts group sessions apart."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.staff import Role
from models.group_supervision import Attendance
from tests.api.web.conftest import signed_in
from tests.factories.directory import make_staff, now_of
from tests.factories.supervision import make_agreement, make_group, make_team


def _people(html: str) -> list[str]:
    body = html.split('id="people-table"', 1)[1].split("</tbody>", 1)[0]
    rows = body.split('<tr class="govuk-table__row">')[2:]  # less the heading row
    return [re.sub(r"<[^>]+>", " ", r) for r in rows]


async def test_the_unit_page_shows_agreements_and_group_sessions(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    today = now.date()
    team = await make_team(db, now=now)
    team.supervisee.display_name = "Ada Overdue"
    current = await make_staff(db, team.org, unit=team.team, supervisor=team.supervisor, now=now)
    current.display_name = "Bea Current"
    team.colleague.display_name = "Cy Without"
    team.supervisor.display_name = "Dee Supervisor"
    await make_agreement(
        db,
        team.supervisee,
        team.supervisor,
        now=now,
        starts_on=today - timedelta(days=200),
        review_due_on=today - timedelta(days=10),
        in_force_at=now - timedelta(days=200),
    )
    await make_agreement(
        db,
        current,
        team.supervisor,
        now=now,
        starts_on=today - timedelta(days=30),
        review_due_on=today + timedelta(days=60),
        in_force_at=now - timedelta(days=30),
    )
    await make_group(
        db,
        team.supervisor,
        [(team.supervisee, Attendance.attended), (current, Attendance.absent)],
        now=now,
        held_on=today - timedelta(days=5),
    )
    await signed_in(web, db, app, team.manager)
    url = f"/app/units/{team.team.id}"

    page = await web.get(url)
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Supervision agreement in place 2 of 4; 1 overdue for review" in text
    assert "1 group sessions held, attended by 1 people" in text
    rows = {r.split()[0] + " " + r.split()[1]: " ".join(r.split()) for r in _people(page.text)}
    assert "Review overdue since" in rows["Ada Overdue"]
    assert "In place, review" in rows["Bea Current"]
    assert "No agreement" in rows["Cy Without"]
    # group sessions attended in the last 90 days, apart from one-to-ones
    assert re.search(r"Ada Overdue .* 1 0 0 Review overdue", rows["Ada Overdue"])
    assert re.search(r"Bea Current .* 0 0 0 In place", rows["Bea Current"])

    none = await web.get(url, params={"status": "no_agreement"})
    assert sorted(r.split()[0] for r in _people(none.text)) == ["Cy", "Dee"]
    overdue = await web.get(url, params={"status": "agreement_review_overdue"})
    assert [r.split()[0] for r in _people(overdue.text)] == ["Ada"]
    by_agreement = await web.get(url, params={"sort": "agreement", "order": "desc"})
    assert [r.split()[0] for r in _people(by_agreement.text)][:2] == ["Bea", "Ada"]
    by_groups = await web.get(url, params={"sort": "groups", "order": "desc"})
    assert _people(by_groups.text)[0].split()[0] == "Ada"

    trend = await web.get(f"{url}/trend")
    assert "Group sessions held" in trend.text

    # The supervisor's own page shows the same columns for their supervisees.
    team.supervisor.roles = [Role.supervisor.value]
    await signed_in(web, db, app, team.supervisor)
    mine = await web.get("/app/supervisees")
    assert "Review overdue since" in mine.text
    assert "Supervision agreement" in mine.text
