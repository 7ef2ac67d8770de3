"""The report card: each figure against a hand computation, who may read it, the k-rule on
the feedback figures (at k-1 and k, and a unit against its parent), CSV, and the audit."""

from __future__ import annotations

from csv import DictReader
from datetime import UTC, date, datetime, time
from io import StringIO
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from models.supervision import SessionFeedback, SessionStatus
from models.wellbeing import MIN_K, AnalyticsAudit, WellbeingSettings
from tests.factories.analytics import PLAIN_RHO
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.supervision import Team, make_session, make_team
from tests.factories.wellbeing import make_checkin
from wellbeing.publish import publish_due

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
    assert lines[0] == (
        "section,figure,current,previous,current_n,previous_n,"
        "current_low,current_high,previous_low,previous_high"
    )
    assert "how_much,sessions_held,3,1,,,,,," in lines
    assert "how_well,signed_on_time_rate,0.3333,1.0,,,,,," in lines
    assert "better_off,helpful_mean,suppressed,suppressed,,,,,," in lines
    assert "better_off,wellbeing_direction,,,,,,,," in lines


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
    db.add(
        WellbeingSettings(
            organisation_id=org.id, k_threshold=MIN_K, year_rho=PLAIN_RHO, updated_at=now
        )
    )
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


def _about(figure: dict[str, Any], n: int, mean: float) -> None:
    """A shown published figure near the truth (the test budget makes the noise tiny)."""
    assert figure["suppressed"] is False, str(figure)
    assert figure["n"] == n
    assert abs(figure["mean"] - mean) < 0.05
    assert figure["low"] <= figure["mean"] <= figure["high"]


