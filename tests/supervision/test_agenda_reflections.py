"""`agenda_reflections`: what a supervision session's agenda shows of notes brought to it."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from models.directory.service import actor_for
from supervision.reflections.notes import agenda_reflections, share_reflection, unshare_reflection
from supervision.reflections.schemas import ReflectionShare
from tests.api.test_reflections import make_team
from tests.factories.directory import now_of
from tests.factories.reflections import make_reflection


async def test_agenda_lists_titles_of_notes_brought_to_supervision(
    app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, app)
    ring, now = app.state.key_ring, now_of(app)
    author = actor_for(team.author)
    brought = await make_reflection(db, ring, team.author, now, title="Bring me")
    shared_only = await make_reflection(db, ring, team.author, now, title="Shared only")
    await make_reflection(db, ring, team.author, now, title="Private")
    await share_reflection(db, author, brought.id, ReflectionShare(bring_to_supervision=True), now)
    await share_reflection(db, author, shared_only.id, ReflectionShare(), now)

    for reader in (team.supervisor, team.author):
        items = await agenda_reflections(
            db, ring, actor_for(reader), team.author.id, team.supervisor.id, now
        )
        assert [(i.id, i.title) for i in items] == [(brought.id, "Bring me")]
        assert "body" not in items[0].model_dump()
    logged = (await db.exec(select(AccessLog))).all()
    assert [(e.reader_id, e.resource_id) for e in logged] == [(team.supervisor.id, brought.id)]

    # A manager reading the session sees no notes at all; nor does another supervisor.
    for reader in (team.manager, team.other_supervisor):
        items = await agenda_reflections(
            db, ring, actor_for(reader), team.author.id, team.supervisor.id, now
        )
        assert items == []
    # Asking for someone else's supervisor gives nothing either.
    assert (
        await agenda_reflections(
            db, ring, actor_for(team.author), team.author.id, team.other_supervisor.id, now
        )
        == []
    )
    # Unshared, it leaves the agenda.
    await unshare_reflection(db, author, brought.id, now)
    assert (
        await agenda_reflections(
            db, ring, actor_for(team.supervisor), team.author.id, team.supervisor.id, now
        )
        == []
    )
