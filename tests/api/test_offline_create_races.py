"""The one offline-create protocol under real races (separate connections, real commits):
check-ins, supervision sessions, agreements and group sessions, like reflections
(test_reflections_concurrency.py).

The same id and body sent many times at once makes one row and answers 201 once and 200
for every other; the same id with another body answers 409 (never 500)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import SQLModel, col, select

from models.agreement import SupervisionAgreement
from models.db import session_scope
from models.directory.staff import Staff
from models.group_supervision import GroupSession
from models.incidents import Incident
from models.supervision import SupervisionSession
from models.wellbeing import CheckIn, TalkRequest
from tests.factories.directory import bearer
from tests.factories.wellbeing import pulse_answers
from tests.harness import Committed, supervised_pair

CHECKINS = "/api/v1/wellbeing/checkins"
SESSIONS = "/api/v1/supervision/sessions"
AGREEMENTS = "/api/v1/supervision/agreements"
GROUPS = "/api/v1/supervision/group-sessions"


@dataclass
class Pair:
    supervisor: Staff
    supervisee: Staff


async def pair(committed: Committed) -> Pair:
    _org, supervisor, supervisee = await supervised_pair(committed)
    return Pair(supervisor=supervisor, supervisee=supervisee)


def checkin_body(row_id: uuid.UUID, wellbeing: int = 15) -> dict[str, Any]:
    return {
        "id": str(row_id),
        "instrument": "pulse",
        "answers": pulse_answers(wellbeing),
        "wants_to_talk": False,
        "share_with_supervisor": False,
    }


def session_body(committed: Committed, p: Pair, row_id: uuid.UUID, days: int = 3) -> dict[str, Any]:
    return {
        "id": str(row_id),
        "supervisee_id": str(p.supervisee.id),
        "scheduled_for": (committed.clock() + timedelta(days=days)).isoformat(),
        "duration_minutes": 90,
        "kind": "one_to_one",
    }


async def _race(
    committed: Committed, url: str, sender: Staff, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    app = committed.app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return list(
            await asyncio.gather(
                *(client.post(url, json=b, headers=bearer(app, sender)) for b in bodies)
            )
        )


async def _count(committed: Committed, table: type[SQLModel], row_id: uuid.UUID) -> int:
    async with committed.sessions() as db:
        stmt = select(sa.func.count()).select_from(table).where(col(table.id) == row_id)  # type: ignore[attr-defined]
        return int((await db.exec(stmt)).one())


def _identical_outcome(responses: list[httpx.Response]) -> None:
    assert sorted(r.status_code for r in responses) == [200] * (len(responses) - 1) + [201]
    assert len({r.text for r in responses}) == 1  # every answer is the same resource


def _mixed_outcome(
    responses: list[httpx.Response], bodies: list[dict[str, Any]], key: Callable[[Any], Any]
) -> None:
    winners = [r for r in responses if r.status_code == 201]
    assert len(winners) == 1
    won = key(winners[0].json())
    for body, response in zip(bodies, responses, strict=True):
        expected = {200, 201} if key(body) == won else {409}
        assert response.status_code in expected, response.text
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"


async def test_concurrent_identical_checkins_make_one(committed: Committed) -> None:
    p = await pair(committed)
    row_id = uuid.uuid4()
    responses = await _race(committed, CHECKINS, p.supervisee, [checkin_body(row_id)] * 20)
    _identical_outcome(responses)
    assert await _count(committed, CheckIn, row_id) == 1


async def test_concurrent_checkins_with_one_id_and_two_bodies(committed: Committed) -> None:
    p = await pair(committed)
    row_id = uuid.uuid4()
    bodies = [checkin_body(row_id, wellbeing=10 + i % 2 * 5) for i in range(20)]
    responses = await _race(committed, CHECKINS, p.supervisee, bodies)
    _mixed_outcome(responses, bodies, lambda b: b["answers"] if "answers" in b else None)
    assert await _count(committed, CheckIn, row_id) == 1


async def test_concurrent_identical_sessions_make_one(committed: Committed) -> None:
    p = await pair(committed)
    row_id = uuid.uuid4()
    body = session_body(committed, p, row_id)
    responses = await _race(committed, SESSIONS, p.supervisor, [body] * 20)
    _identical_outcome(responses)
    assert await _count(committed, SupervisionSession, row_id) == 1


async def test_concurrent_sessions_with_one_id_and_two_bodies(committed: Committed) -> None:
    p = await pair(committed)
    row_id = uuid.uuid4()
    bodies = [session_body(committed, p, row_id, days=3 + i % 2) for i in range(20)]
    responses = await _race(committed, SESSIONS, p.supervisor, bodies)
    _mixed_outcome(responses, bodies, lambda b: b["scheduled_for"][:10])
    assert await _count(committed, SupervisionSession, row_id) == 1


def agreement_body(p: Pair, row_id: uuid.UUID, day: int = 23) -> dict[str, Any]:
    return {
        "id": str(row_id),
        "supervisee_id": str(p.supervisee.id),
        "starts_on": f"2026-11-{day}",
        "terms": {"frequency_days": 28, "duration_minutes": 90, "learning_needs": "Court."},
    }


async def test_concurrent_identical_agreements_make_one(committed: Committed) -> None:
    p = await pair(committed)
    row_id = uuid.uuid4()
    responses = await _race(committed, AGREEMENTS, p.supervisor, [agreement_body(p, row_id)] * 20)
    _identical_outcome(responses)
    assert await _count(committed, SupervisionAgreement, row_id) == 1


async def test_concurrent_agreements_with_one_id_and_two_bodies(committed: Committed) -> None:
    p = await pair(committed)
    row_id = uuid.uuid4()
    bodies = [agreement_body(p, row_id, day=23 + i % 2) for i in range(20)]
    responses = await _race(committed, AGREEMENTS, p.supervisor, bodies)
    _mixed_outcome(responses, bodies, lambda b: b["starts_on"])
    assert await _count(committed, SupervisionAgreement, row_id) == 1


async def test_concurrent_group_sessions_make_one_and_refuse_another_body(
    committed: Committed,
) -> None:
    p = await pair(committed)
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org_id = p.supervisee.organisation_id
        more = []
        for _ in range(3):
            person = Staff(
                organisation_id=org_id,
                email=f"{uuid.uuid4().hex}@council.example",
                display_name="Attendee",
                roles=["practitioner"],
                supervisor_id=p.supervisor.id,
                started_on=now.date(),
                created_at=now,
                updated_at=now,
            )
            db.add(person)
            more.append(person)
    row_id = uuid.uuid4()
    attendees = [str(p.supervisee.id), *(str(m.id) for m in more)]
    bodies = [
        {
            "id": str(row_id),
            "scheduled_for": (now + timedelta(days=3 + i % 2)).isoformat(),
            "attendee_ids": attendees,
        }
        for i in range(20)
    ]
    same = await _race(committed, GROUPS, p.supervisor, [bodies[0]] * 10)
    _identical_outcome(same)
    row_id2 = uuid.uuid4()
    mixed = [{**b, "id": str(row_id2)} for b in bodies]
    responses = await _race(committed, GROUPS, p.supervisor, mixed)
    _mixed_outcome(responses, mixed, lambda b: b["scheduled_for"][:10])
    assert await _count(committed, GroupSession, row_id) == 1
    assert await _count(committed, GroupSession, row_id2) == 1


async def test_concurrent_identical_talk_requests_and_incidents_make_one(
    committed: Committed,
) -> None:
    p = await pair(committed)
    talk_id, incident_id, checkin_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    talks = await _race(
        committed, "/api/v1/wellbeing/talk-requests", p.supervisee, [{"id": str(talk_id)}] * 10
    )
    _identical_outcome(talks)
    assert await _count(committed, TalkRequest, talk_id) == 1
    incident = {"id": str(incident_id), "occurred_on": "2026-11-20", "category": "disclosure"}
    made = await _race(committed, "/api/v1/wellbeing/incidents", p.supervisee, [incident] * 10)
    _identical_outcome(made)
    assert await _count(committed, Incident, incident_id) == 1
    other = await _race(
        committed,
        "/api/v1/wellbeing/incidents",
        p.supervisee,
        [incident | {"category": "other"}] * 3,
    )
    assert {r.status_code for r in other} == {409}
    # A check-in that tells the supervisor, sent many times at once: one talk request.
    told = checkin_body(checkin_id) | {"wants_to_talk": True, "tell_supervisor": True}
    _identical_outcome(await _race(committed, CHECKINS, p.supervisee, [told] * 10))
    async with committed.sessions() as db:
        stmt = select(TalkRequest).where(col(TalkRequest.checkin_id) == checkin_id)
        assert len((await db.exec(stmt)).all()) == 1
