"""The agenda's reflections seam: a provider is asked only for the two people in supervision."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory import actor_for
from models.reflection import AgendaReflection
from models.supervision import SupervisionSession
from supervision.agenda import session_agenda
from tests.conftest import FrozenClock
from tests.supervision_factories import make_session, make_team


async def test_reflections_come_from_the_provider_for_supervisee_and_supervisor_only(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    t = await make_team(db, now=now)
    sess = await make_session(db, t.supervisee, t.supervisor, now=now)
    asked: list[uuid.UUID] = []
    brought = AgendaReflection(id=uuid.uuid4(), title="After the Smith visit", shared_at=now)

    async def provider(
        session: AsyncSession, target: SupervisionSession
    ) -> Sequence[AgendaReflection]:
        del session
        asked.append(target.id)
        return [brought]

    for person in (t.supervisee, t.supervisor):
        agenda = await session_agenda(db, actor_for(person), sess.id, reflections=provider)
        assert agenda.reflections == [brought]
    for person in (t.manager, t.admin):
        agenda = await session_agenda(db, actor_for(person), sess.id, reflections=provider)
        assert agenda.reflections == []
    assert asked == [sess.id, sess.id]