async def test_feedback_is_shown_above_k_and_suppressed_below(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org, hr = await _org_with_k(db, now)
    other_org, other_hr = await _org_with_k(db, now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    other_supervisor = await make_staff(db, other_org, Role.supervisor, now=now)
    at_k = await make_unit(db, org, now=now)
    below = await make_unit(db, other_org, now=now)
    # k + 1 people (a group of exactly k clears the noise margin only about half the time)
    ratings = [1, 2, 4, 5, 3, 3]
    await _rated_team(db, org, at_k, supervisor, ratings, now)
    await _rated_team(db, other_org, below, other_supervisor, ratings[: MIN_K - 1], now)
    unpublished = await _better_off(client, app, at_k, hr)
    assert unpublished["helpful"]["current"]["suppressed"] is True
    assert "not published" in unpublished["helpful"]["current"]["reason"]
    for which in (org, other_org):
        await publish_due(db, which.id, now, since=date(2026, 9, 1))
    released = await _better_off(client, app, at_k, hr)
    _about(released["helpful"]["current"], MIN_K + 1, 3.0)
    _about(released["felt_safe"]["current"], MIN_K + 1, 3.0)
    assert released["helpful"]["previous"]["suppressed"] is True  # nobody rated in September
    hidden = await _better_off(client, app, below, other_hr)
    for measure in ("helpful", "felt_safe"):
        assert hidden[measure]["current"]["suppressed"] is True
        assert hidden[measure]["current"]["n"] is None
    # The CSV carries the same n and 95% interval as the JSON; hidden ones stay empty.
    download = await client.get(
        f"{UNITS}/{at_k.id}/report-card.csv?period=month", headers=bearer(app, hr)
    )
    rows = {r["figure"]: r for r in DictReader(StringIO(download.text))}
    shown, before = released["helpful"]["current"], released["helpful"]["previous"]
    assert rows["helpful_mean"]["current"] == str(shown["mean"])
    assert rows["helpful_mean"]["current_n"] == str(shown["n"])
    assert float(rows["helpful_mean"]["current_low"]) == shown["low"]
    assert float(rows["helpful_mean"]["current_high"]) == shown["high"]
    assert before["suppressed"] is True
    assert rows["helpful_mean"]["previous"] == "suppressed"
    assert rows["helpful_mean"]["previous_low"] == rows["helpful_mean"]["previous_high"] == ""
    hidden_csv = await client.get(
        f"{UNITS}/{below.id}/report-card.csv?period=month", headers=bearer(app, other_hr)
    )
    hidden_rows = {r["figure"]: r for r in DictReader(StringIO(hidden_csv.text))}
    assert hidden_rows["felt_safe_mean"]["current"] == "suppressed"
    assert hidden_rows["felt_safe_mean"]["current_low"] == ""


async def test_wellbeing_direction_follows_the_intervals(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org, hr = await _org_with_k(db, now)
    unit = await make_unit(db, org, now=now)
    people = [await make_staff(db, org, unit=unit, now=now) for _ in range(MIN_K + 1)]
    for i, person in enumerate(people):
        await make_checkin(db, person, at=at(date(2026, 9, 10)), wellbeing=10 + 2 * (i % 5))
        await make_checkin(db, person, at=at(date(2026, 10, 10)), wellbeing=12 + 2 * (i % 5))
    await publish_due(db, org.id, now, since=date(2026, 9, 1))
    answer = await client.get(
        f"{UNITS}/{unit.id}/report-card?period=month", headers=bearer(app, hr)
    )
    assert answer.status_code == 200, answer.text
    wellbeing = answer.json()["wellbeing"]
    assert wellbeing["instrument"] == "pulse"
    truth = sum(10 + 2 * (i % 5) for i in range(MIN_K + 1)) / (MIN_K + 1)
    _about(wellbeing["previous"], MIN_K + 1, truth)
    _about(wellbeing["current"], MIN_K + 1, truth + 2)
    assert wellbeing["direction"] == "up"
    # Too few people in another organisation: nothing shown, so no direction either.
    small_org, small_hr = await _org_with_k(db, now)
    small = await make_unit(db, small_org, now=now)
    for i in range(MIN_K - 2):
        person = await make_staff(db, small_org, unit=small, now=now)
        await make_checkin(db, person, at=at(date(2026, 9, 10)), wellbeing=10 + 2 * i)
        await make_checkin(db, person, at=at(date(2026, 10, 10)), wellbeing=12 + 2 * i)
    await publish_due(db, small_org.id, now, since=date(2026, 9, 1))
    hidden = await client.get(
        f"{UNITS}/{small.id}/report-card?period=month", headers=bearer(app, small_hr)
    )
    assert hidden.json()["wellbeing"]["current"]["suppressed"] is True
    assert hidden.json()["wellbeing"]["direction"] is None


async def test_a_late_rating_or_a_move_never_changes_a_completed_period(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """A period is decided once: a rating given later, or a supervisee who moves, changes
    nothing already published, so two calls a day apart cannot be differenced."""
    now = now_of(app)
    org, hr = await _org_with_k(db, now)
    supervisor = await make_staff(db, org, Role.supervisor, now=now)
    unit = await make_unit(db, org, now=now)
    elsewhere = await make_unit(db, org, now=now)
    raters = await _rated_team(db, org, unit, supervisor, [1, 2, 4, 5, 3, 4], now)
    await publish_due(db, org.id, now, since=date(2026, 9, 1))
    before = await _better_off(client, app, unit, hr)
    assert before["helpful"]["current"]["n"] == MIN_K + 1
    late = await make_staff(db, org, unit=unit, supervisor=supervisor, now=now)
    october = await make_session(db, late, supervisor, now=now, held_on=date(2026, 10, 20))
    rated = await client.post(
        f"/api/v1/supervision/sessions/{october.id}/feedback",
        json={"helpful": 1, "felt_safe": 1},
        headers=bearer(app, late),
    )
    assert rated.status_code == 201
    raters[0].unit_id = elsewhere.id
    await db.flush()
    await publish_due(db, org.id, now, since=date(2026, 9, 1))
    after = await _better_off(client, app, unit, hr)
    assert after == before
