"""Change numbers with real commits (not the rolled-back test transaction): on PostgreSQL a
deferred trigger numbers change rows at commit (migration 0014_hotpaths), on SQLite
`record_change` numbers them itself. Either way every row gets its own number, in one
sequence per organisation, and every reader's feed delivers every change."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlmodel import col, select

from models.changes import UNASSIGNED, Change, ChangeCounter
from models.db import session_scope
from models.directory.staff import Role, Staff
from tests.api.test_reflections_concurrency import drain, serving
from tests.factories.directory import bearer, make_org, make_staff
from tests.factories.reflections import note_body
from tests.factories.wellbeing import pulse_answers
from tests.harness import Committed


async def test_concurrent_writers_get_distinct_numbers_and_every_change_is_delivered(
    committed: Committed,
) -> None:
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        supervisor = await make_staff(db, org, Role.supervisor, now=now)
        staff: list[Staff] = [
            await make_staff(db, org, supervisor=supervisor, now=now) for _ in range(4)
        ]
    app = committed.app()
    made: dict[uuid.UUID, set[str]] = {person.id: set() for person in staff}

    async def writer(person: Staff, client: httpx.AsyncClient) -> None:
        headers = bearer(app, person)
        for i in range(4):
            checkin = {
                "id": str(uuid.uuid4()),
                "instrument": "pulse",
                "answers": pulse_answers(12 + i),
                "share_with_supervisor": i == 0,
            }
            response = await client.post(
                "/api/v1/wellbeing/checkins", json=checkin, headers=headers
            )
            assert response.status_code == 201
            note = note_body()
            assert (
                await client.post("/api/v1/reflections", json=note, headers=headers)
            ).status_code == 201
            made[person.id] |= {str(checkin["id"]), str(note["id"])}

    async with serving(app) as client:
        await asyncio.gather(*(writer(person, client) for person in staff))
        for person in staff:
            delivered, _ = await drain(client, app, person, None, limit=5)
            assert {c["id"] for c in delivered} == made[person.id]
        shared, _ = await drain(client, app, supervisor, None, limit=5)
        assert len(shared) == len(staff)  # one shared check-in each

    async with session_scope(committed.sessions) as db:
        rows = (
            await db.exec(
                select(col(Change.staff_id), col(Change.seq)).where(
                    col(Change.organisation_id) == org.id
                )
            )
        ).all()
        counter = (
            await db.exec(select(ChangeCounter).where(ChangeCounter.organisation_id == org.id))
        ).one()
    seqs = [seq for _, seq in rows]
    assert len(rows) == 4 * 8 + 4  # each person's own rows, plus the supervisor's
    assert UNASSIGNED not in seqs  # every commit numbered its rows
    for reader in {staff_id for staff_id, _ in rows}:
        mine = [seq for staff_id, seq in rows if staff_id == reader]
        assert len(set(mine)) == len(mine)  # a reader's feed never has two at one number
    assert max(seqs) == counter.last_seq
