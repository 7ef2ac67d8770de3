"""A session's agenda: open actions carried over, reflections the supervisee brings, and
"talk about the incident" for critical incidents they asked to bring (date and kind only).

The reflections come from `supervision.reflections.notes.agenda_reflections`: notes the
supervisee shared with `bring_to_supervision` for this supervisor (titles only), with the
supervisor's read written to the supervisee's access log.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.crypto import KeyRing
from models.incidents import RESOURCE as INCIDENT
from models.incidents import agenda_incidents
from supervision.actions import carried_actions
from supervision.reflections.notes import agenda_reflections
from supervision.reflections.schemas import AgendaReflection
from supervision.schemas import AgendaIncidentPublic, AgendaPublic, Audience
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
    incidents: list[AgendaIncidentPublic] = []
    if visible.audience is Audience.full:  # managers and admins never see these
        row = visible.row
        brought = await agenda_reflections(
            session, ring, actor, row.supervisee_id, row.supervisor_id, now
        )
        for item in await agenda_incidents(session, row):
            if actor.id != row.supervisee_id:
                await record_access(
                    session,
                    actor,
                    row.supervisee_id,
                    INCIDENT,
                    item.id,
                    AccessReason.supervision,
                    now,
                )
            incidents.append(
                AgendaIncidentPublic(
                    incident_id=item.id, occurred_on=item.occurred_on, category=item.category
                )
            )
    return AgendaPublic(
        session_id=visible.row.id,
        carried_actions=[action_public(a) for a in carried],
        reflections=brought,
        incidents=incidents,
    )
