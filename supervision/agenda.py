"""A session's agenda: open actions carried over, and reflections the supervisee brings.

The reflections half is passed in as an `AgendaReflections` callable: the route closes
`supervision.reflections.agenda_reflections` over the key ring and the clock, which
returns the notes the supervisee shared with `bring_to_supervision` for this supervisor
(titles only) and logs the supervisor's read. Tests may pass `no_reflections`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.reflection import AgendaReflection
from models.supervision import SupervisionSession
from supervision.actions import carried_actions
from supervision.records import action_public
from supervision.schemas import AgendaPublic, Audience
from supervision.sessions import load_visible

# (db session, the supervision session) -> reflections brought to it. Called only for the
# supervisee and their supervisor: managers and admins never see reflections.
AgendaReflections = Callable[
    [AsyncSession, SupervisionSession], Awaitable[Sequence[AgendaReflection]]
]


async def no_reflections(
    session: AsyncSession, sess: SupervisionSession
) -> Sequence[AgendaReflection]:
    del session, sess
    return []


async def session_agenda(
    session: AsyncSession,
    actor: Actor,
    session_id: uuid.UUID,
    *,
    reflections: AgendaReflections = no_reflections,
) -> AgendaPublic:
    """What to talk about: open actions from earlier sessions, and (for the two people in
    the supervision only) the reflections the supervisee chose to bring."""
    visible = await load_visible(session, actor, session_id)
    carried = await carried_actions(session, visible.row)
    brought: Sequence[AgendaReflection] = []
    if visible.audience is Audience.full:
        brought = await reflections(session, visible.row)
    return AgendaPublic(
        session_id=visible.row.id,
        carried_actions=[action_public(a) for a in carried],
        reflections=list(brought),
    )
