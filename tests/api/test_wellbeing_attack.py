"""Issue 14's attacks, replayed through the API as the insider would make them.

Each one used to recover someone's exact answer. Now every figure is decided once with
noise and stored: the insider's action (a k change, a restructure, a move, a second
check-in) changes no published number, and the stored figures the attack would subtract
carry noise, so nothing exact comes out. The figures the insider sees are the stored
ones; the tests look at the stored rows too, which is everything any reader could ever be
shown at any k. A moderate budget (ATTACK_RHO) is used so that figures are shown at all in
councils this small; the noise is what the default budget gives, only smaller.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.analytics.periods import TENURE_BANDS
from models.analytics.tables import PublishedFigure
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from models.supervision import SessionFeedback
from tests.conftest import FrozenClock
from tests.factories.analytics import figure, publish, set_privacy, stored
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.supervision import make_session
from tests.factories.wellbeing import make_checkin

ATTACK_RHO = 200.0
ANALYTICS = "/api/v1/analytics/wellbeing"
NOVEMBER = date(2026, 11, 1)


def _noisy(row: PublishedFigure, true_count: int, true_mean: float | None) -> None:
    """The stored figure is not the truth: its count is not a whole number of people and
    its mean (when the noisy count leaves one) is not the exact mean. And the noise is wide
    enough that the figure cannot be read as the truth rounded: the count's noise is more
    than half a person, the mean's interval far wider than the two decimals it is shown
    to. (The noisy mean itself may still round to the truth by chance, which reveals
    nothing: the reader cannot tell that it did. Asserting it does not made the test fail
    about once in a hundred runs.)"""
    assert row.count != true_count
    assert row.count != round(row.count)
    assert row.count_sd > 0.5
    if true_mean is not None and row.mean is not None:
        assert row.mean != true_mean
        assert row.low is not None
        assert row.high is not None
        assert row.high - row.low > 0.5


async def _council(
    db: AsyncSession, app: FastAPI, *, k: int = 5
) -> tuple[Organisation, Staff, Staff, Unit, Unit, list[Unit], Staff]:
    """A directorate with a director in it, two services (a head of service directly in the
    first), three teams of eight under them; everyone checks in once in November."""
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=k, year_rho=ATTACK_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    directorate = await make_unit(db, org, "Directorate", now=now)
    s1 = await make_unit(db, org, "Service 1", parent=directorate, now=now)
    s2 = await make_unit(db, org, "Service 2", parent=directorate, now=now)
    teams = [
        await make_unit(db, org, "Team A", parent=s1, now=now),
        await make_unit(db, org, "Team B", parent=s1, now=now),
        await make_unit(db, org, "Team C", parent=s2, now=now),
    ]
    director = await make_staff(db, org, Role.manager, unit=directorate, now=now)
    head = await make_staff(db, org, Role.manager, unit=s1, now=now)
    s1.manager_id = head.id
    await make_checkin(db, director, at=now, wellbeing=13)
    await make_checkin(db, head, at=now, wellbeing=17)
    for t, team in enumerate(teams):
        for i in range(8):
            person = await make_staff(db, org, Role.practitioner, unit=team, now=now)
            await make_checkin(db, person, at=now, wellbeing=8 + (i + t) % 9)
    await db.flush()
    return org, hr, admin, directorate, s1, teams, head


async def _csv(client: httpx.AsyncClient, app: FastAPI, who: Staff, query: str) -> bytes:
    response = await client.get(f"{ANALYTICS}.csv{query}", headers=bearer(app, who))
    assert response.status_code == 200, response.text
    return response.content


def _shown(body: bytes) -> dict[tuple[str, str], dict[str, str]]:
    rows = csv.DictReader(io.StringIO(body.decode()))
    return {
        (r["period"], r["group"]): {k: v for k, v in r.items() if k != "k"}
        for r in rows
        if r["suppressed"] == "false"
    }


async def test_a_k_change_between_downloads_recovers_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    org, hr, admin, directorate, s1, teams, head = await _council(db, app, k=10)
    clock.advance(days=40)
    await publish(db, org, app)
    query = f"?period=month&by=unit&unit_id={directorate.id}"
    before_rows, before_csv = await stored(db, org), await _csv(client, app, hr, query)
    settings = "/api/v1/wellbeing/settings"
    etag = (await client.get(settings, headers=bearer(app, admin))).headers["etag"]
    changed = await client.put(
        settings, json={"k": 5}, headers={**bearer(app, admin), "If-Match": etag}
    )
    assert changed.status_code == 200
    await publish(db, org, app)
    after_csv = await _csv(client, app, hr, query)
    assert await stored(db, org) == before_rows  # nothing re-decided
    before, after = _shown(before_csv), _shown(after_csv)
    assert before  # the download showed figures
    for key, row in before.items():
        assert after[key] == row  # a figure shown under both k is the same figure
    # What the old engine gave away exactly (the director's 13, by directorate minus its
    # services) now has noise in every term of the subtraction.
    month = NOVEMBER
    whole = await figure(db, org, "wellbeing", month, str(directorate.id))
    parts = [await figure(db, org, "wellbeing", month, str(s.id)) for s in (s1, *teams[2:3])]
    assert [p.parent for p in parts] == [str(directorate.id), str(teams[2].parent_id)]
    alone = await figure(db, org, "wellbeing", month, f"{directorate.id}:direct")
    _noisy(alone, 1, 13.0)
    assert whole.mean is not None
    assert whole.count != round(whole.count)


async def test_a_restructure_re_decides_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    org, hr, admin, directorate, s1, teams, head = await _council(db, app)
    clock.advance(days=40)
    await publish(db, org, app)
    queries = [f"?period=month&by=unit&unit_id={u.id}" for u in (directorate, s1)]
    before_rows = await stored(db, org)
    before = [await _csv(client, app, hr, q) for q in queries]
    # Team C moves under Service 1.
    url = f"/api/v1/org/units/{teams[2].id}"
    etag = (await client.get(url, headers=bearer(app, admin))).headers["etag"]
    moved = await client.patch(
        url, json={"parent_id": str(s1.id)}, headers={**bearer(app, admin), "If-Match": etag}
    )
    assert moved.status_code == 200
    await publish(db, org, app)
    assert await stored(db, org) == before_rows
    assert [await _csv(client, app, hr, q) for q in queries] == before
    # The head of service, alone directly in Service 1, is a noisy figure, never exact.
    _noisy(await figure(db, org, "wellbeing", NOVEMBER, f"{s1.id}:direct"), 1, 17.0)


async def test_a_same_answer_cell_is_not_recovered(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=ATTACK_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    service = await make_unit(db, org, "Service", now=now)
    same = await make_unit(db, org, "Same", parent=service, now=now)
    other = await make_unit(db, org, "Other", parent=service, now=now)
    head = await make_staff(db, org, Role.manager, unit=service, now=now)
    service.manager_id = head.id
    supervisor = await make_staff(db, org, Role.supervisor, unit=other, now=now)
    october = datetime(2026, 10, 12, 10, tzinfo=UTC)
    for _ in range(5):
        person = await make_staff(db, org, unit=same, supervisor=supervisor, now=now)
        await make_checkin(db, person, at=october, wellbeing=15)  # all five answer 15
        held = await make_session(db, person, supervisor, now=now, held_on=date(2026, 10, 5))
        db.add(
            SessionFeedback(
                organisation_id=org.id, session_id=held.id, helpful=5, felt_safe=4,
                created_at=october, unit_path=[str(service.id), str(same.id)],
            )
        )  # fmt: skip
    for i in range(9):
        person = await make_staff(db, org, unit=other, now=now)
        await make_checkin(db, person, at=october, wellbeing=6 + i)
    await db.flush()
    await publish(db, org, app, since=date(2026, 10, 1))
    month = date(2026, 10, 1)
    _noisy(await figure(db, org, "wellbeing", month, str(same.id)), 5, 15.0)
    _noisy(await figure(db, org, "feedback_helpful", month, str(same.id)), 5, 5.0)
    # Subtracting the sibling from the parent gives a noisy total, not 5 x 15.
    parent = await figure(db, org, "wellbeing", month, str(service.id))
    sibling = await figure(db, org, "wellbeing", month, str(other.id))
    assert parent.mean is not None
    assert sibling.mean is not None
    difference = parent.mean * parent.count - sibling.mean * sibling.count
    assert round(difference, 2) != 75.0
    # The report card's feedback, as HR and as the head of service read it.
    for reader in (hr, head):
        card = await client.get(
            f"/api/v1/oversight/units/{same.id}/report-card?period=month",
            headers=bearer(app, reader),
        )
        assert card.status_code == 200
        helpful = card.json()["better_off"]["helpful"]["current"]
        assert helpful["suppressed"] or helpful["mean"] != 5.0


async def test_a_manager_cannot_subtract_a_tenure_cell_from_a_role_cell(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    org, hr, admin, directorate, s1, teams, head = await _council(db, app)
    clock.advance(days=40)
    await publish(db, org, app)
    # Within a unit there are no role or tenure figures at all (the budget carries the
    # whole organisation's only): the manager is refused.
    for by in ("role", "tenure_band"):
        refused = await client.get(
            f"/api/v1/oversight/units/{s1.id}/wellbeing?period=month&by={by}",
            headers=bearer(app, head),
        )
        assert refused.status_code == 422
    # The organisation's role and tenure figures (HR) are noisy estimates: the practitioner
    # cell minus a tenure cell is not anyone's score.
    role = await figure(db, org, "wellbeing", NOVEMBER, "practitioner", tree="role")
    bands = [
        await figure(db, org, "wellbeing", NOVEMBER, name, tree="tenure_band")
        for name in TENURE_BANDS
    ]
    band = max(bands, key=lambda b: b.population or 0)
    assert role.mean is not None
    assert band.mean is not None
    assert role.count != round(role.count)
    assert band.count != round(band.count)


async def test_constant_answers_over_months_leave_nothing_to_solve(
    app: FastAPI, db: AsyncSession
) -> None:
    """Six people who give the same answer every week: each month's figure has fresh noise
    and no month's figure, nor their average, is the exact mean."""
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=ATTACK_RHO)
    team = await make_unit(db, org, "Team", now=now)
    answers = [9, 11, 14, 16, 19, 22]
    people = [await make_staff(db, org, unit=team, now=now) for _ in answers]
    first = datetime(2026, 8, 3, 10, tzinfo=UTC)
    for week in range(16):
        for person, answer in zip(people, answers, strict=True):
            await make_checkin(db, person, at=first + timedelta(weeks=week), wellbeing=answer)
    await publish(db, org, app, since=date(2026, 8, 1))
    truth = sum(answers) / len(answers)
    means = []
    for month in (date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)):
        row = await figure(db, org, "wellbeing", month, str(team.id))
        _noisy(row, len(answers), truth)
        means.append(row.mean)
    assert len(set(means)) == 3
    # Averaging the three months narrows the noise by the square root of three, no more:
    # the average is still not the truth and still uncertain by far more than its decimals.
    assert sum(m for m in means if m is not None) / 3 != truth
    assert row.low is not None
    assert row.high is not None
    assert (row.high - row.low) / 3**0.5 > 0.3


