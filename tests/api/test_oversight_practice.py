"""Oversight, the trend and the report card show agreements and group supervision: per person
whether an agreement is in place and its review overdue, and group sessions counted apart
from one-to-ones (sessions held, people reached); attended groups count toward cadence only
when the organisation's policy says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.staff import Staff
from models.group_supervision import Attendance
from models.supervision import SessionStatus
from tests.factories.directory import bearer, make_staff, now_of
from tests.factories.supervision import (
    Team,
    make_absence,
    make_agreement,
    make_group,
    make_session,
    make_team,
)

TODAY = date(2026, 11, 23)
UNITS = "/api/v1/oversight/units"
ATTENDED, ABSENT = Attendance.attended, Attendance.absent


def at(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


@dataclass
class Practice:
    t: Team
    fine: Staff  # team; agreement in force, review not due
    away: Staff  # other team; a superseded agreement and a draft
    moved: Staff  # team; agreement with a former supervisor


async def _practice(db: AsyncSession, now: datetime) -> Practice:
    t = await make_team(db, now=now)
    fine = await make_staff(db, t.org, unit=t.team, supervisor=t.supervisor, now=now)
    away = await make_staff(db, t.org, unit=t.other_team, supervisor=t.supervisor, now=now)
    moved = await make_staff(db, t.org, unit=t.team, supervisor=t.colleague, now=now)
    sup = t.supervisor
    await make_agreement(
        db, t.supervisee, sup, now=now, starts_on=date(2026, 6, 1),
        review_due_on=date(2026, 9, 1), in_force_at=at(date(2026, 6, 1)),
    )  # fmt: skip
    await make_agreement(
        db, fine, sup, now=now, starts_on=date(2026, 11, 1),
        review_due_on=date(2027, 2, 1), in_force_at=at(date(2026, 11, 1)),
    )  # fmt: skip
    await make_agreement(
        db, away, sup, now=now, starts_on=date(2026, 7, 1), review_due_on=date(2027, 7, 1),
        in_force_at=at(date(2026, 7, 1)), superseded_at=at(date(2026, 10, 15)),
    )  # fmt: skip
    await make_agreement(
        db, away, sup, now=now, starts_on=date(2026, 11, 20),
        review_due_on=date(2027, 11, 20), in_force_at=None, number=2,
    )  # fmt: skip
    await make_agreement(
        db, moved, sup, now=now, starts_on=date(2026, 8, 1),
        review_due_on=date(2026, 11, 1), in_force_at=at(date(2026, 8, 1)),
    )  # fmt: skip
    # Three group sessions: ten days ago, forty days ago (October), and 120 days ago.
    everyone = [t.supervisee, fine, away, moved]
    await make_group(
        db, sup, list(zip(everyone, (ATTENDED, ATTENDED, ATTENDED, ABSENT), strict=True)),
        now=now, held_on=TODAY - timedelta(days=10),
    )  # fmt: skip
    await make_group(
        db, sup, list(zip(everyone, (ATTENDED, ATTENDED, ABSENT, ATTENDED), strict=True)),
        now=now, held_on=TODAY - timedelta(days=40),
    )  # fmt: skip
    await make_group(
        db, sup, [(p, ATTENDED) for p in everyone], now=now, held_on=TODAY - timedelta(days=120)
    )
    return Practice(t, fine, away, moved)


def _rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["staff_id"]: row for row in body["staff"]}


async def _count_groups(client: httpx.AsyncClient, app: FastAPI, p: Practice) -> None:
    policy = await client.get("/api/v1/supervision/policy", headers=bearer(app, p.t.admin))
    await client.put(
        "/api/v1/supervision/policy",
        json={**policy.json(), "counted_kinds": ["one_to_one", "group"]},
        headers={**bearer(app, p.t.admin), "If-Match": policy.headers["ETag"]},
    )


async def test_oversight_shows_agreements_and_group_sessions_apart(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _practice(db, now_of(app))
    t = p.t
    response = await client.get(
        f"{UNITS}/{t.directorate.id}/supervision", headers=bearer(app, t.head)
    )
    body = response.json()
    rows = _rows(body)
    supervisee = rows[str(t.supervisee.id)]
    assert supervisee["agreement_in_place"] is True
    assert supervisee["agreement_review_due_on"] == "2026-09-01"
    assert supervisee["agreement_review_overdue"] is True
    assert supervisee["group_sessions_last_90_days"] == 2
    fine = rows[str(p.fine.id)]
    assert (fine["agreement_in_place"], fine["agreement_review_overdue"]) == (True, False)
    assert fine["group_sessions_last_90_days"] == 2
    for person in (p.away, p.moved, t.supervisor, t.colleague):
        assert rows[str(person.id)]["agreement_in_place"] is False
        assert rows[str(person.id)]["agreement_review_due_on"] is None
    assert rows[str(p.away.id)]["group_sessions_last_90_days"] == 1
    assert rows[str(p.moved.id)]["group_sessions_last_90_days"] == 1
    assert rows[str(t.supervisor.id)]["group_sessions_last_90_days"] == 0
    # Unit figures: each group session once, however many of the unit were there.
    assert body["agreement_in_place_count"] == 2
    assert body["agreement_review_overdue_count"] == 1
    assert body["group_sessions_last_90_days"] == 2
    assert body["group_people_reached_last_90_days"] == 4
    children = {u["unit_id"]: u for u in body["units"]}
    team = children[str(t.team.id)]
    assert (team["agreement_in_place_count"], team["agreement_review_overdue_count"]) == (2, 1)
    assert team["group_sessions_last_90_days"] == 2
    assert team["group_people_reached_last_90_days"] == 3
    other = children[str(t.other_team.id)]
    assert (other["group_sessions_last_90_days"], other["group_people_reached_last_90_days"]) == (
        1,
        1,
    )
    # One-to-one figures are untouched: a group session never counts by default.
    assert supervisee["last_held_on"] is None
    # HR: the same counts, nobody's row.
    hr = (
        await client.get(f"{UNITS}/{t.directorate.id}/supervision", headers=bearer(app, t.hr))
    ).json()
    assert hr["staff"] == []
    assert hr["agreement_in_place_count"] == 2
    assert hr["group_people_reached_last_90_days"] == 4
    # The supervisor's own view has the same per-person fields.
    mine = await client.get(
        "/api/v1/oversight/supervisees/supervision", headers=bearer(app, t.supervisor)
    )
    assert _rows(mine.json())[str(t.supervisee.id)]["agreement_review_overdue"] is True

    await _count_groups(client, app, p)
    counted = _rows(
        (
            await client.get(f"{UNITS}/{t.directorate.id}/supervision", headers=bearer(app, t.head))
        ).json()
    )
    assert counted[str(t.supervisee.id)]["last_held_on"] == "2026-11-13"
    assert counted[str(p.moved.id)]["last_held_on"] == "2026-10-14"  # absent from the later one


async def test_counted_group_sessions_start_the_absence_window_when_they_are_the_later(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    # The people's absences are read with them, from the day after the later of their last
    # one-to-one and their last counted group session: only absences from then move the date.
    now = now_of(app)
    p = await _practice(db, now)
    t = p.t
    days = timedelta(days=1)
    # `fine`: a one-to-one 60 days ago, the group 10 days ago the later. Leave 30-20 days ago
    # (before the window) moves nothing; 5-3 days ago moves the due date 3 days.
    await make_session(
        db,
        p.fine,
        t.supervisor,
        now=now,
        held_on=TODAY - 60 * days,
        status=SessionStatus.signed_off,
    )
    await make_absence(db, p.fine, TODAY - 30 * days, TODAY - 20 * days, now=now)
    await make_absence(db, p.fine, TODAY - 5 * days, TODAY - 3 * days, now=now)
    # The supervisee: the one-to-one 2 days ago the later; leave 8-6 days ago moves nothing.
    await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=TODAY - 2 * days,
        status=SessionStatus.signed_off,
    )  # fmt: skip
    await make_absence(db, t.supervisee, TODAY - 8 * days, TODAY - 6 * days, now=now)
    await _count_groups(client, app, p)
    for url, person in (
        (f"{UNITS}/{t.directorate.id}/supervision", t.head),
        ("/api/v1/oversight/supervisees/supervision", t.supervisor),
    ):
        rows = _rows((await client.get(url, headers=bearer(app, person))).json())
        fine, supervisee = rows[str(p.fine.id)], rows[str(t.supervisee.id)]
        assert (fine["last_held_on"], fine["next_due_on"]) == ("2026-11-13", "2026-12-14")
        assert (supervisee["last_held_on"], supervisee["next_due_on"]) == (
            "2026-11-21",
            "2026-12-19",
        )


async def test_the_trend_counts_group_sessions_by_month(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _practice(db, now_of(app))
    url = f"{UNITS}/{p.t.directorate.id}/supervision/trend?months=3"
    months = (await client.get(url, headers=bearer(app, p.t.head))).json()["months"]
    assert [m["month"] for m in months] == ["2026-09", "2026-10", "2026-11"]
    assert [m["group_sessions_held"] for m in months] == [0, 1, 1]
    assert [m["group_people_reached"] for m in months] == [0, 3, 3]
    assert [m["sessions_held"] for m in months] == [0, 0, 0]  # one-to-ones only
    assert [m["compliant_count"] for m in months] == [0, 0, 0]
    await _count_groups(client, app, p)
    months = (await client.get(url, headers=bearer(app, p.t.head))).json()["months"]
    # With groups counted: supervisee, fine and moved on 31 October (14 October's group);
    # on 23 November supervisee, fine and away (13 November's), moved overdue since the 11th.
    assert [m["compliant_count"] for m in months] == [0, 3, 3]


async def test_the_report_card_counts_agreements_and_groups(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    p = await _practice(db, now_of(app))
    url = f"{UNITS}/{p.t.team.id}/report-card?period=month"
    card = (await client.get(url, headers=bearer(app, p.t.manager))).json()
    practice = card["practice"]
    # October (current) beside September; the team is supervisor, supervisee, colleague,
    # fine and moved.
    assert practice["group_sessions_held"] == {"current": 1, "previous": 0}
    assert practice["group_people_reached"] == {"current": 3, "previous": 0}
    # In force on 31 October: supervisee (review overdue since 1 September) and moved (due
    # 1 November); fine's started in November. On 30 September the same two.
    assert practice["agreements_in_place"] == {"current": 2, "previous": 2}
    assert practice["agreement_reviews_overdue"] == {"current": 1, "previous": 1}
    assert card["how_much"]["sessions_held"] == {"current": 0, "previous": 0}
    assert card["how_well"]["within_cadence_rate"]["current"] == 0.0
    directorate = await client.get(
        f"{UNITS}/{p.t.directorate.id}/report-card?period=month", headers=bearer(app, p.t.hr)
    )
    # Away's agreement was in force on 30 September and superseded on 15 October.
    assert directorate.json()["practice"]["agreements_in_place"] == {"current": 2, "previous": 3}
    as_csv = await client.get(
        f"{UNITS}/{p.t.team.id}/report-card.csv?period=month", headers=bearer(app, p.t.manager)
    )
    lines = as_csv.text.splitlines()
    assert "practice,group_sessions_held,1,0,,,,,," in lines
    assert "practice,agreements_in_place,2,2,,,,,," in lines

    await _count_groups(client, app, p)
    card = (await client.get(url, headers=bearer(app, p.t.manager))).json()
    # Counted groups: supervisee, fine and moved attended on 14 October: 3 of 5 within.
    assert card["how_well"]["within_cadence_rate"]["current"] == 0.6
    assert card["how_much"]["sessions_held"] == {"current": 0, "previous": 0}
