"""Incidents as each reader sees them: the owner (note, follow-ups) and the supervisor it is
shared with (who, when, what kind; never the note). Every incident route makes one call."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.changes import tombstone_unreadable
from models.crypto import KeyRing
from models.directory.staff import Staff
from models.etag import Tagged, etag_for
from models.incidents import RESOURCE, Incident
from models.schemas import Page
from wellbeing.incidents import (
    create_incident,
    export_mine,
    follow_up_checkins,
    follow_up_times,
    list_mine,
    list_shared_with_me,
    load_visible,
    log_reads,
    note_of,
    own_incidents,
    readable_ids,
    shared_with,
    update_incident,
)
from wellbeing.schemas import (
    FollowUp,
    IncidentCreate,
    IncidentPublic,
    IncidentUpdate,
    SharedIncidentPublic,
)
from wellbeing.settings import settings_for


async def owner_views(
    session: AsyncSession, ring: KeyRing, actor: Actor, rows: Sequence[Incident]
) -> list[IncidentPublic]:
    if not rows:
        return []
    days = (await settings_for(session, actor.organisation_id)).incident_follow_up_days
    answered = await follow_up_checkins(session, rows)
    views = []
    for row in rows:
        done = answered.get(row.id, [])
        follow_ups = [
            FollowUp(
                due_at=due,
                checkin_id=done[n].id if n < len(done) else None,
                band=done[n].band if n < len(done) else None,
            )
            for n, due in enumerate(follow_up_times(row, days))
        ]
        views.append(
            IncidentPublic(
                id=row.id,
                occurred_on=row.occurred_on,
                category=row.category,
                recorded_at=row.recorded_at,
                recorded_by_supervisor=row.recorded_by is not None
                and row.recorded_by != row.staff_id,
                note=note_of(ring, row),
                shared_with_supervisor=row.supervisor_id is not None,
                bring_to_supervision=row.bring_to_supervision,
                follow_up_instrument=row.follow_up_instrument,
                follow_ups=follow_ups,
                version=row.version,
            )
        )
    return views


async def shared_views(
    session: AsyncSession, rows: Sequence[Incident]
) -> list[SharedIncidentPublic]:
    ids = {r.staff_id for r in rows}
    names: dict[uuid.UUID, str] = (
        dict(
            (
                await session.exec(
                    select(col(Staff.id), col(Staff.display_name)).where(col(Staff.id).in_(ids))
                )
            ).all()
        )
        if ids
        else {}
    )
    return [
        SharedIncidentPublic(
            id=r.id,
            staff_id=r.staff_id,
            display_name=names.get(r.staff_id, ""),
            occurred_on=r.occurred_on,
            category=r.category,
            recorded_at=r.recorded_at,
            bring_to_supervision=r.bring_to_supervision,
        )
        for r in rows
    ]


async def _one(
    session: AsyncSession, ring: KeyRing, actor: Actor, row: Incident
) -> Tagged[IncidentPublic | SharedIncidentPublic]:
    view: IncidentPublic | SharedIncidentPublic
    if row.staff_id == actor.id:
        view = (await owner_views(session, ring, actor, [row]))[0]
    else:
        view = (await shared_views(session, [row]))[0]
    return Tagged(view, etag_for(row.version))


async def record_incident(
    session: AsyncSession, ring: KeyRing, actor: Actor, data: IncidentCreate, now: datetime
) -> tuple[Tagged[IncidentPublic | SharedIncidentPublic], bool]:
    """Record an incident; the recorder's view of it (a supervisor's has no note)."""
    row, created = await create_incident(session, ring, actor, data, now)
    return await _one(session, ring, actor, row), created


async def my_incidents(
    session: AsyncSession, ring: KeyRing, actor: Actor, *, limit: int, cursor: str | None
) -> Page[IncidentPublic]:
    rows, next_cursor = await list_mine(session, actor, limit=limit, cursor=cursor)
    return Page(data=await owner_views(session, ring, actor, rows), next_cursor=next_cursor)


async def incidents_shared_with_me(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> Page[SharedIncidentPublic]:
    rows, next_cursor = await list_shared_with_me(session, actor, now, limit=limit, cursor=cursor)
    return Page(data=await shared_views(session, rows), next_cursor=next_cursor)


async def incident_view(
    session: AsyncSession, ring: KeyRing, actor: Actor, incident_id: uuid.UUID, now: datetime
) -> Tagged[IncidentPublic | SharedIncidentPublic]:
    return await _one(session, ring, actor, await load_visible(session, actor, incident_id, now))


async def update_incident_view(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    incident_id: uuid.UUID,
    data: IncidentUpdate,
    if_match: str | None,
    now: datetime,
) -> Tagged[IncidentPublic | SharedIncidentPublic]:
    row = await update_incident(session, ring, actor, incident_id, data, if_match, now)
    return await _one(session, ring, actor, row)


async def render_incidents_for_sync(
    session: AsyncSession, ring: KeyRing, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
) -> Mapping[uuid.UUID, BaseModel]:
    mine = list((await session.exec(own_incidents(actor).where(col(Incident.id).in_(ids)))).all())
    theirs = list((await session.exec(shared_with(actor).where(col(Incident.id).in_(ids)))).all())
    await log_reads(session, actor, theirs, now)
    rendered: dict[uuid.UUID, BaseModel] = {}
    for row, view in zip(mine, await owner_views(session, ring, actor, mine), strict=True):
        rendered[row.id] = view
    for row, other in zip(theirs, await shared_views(session, theirs), strict=True):
        rendered[row.id] = other
    return rendered


async def revoke_lost_incidents(session: AsyncSession, actor: Actor, now: datetime) -> bool:
    """Tombstones for incidents a former supervisor synced."""
    return await tombstone_unreadable(session, actor, RESOURCE, readable_ids(actor), now)


async def export_my_incidents(
    session: AsyncSession, ring: KeyRing, actor: Actor
) -> list[IncidentPublic]:
    return await owner_views(session, ring, actor, await export_mine(session, actor))
