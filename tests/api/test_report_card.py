"""The report card: each figure against a hand computation, who may read it, the k-rule on
the feedback figures (at k-1 and k, and a unit against its parent), CSV, and the audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from models.supervision import SessionFeedback, SessionStatus, SupervisionSession
from models.wellbeing import MIN_K, AnalyticsAudit, WellbeingSettings
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.supervision import Team, make_session, make_team
from tests.factories.wellbeing import make_checkin

UNITS = "/api/v1/oversight/units"
# The clock is 2026-11-23: the last completed month is October, the one before September.


def at(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


async def _cancel(
    db: AsyncSession, t: Team, supervisee: Staff, by: Staff, on: date, now: datetime
) -> None:
    row = await make_session(db, supervisee, t.supervisor, now=now, scheduled_for=at(on))
    row.status = SessionStatus.cancelled
    row.cancelled_by = by.id
    row.cancelled_at = at(on)
    await db.flush()


async def _generated_unit(db: AsyncSession, now: datetime) -> Team:
    t = await make_team(db, now=now)
    second = await make_staff(db, t.org, unit=t.team, supervisor=t.supervisor, now=now)
    # October: A (on time, signed on time), B (60 minutes, written late, unsigned),
    # C (written the same day, signed late).
    a = await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=date(2026, 10, 5),
        status=SessionStatus.signed_off, recorded_at=at(date(2026, 10, 7)),
    )  # fmt: skip
    a.signed_off_at = at(date(2026, 10, 8))
    await make_session(
        db, second, t.supervisor, now=now, held_on=date(2026, 10, 20), held_minutes=60,
        recorded_at=at(date(2026, 10, 30)),
    )  # fmt: skip
    c = await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=date(2026, 10, 26),
        status=SessionStatus.signed_off,
    )  # fmt: skip
    c.signed_off_at = at(date(2026, 11, 10))
    await _cancel(db, t, t.supervisee, t.supervisor, date(2026, 10, 10), now)
    await _cancel(db, t, t.supervisee, t.supervisee, date(2026, 10, 12), now)
    await _cancel(db, t, second, t.manager, date(2026, 10, 14), now)
    # September: G, on time and signed the next day; one cancelled by the supervisee.
    g = await make_session(
        db, t.supervisee, t.supervisor, now=now, held_on=date(2026, 9, 7),
        status=SessionStatus.signed_off,
    )  # fmt: skip
    g.signed_off_at = at(date(2026, 9, 8))
    await _cancel(db, t, t.supervisee, t.supervisee, date(2026, 9, 15), now)
    # Outside the periods, or outside the unit: never counted.
    await make_session(db, second, t.supervisor, now=now, held_on=date(2026, 11, 2))
    elsewhere = await make_staff(db, t.org, unit=t.other_team, now=now)
    await make_session(db, elsewhere, t.other_manager, now=now, held_on=date(2026, 10, 6))
    await db.flush()
    return t


async def test_each_figure_matches_a_hand_computation(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await _generated_unit(db, now)
    answer = await client.get(
        f"{UNITS}/{t.team.id}/report-card?period=month", headers=bearer(app, t.manager)
    )
    assert answer.status_code == 200, answer.text
    card = answer.json()
    assert card["current_period_start"] == "2026-10-01"
    assert card["current_period_end"] == "2026-10-31"
    assert card["previous_period_start"] == "2026-09-01"
    much = card["how_much"]
    assert much["sessions_held"] == {"current": 3, "previous": 1}
    assert much["people_supervised"] == {"current": 2, "previous": 1}
    assert much["cancellations"] == {"current": 3, "previous": 1}
    assert much["cancelled_by_supervisor"] == {"current": 1, "previous": 0}
    assert much["cancelled_by_supervisee"] == {"current": 1, "previous": 1}
    assert much["cancelled_by_manager"] == {"current": 1, "previous": 0}
    well = card["how_well"]
    # In post: supervisor, supervisee, colleague, second. Only the supervisee is within
    # cadence on 31 October (last counted 26 October) and on 30 September (7 September);
    # B was 60 minutes and does not count, so `second` is overdue.
    assert well["staff_count"] == {"current": 4, "previous": 4}
    assert well["within_cadence_rate"] == {"current": 0.25, "previous": 0.25}
    assert well["written_on_time_rate"] == {"current": 0.6667, "previous": 1.0}
    assert well["signed_on_time_rate"] == {"current": 0.3333, "previous": 1.0}
    assert well["at_least_minimum_rate"] == {"current": 0.6667, "previous": 1.0}
    quarter = await client.get(
        f"{UNITS}/{t.team.id}/report-card?period=quarter", headers=bearer(app, t.hr)
    )
    assert quarter.status_code == 200
    q = quarter.json()
    assert q["current_period_start"] == "2026-07-01"
    assert q["previous_period_start"] == "2026-04-01"
    assert q["how_much"]["sessions_held"] == {"current": 1, "previous": 0}  # G only
    csv = await client.get(
        f"{UNITS}/{t.team.id}/report-card.csv?period=month", headers=bearer(app, t.head)
    )
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0] == "section,figure,current,previous,current_n,previous_n"
    assert "how_much,sessions_held,3,1,," in lines
    assert "how_well,signed_on_time_rate,0.3333,1.0,," in lines
    assert "better_off,helpful_mean,suppressed,suppressed,," in lines
    assert "better_off,wellbeing_direction,,,," in lines


async def test_who_may_read_the_report_card(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    t = await make_team(db, now=now)
    url = f"{UNITS}/{t.team.id}/report-card?period=month"
    for person in (t.manager, t.head, t.hr):
        assert (await client.get(url, headers=bearer(app, person))).status_code == 200
    for person in (t.supervisor, t.supervisee, t.colleague, t.admin):
        assert (await client.get(url, headers=bearer(app, person))).status_code == 403
    for person in (t.other_manager, t.outsider):
        assert (await client.get(url, headers=bearer(app, person))).status_code == 404
    assert (
        await client.get(f"{UNITS}/{t.team.id}/report-card?period=week", headers=bearer(app, t.hr))
    ).status_code == 422
    audits = (
        await db.exec(select(AnalyticsAudit).where(col(AnalyticsAudit.endpoint) == "report_card"))
    ).all()
    # Every call is audited, refused ones too, with what each was answered; a malformed
    # request (422) read nothing and asked for nothing it may not have.
    assert sorted((a.actor_id, a.status) for a in audits) == sorted(
        [(p.id, 200) for p in (t.manager, t.head, t.hr)]
        + [(p.id, 403) for p in (t.supervisor, t.supervisee, t.colleague, t.admin)]
        + [(p.id, 404) for p in (t.other_manager, t.outsider)]
    )


async def _rated_team(
    db: AsyncSession, org: Organisation, unit: Unit, supervisor: Staff, ratings: list[int],
    now: datetime,
) -> list[Staff]:  # fmt: skip
    people = []
    for i, value in enumerate(ratings):
        person = await make_staff(db, org, unit=unit, supervisor=supervisor, now=now)
        held = await make_session(db, person, supervisor, now=now, held_on=date(2026, 10, 5 + i))
        db.add(
            SessionFeedback(
                organisation_id=org.id, session_id=held.id, helpful=value,
                felt_safe=6 - value, created_at=at(date(2026, 10, 5 + i)),
                unit_path=[*([str(unit.parent_id)] if unit.parent_id else []), str(unit.id)],
            )
        )  # fmt: skip
        people.append(person)
    await db.flush()
    return people


async def _org_with_k(db: AsyncSession, now: datetime) -> tuple[Organisation, Staff]:
    org = await make_org(db, now=now)
    db.add(WellbeingSettings(organisation_id=org.id, k_threshold=MIN_K, updated_at=now))
    hr = await make_staff(db, org, Role.hr, now=now)
    await db.flush()
    return org, hr


async def _better_off(
    client: httpx.AsyncClient, app: FastAPI, unit: Unit, reader: Staff
) -> dict[str, Any]:
    answer = await client.get(
        f"{UNITS}/{unit.id}/report-card?period=month", headers=bearer(app, reader)
    )
    assert answer.status_code == 200, answer.text
    better: dict[str, Any] = answer.json()["better_off"]
    return better


async def test_feedback_is_released_at_k_and_suppressed_at_k_minus_one(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    # Two organisations, one unit each (in one organisation, the unit at k beside the unit
    # at k-1 would itself be suppressed: see the differencing test).
    now = now_of(app)
    org, hr = await _org_with_k(db, now)
    other_org, other_hr = await _org_with_k(db, now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    other_supervisor = await make_staff(db, other_org, Role.supervisor, now=now)
    at_k = await make_unit(db, org, now=now)
    below = await make_unit(db, other_org, now=now)
    ratings = [1, 2, 4, 5, 3]
    assert len(ratings) == MIN_K
    await _rated_team(db, org, at_k, supervisor, ratings, now)
    await _rated_team(db, other_org, below, other_supervisor, ratings[:-1], now)
    released = await _better_off(client, app, at_k, hr)
    assert released["helpful"]["current"] == {"n": MIN_K, "mean": 3.0, "suppressed": False}
    assert released["felt_safe"]["current"] == {"n": MIN_K, "mean": 3.0, "suppressed": False}
    assert released["helpful"]["previous"] == {"n": None, "mean": None, "suppressed": True}
    hidden = await _better_off(client, app, below, other_hr)
    for measure in ("helpful", "felt_safe"):
        assert hidden[measure]["current"] == {"n": None, "mean": None, "suppressed": True}


async def test_a_unit_and_its_parent_cannot_be_differenced(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """Parent released with n people and its big child with n-1 would give away the lone
    person in the small child: complementary suppression hides the big child too."""
    now = now_of(app)
    org, hr = await _org_with_k(db, now)
    head = await make_staff(db, org, Role.manager, now=now)
    lead = await make_staff(db, org, Role.manager, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    parent = await make_unit(db, org, manager=head, now=now)
    big = await make_unit(db, org, parent=parent, manager=lead, now=now)
    small = await make_unit(db, org, parent=parent, now=now)
    await _rated_team(db, org, big, supervisor, [1, 2, 4, 5, 3, 2], now)
    [lone] = await _rated_team(db, org, small, supervisor, [5], now)
    whole = await _better_off(client, app, parent, hr)
    assert whole["helpful"]["current"]["suppressed"] is False
    assert whole["helpful"]["current"]["n"] == 7
    for reader in (hr, lead):
        child = await _better_off(client, app, big, reader)
        assert child["helpful"]["current"]["suppressed"] is True
        assert child["felt_safe"]["current"]["suppressed"] is True
    alone = await _better_off(client, app, small, hr)
    assert alone["helpful"]["current"]["suppressed"] is True
    # Nothing in any answer lets anyone solve for the lone person's rating.
    stored = (
        await db.exec(
            select(SessionFeedback)
            .join(SupervisionSession, col(SupervisionSession.id) == col(SessionFeedback.session_id))
            .where(col(SupervisionSession.supervisee_id) == lone.id)
        )
    ).one()
    assert stored.helpful == 5


async def test_wellbeing_direction_under_the_k_rule(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org, hr = await _org_with_k(db, now)
    unit = await make_unit(db, org, now=now)
    people = [await make_staff(db, org, unit=unit, now=now) for _ in range(MIN_K)]
    for i, person in enumerate(people):
        await make_checkin(db, person, at=at(date(2026, 9, 10)), wellbeing=10 + 2 * i)
        await make_checkin(db, person, at=at(date(2026, 10, 10)), wellbeing=12 + 2 * i)
    answer = await client.get(
        f"{UNITS}/{unit.id}/report-card?period=month", headers=bearer(app, hr)
    )
    assert answer.status_code == 200, answer.text
    wellbeing = answer.json()["wellbeing"]
    assert wellbeing["instrument"] == "pulse"
    assert wellbeing["previous"] == {"n": MIN_K, "mean": 14.0, "suppressed": False}
    assert wellbeing["current"] == {"n": MIN_K, "mean": 16.0, "suppressed": False}
    assert wellbeing["direction"] == "up"
    # One fewer person in another organisation: nothing shown, so no direction either.
    small_org, small_hr = await _org_with_k(db, now)
    small = await make_unit(db, small_org, now=now)
    for i in range(MIN_K - 1):
        person = await make_staff(db, small_org, unit=small, now=now)
        await make_checkin(db, person, at=at(date(2026, 9, 10)), wellbeing=10 + 2 * i)
        await make_checkin(db, person, at=at(date(2026, 10, 10)), wellbeing=12 + 2 * i)
    hidden = await client.get(
        f"{UNITS}/{small.id}/report-card?period=month", headers=bearer(app, small_hr)
    )
    assert hidden.json()["wellbeing"]["current"] == {"n": None, "mean": None, "suppressed": True}
    assert hidden.json()["wellbeing"]["direction"] is None


async def test_a_late_rating_or_a_move_never_changes_a_completed_period(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """Ratings count in the period they were given, placed by the unit the supervisee was
    in then: data of a completed period never changes, so two calls a day apart cannot be
    differenced to recover the one rating that arrived (or moved) in between."""
    now = now_of(app)
    org, hr = await _org_with_k(db, now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    unit = await make_unit(db, org, now=now)
    elsewhere = await make_unit(db, org, now=now)
    raters = await _rated_team(db, org, unit, supervisor, [1, 2, 4, 5, 3], now)
    before = await _better_off(client, app, unit, hr)
    assert before["helpful"]["current"]["n"] == MIN_K
    late = await make_staff(db, org, unit=unit, supervisor=supervisor, now=now)
    october = await make_session(db, late, supervisor, now=now, held_on=date(2026, 10, 20))
    rated = await client.post(
        f"/api/v1/supervision/sessions/{october.id}/feedback",
        json={"helpful": 1, "felt_safe": 1},
        headers=bearer(app, late),
    )
    assert rated.status_code == 201
    stored = (
        await db.exec(select(SessionFeedback).where(col(SessionFeedback.session_id) == october.id))
    ).one()
    assert stored.unit_path == [str(unit.id)]
    raters[0].unit_id = elsewhere.id
    await db.flush()
    after = await _better_off(client, app, unit, hr)
    assert after == before