async def test_participation_after_a_move_is_unchanged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    org, hr, admin, directorate, s1, teams, head = await _council(db, app)
    clock.advance(days=40)
    await publish(db, org, app)
    url = f"/api/v1/analytics/participation?period=month&by=unit&unit_id={directorate.id}"
    before = (await client.get(url, headers=bearer(app, hr))).json()
    staff_url = f"/api/v1/staff/{head.id}"
    etag = (await client.get(staff_url, headers=bearer(app, admin))).headers["etag"]
    moved = await client.patch(
        staff_url,
        json={"unit_id": str(teams[2].id)},
        headers={**bearer(app, admin), "If-Match": etag},
    )
    assert moved.status_code == 200
    await publish(db, org, app)
    assert (await client.get(url, headers=bearer(app, hr))).json() == before
    participants = await figure(db, org, "wellbeing", NOVEMBER, f"{s1.id}:direct")
    _noisy(participants, 1, 17.0)


async def test_two_checkins_in_one_week_count_once_and_are_never_differenced(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)
    org = await make_org(db, now=now)
    await set_privacy(db, org, app, k=5, year_rho=ATTACK_RHO)
    hr = await make_staff(db, org, Role.hr, now=now)
    team = await make_unit(db, org, "Team", now=now)
    twice = await make_staff(db, org, unit=team, now=now)
    await make_checkin(db, twice, at=now, wellbeing=15)
    await make_checkin(db, twice, at=now + timedelta(days=2), wellbeing=9)  # the change: -6
    for i in range(7):
        person = await make_staff(db, org, unit=team, now=now)
        await make_checkin(db, person, at=now, wellbeing=10 + i)
    clock.advance(days=40)
    await publish(db, org, app)
    # No weekly figures: the two check-ins fall in one published month, averaged as one.
    weekly = await client.get(f"{ANALYTICS}?period=week", headers=bearer(app, hr))
    assert weekly.status_code == 422
    row = await figure(db, org, "wellbeing", NOVEMBER, str(team.id))
    assert abs(row.count - 8) < 3 * row.count_sd + 0.5  # people, not check-ins (9)
    _noisy(row, 8, (12 + sum(10 + i for i in range(7))) / 8)
