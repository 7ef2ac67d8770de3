"""Policy, absences and cadence status over HTTP, for every role."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.absence import Absence
from models.directory.staff import Cohort
from models.supervision import SessionKind
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import make_absence, make_session, make_team

POLICY = "/api/v1/supervision/policy"
STATUS = "/api/v1/supervision/status"
TODAY = date(2026, 11, 23)  # the test clock's date


def _policy(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "asye_weekly_weeks": 6,
        "asye_weekly_interval_days": 7,
        "asye_fortnightly_months": 6,
        "asye_fortnightly_interval_days": 14,
        "asye_interval_days": 28,
        "qualified_interval_days": 28,
        "manager_interval_days": 28,
        "student_interval_days": 7,
        "other_interval_days": 28,
        "minimum_minutes": 90,
        "counted_kinds": ["one_to_one"],
        "write_up_working_days": 5,
        "sign_off_working_days": 5,
        "bank_holidays": [],
        "group_min_attendees": 4,
        "group_max_attendees": 10,
        "agreement_first_review_months": 3,
        "agreement_review_months": 12,
        "nation": "england_and_wales",
    }
    body.update(changes)
    return body


# The body a client written before issue 16 sends: the four newer values left out.
OLDER = (
    "group_min_attendees",
    "group_max_attendees",
    "agreement_first_review_months",
    "agreement_review_months",
)


async def test_policy_defaults_are_standard_5_and_admins_replace_them(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    got = await client.get(POLICY, headers=bearer(app, t.supervisee))
    assert got.status_code == 200
    assert got.json() == _policy()
    assert got.headers["ETag"] == '"1"'

    wanted = _policy(qualified_interval_days=21, bank_holidays=["2026-12-25", "2026-12-28"])
    put = await client.put(POLICY, json=wanted, headers={**bearer(app, t.admin), "If-Match": '"1"'})
    assert put.status_code == 200
    assert put.json() == wanted
    assert put.headers["ETag"] == '"2"'
    again = await client.get(POLICY, headers=bearer(app, t.manager))
    assert again.json()["qualified_interval_days"] == 21

    stale = await client.put(
        POLICY, json=_policy(), headers={**bearer(app, t.admin), "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    missing = await client.put(POLICY, json=_policy(), headers=bearer(app, t.admin))
    assert missing.status_code == 428
    # A client that predates the group and agreement values still replaces the policy; those
    # take their defaults.
    older = {k: v for k, v in _policy().items() if k not in OLDER}
    replaced = await client.put(
        POLICY, json=older, headers={**bearer(app, t.admin), "If-Match": put.headers["ETag"]}
    )
    assert replaced.status_code == 200
    assert replaced.json() == _policy()
    # The other organisation still has the defaults.
    theirs = await client.get(POLICY, headers=bearer(app, t.outsider))
    assert theirs.json()["qualified_interval_days"] == 28


async def test_policy_changes_need_admin_and_valid_values(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    match = {"If-Match": '"1"'}
    for person in (t.manager, t.hr, t.supervisor):
        denied = await client.put(POLICY, json=_policy(), headers={**bearer(app, person), **match})
        assert denied.status_code == 403
    for bad in (
        _policy(qualified_interval_days=0),
        _policy(counted_kinds=[]),
        _policy(counted_kinds=["coffee"]),
        _policy(bank_holidays=["not-a-date"]),
        _policy(surprise=1),
        {"qualified_interval_days": 21},
        _policy(group_min_attendees=6, group_max_attendees=5),
        _policy(group_max_attendees=31),
        _policy(agreement_review_months=0),
    ):
        response = await client.put(POLICY, json=bad, headers={**bearer(app, t.admin), **match})
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(POLICY, headers=bearer(app, t.admin))).json() == _policy()


async def _absence_count(db: AsyncSession) -> int:
    return (await db.exec(select(func.count(col(Absence.id))))).one()


async def test_absences_by_manager_admin_or_the_person(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    leave = {"starts_on": "2026-12-01", "ends_on": "2026-12-05", "kind": "annual_leave"}
    url = f"/api/v1/staff/{t.supervisee.id}/absences"
    for person in (t.manager, t.head, t.admin):
        made = await client.post(url, json=leave, headers=bearer(app, person))
        assert made.status_code == 201, person.display_name
        assert made.json()["staff_id"] == str(t.supervisee.id)
    mine = await client.post("/api/v1/me/absences", json=leave, headers=bearer(app, t.supervisee))
    assert mine.status_code == 201
    assert await _absence_count(db) == 4

    # No manager role: 403. A manager of another team, or another organisation: 404.
    for person, status in (
        (t.supervisor, 403),
        (t.hr, 403),
        (t.supervisee, 403),
        (t.other_manager, 404),
        (t.outsider, 404),
    ):
        denied = await client.post(url, json=leave, headers=bearer(app, person))
        assert denied.status_code == status, person.display_name
    backwards = {**leave, "ends_on": "2026-11-30"}
    assert (await client.post(url, json=backwards, headers=bearer(app, t.admin))).status_code == 422
    assert (
        await client.post(url, json={**leave, "kind": "holiday"}, headers=bearer(app, t.admin))
    ).status_code == 422
    assert await _absence_count(db) == 4

    listed = await client.get(url, headers=bearer(app, t.manager))
    assert len(listed.json()["data"]) == 4
    assert (await client.get(url, headers=bearer(app, t.other_manager))).status_code == 404
    own = await client.get("/api/v1/me/absences?limit=2", headers=bearer(app, t.supervisee))
    assert len(own.json()["data"]) == 2
    assert own.json()["next_cursor"]
    assert (await client.get("/api/v1/me/absences", headers=bearer(app, t.colleague))).json()[
        "data"
    ] == []

    gone = await client.delete(
        f"/api/v1/me/absences/{mine.json()['id']}", headers=bearer(app, t.supervisee)
    )
    assert gone.status_code == 204
    assert await _absence_count(db) == 3


async def test_a_managers_own_absence_has_two_addresses_and_one_life(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    # A manager records their own leave at /staff/{their id}/absences: the same absence is at
    # /me/absences/{id}, and withdrawn at one address it is gone at the other (404, nothing
    # left). The fuzz's stateful check cannot know this (schemathesis.toml).
    t = await make_team(db, now=now_of(app))
    leave = {"starts_on": "2026-12-01", "ends_on": "2026-12-05", "kind": "annual_leave"}
    mine = f"/api/v1/staff/{t.manager.id}/absences"
    made = await client.post(mine, json=leave, headers=bearer(app, t.manager))
    assert made.status_code == 201
    absence_id = made.json()["id"]
    listed = await client.get("/api/v1/me/absences", headers=bearer(app, t.manager))
    assert [a["id"] for a in listed.json()["data"]] == [absence_id]

    gone = await client.delete(f"/api/v1/me/absences/{absence_id}", headers=bearer(app, t.manager))
    assert gone.status_code == 204
    again = await client.delete(f"{mine}/{absence_id}", headers=bearer(app, t.manager))
    assert again.status_code == 404
    assert again.json()["detail"] == "No such absence."
    assert await _absence_count(db) == 0


async def test_status_counts_from_the_last_counted_session(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    last = TODAY - timedelta(days=35)
    await make_session(db, t.supervisee, t.supervisor, now=now, held_on=last)
    # None of these count: too short, a group session, cancelled/unheld, scheduled.
    await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=TODAY - timedelta(days=10), held_minutes=89
    )
    await make_session(
        db,
        t.supervisee,
        t.supervisor,
        now=now,
        held_on=TODAY - timedelta(days=5),
        kind=SessionKind.group,
    )
    await make_session(db, t.supervisee, t.supervisor, now=now)

    response = await client.get(STATUS, headers=bearer(app, t.supervisee))
    assert response.status_code == 200
    assert response.json() == {
        "staff_id": str(t.supervisee.id),
        "cohort": "qualified",
        "interval_days": 28,
        "last_held_on": last.isoformat(),
        "next_due_on": (last + timedelta(days=28)).isoformat(),
        "days_overdue": 7,
        "on_leave": False,
    }

    # Five days of leave in the window push the due date by five days.
    await make_absence(
        db, t.supervisee, last + timedelta(days=3), last + timedelta(days=7), now=now
    )
    paused = (await client.get(STATUS, headers=bearer(app, t.supervisee))).json()
    assert paused["next_due_on"] == (last + timedelta(days=33)).isoformat()
    assert paused["days_overdue"] == 2

    await make_absence(
        db, t.supervisee, TODAY - timedelta(days=1), TODAY + timedelta(days=2), now=now
    )
    on_leave = (await client.get(STATUS, headers=bearer(app, t.supervisee))).json()
    assert on_leave["on_leave"] is True
    # Leave that starts after the due date is outside the window: still overdue.
    assert on_leave["next_due_on"] == (last + timedelta(days=33)).isoformat()
    assert on_leave["days_overdue"] == 2


async def test_status_follows_the_policy_counting_group_sessions(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    group_day = TODAY - timedelta(days=3)
    await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=group_day, kind=SessionKind.group
    )
    before = (await client.get(STATUS, headers=bearer(app, t.supervisee))).json()
    assert before["last_held_on"] is None
    assert before["next_due_on"] == (t.supervisee.started_on + timedelta(days=28)).isoformat()
    put = await client.put(
        POLICY,
        json=_policy(counted_kinds=["one_to_one", "group"]),
        headers={**bearer(app, t.admin), "If-Match": '"1"'},
    )
    assert put.status_code == 200
    after = (await client.get(STATUS, headers=bearer(app, t.supervisee))).json()
    assert after["last_held_on"] == group_day.isoformat()
    assert after["days_overdue"] == 0


async def test_asye_status_shows_the_interval_in_force_today(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    started = TODAY - timedelta(days=43)  # past six weeks: fortnightly now
    t = await make_team(db, now=now, cohort=Cohort.asye, started_on=started)
    last = started + timedelta(days=40)  # in the weekly phase
    await make_session(db, t.supervisee, t.supervisor, now=now, held_on=last)
    body = (await client.get(STATUS, headers=bearer(app, t.supervisee))).json()
    assert body["interval_days"] == 14
    assert body["next_due_on"] == (last + timedelta(days=7)).isoformat()
    assert body["days_overdue"] == 0


async def test_who_may_see_someones_status(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    url = f"{STATUS}?staff_id={t.supervisee.id}"
    for person in (t.supervisee, t.supervisor, t.manager, t.head, t.admin):
        response = await client.get(url, headers=bearer(app, person))
        assert response.status_code == 200, person.display_name
        assert response.json()["staff_id"] == str(t.supervisee.id)
    for person in (t.colleague, t.other_manager, t.hr, t.outsider):
        response = await client.get(url, headers=bearer(app, person))
        assert response.status_code == 404, person.display_name
    # A supervisee cannot see their own supervisor's status.
    up = await client.get(f"{STATUS}?staff_id={t.supervisor.id}", headers=bearer(app, t.supervisee))
    assert up.status_code == 404
