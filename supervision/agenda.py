"""A session's agenda: open actions carried over, and reflections the supervisee brings.

The reflections come from `supervision.reflections.notes.agenda_reflections`: notes the
supervisee shared with `bring_to_supervision` for this supervisor (titles only), with the
supervisor's read written to the supervisee's access log.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.crypto import KeyRing
from supervision.actions import carried_actions
from supervision.reflections.notes import agenda_reflections
from supervision.reflections.schemas import AgendaReflection
from supervision.schemas import AgendaPublic, Audience
from supervision.session_views import action_public
from supervision.sessions import load_visible


async def session_agenda(
    session: AsyncSession,
    actor: Actor,
    session_id: uuid.UUID,
    ring: KeyRing,
    now: datetime,
) -> AgendaPublic:
    """What to talk about: open actions from earlier sessions, and (for the two people in
    the supervision only) the reflections the supervisee chose to bring."""
    visible = await load_visible(session, actor, session_id)
    carried = await carried_actions(session, visible.row)
    brought: list[AgendaReflection] = []
    if visible.audience is Audience.full:  # managers and admins never see reflections
        row = visible.row
        brought = await agenda_reflections(
            session, ring, actor, row.supervisee_id, row.supervisor_id, now
        )
    return AgendaPublic(
        session_id=visible.row.id,
        carried_actions=[action_public(a) for a in carried],
        reflections=brought,
    )
