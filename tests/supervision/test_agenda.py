"""A session's agenda: notes brought to supervision reach the two people in it, no one else."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.service import actor_for
from supervision.agenda import session_agenda
from supervision.reflections.notes import share_reflection
from supervision.reflections.schemas import ReflectionShare
from tests.factories.directory import now_of
from tests.factories.reflections import make_reflection
from tests.factories.supervision import make_session, make_team


async def test_brought_notes_reach_supervisee_and_supervisor_only(
    app: FastAPI, db: AsyncSession
) -> None:
    ring, now = app.state.key_ring, now_of(app)
    t = await make_team(db, now=now)
    sess = await make_session(db, t.supervisee, t.supervisor, now=now)
    note = await make_reflection(db, ring, t.supervisee, now, title="After the Smith visit")
    await share_reflection(
        db, actor_for(t.supervisee), note.id, ReflectionShare(bring_to_supervision=True), now
    )

    for person in (t.supervisee, t.supervisor):
        agenda = await session_agenda(db, actor_for(person), sess.id, ring, now)
        assert [(r.id, r.title) for r in agenda.reflections] == [(note.id, "After the Smith visit")]
    for person in (t.manager, t.admin):
        agenda = await session_agenda(db, actor_for(person), sess.id, ring, now)
        assert agenda.session_id == sess.id
        assert agenda.reflections == []
