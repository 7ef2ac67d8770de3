"""The phone app's delta feed: everything I may see that changed since my cursor."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import CurrentActor, Cursor, KeyRingDep, Limit, Now, SessionDep
from api.problems import problems
from models.actor import Actor
from models.agreement import AGREEMENT_RESOURCE
from models.changes import ChangeOp, Reconciler, Renderer, read_feed
from models.crypto import KeyRing
from models.group_supervision import GROUP_RESOURCE
from models.incidents import RESOURCE as INCIDENT
from models.notifications.outbox import RESOURCE_TYPE as NOTIFICATION
from models.notifications.outbox import render_for_sync as notifications_for_sync
from models.notifications.schemas import NotificationPublic
from models.pagination import DEFAULT_LIMIT
from models.reflection import RESOURCE_TYPE as REFLECTION
from supervision.agreements import render_agreements_for_sync
from supervision.changes import ACTION, SESSION
from supervision.group_views import render_groups_for_sync
from supervision.sync import (
    render_actions_for_sync,
    render_for_sync,
    render_sessions_for_sync,
    revoke_lost_sessions,
    revoke_lost_shares,
)
from wellbeing.checkins import RESOURCE as CHECKIN
from wellbeing.incident_views import render_incidents_for_sync, revoke_lost_incidents
from wellbeing.sync import render_checkins_for_sync, revoke_lost_checkins
from wellbeing.talk import RESOURCE as TALK_REQUEST
from wellbeing.talk_views import render_talk_requests_for_sync, revoke_lost_talk_requests

router = APIRouter(tags=["sync"])


class SyncChange(BaseModel):
    type: str
    op: ChangeOp
    id: uuid.UUID
    data: dict[str, Any] | None


class SyncPage(BaseModel):
    changes: list[SyncChange]
    next_cursor: str
    has_more: bool


def renderers(ring: KeyRing) -> Mapping[str, Renderer]:
    """Every entity type on the feed and how to show it (add yours here)."""

    async def reflections(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, dict[str, Any]]:
        return await render_for_sync(session, ring, actor, ids, now)

    async def sessions(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, dict[str, Any]]:
        return await render_sessions_for_sync(session, ring, actor, ids, now)

    async def agreements(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, dict[str, Any]]:
        return await render_agreements_for_sync(session, ring, actor, ids, now)

    async def groups(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, dict[str, Any]]:
        return await render_groups_for_sync(session, ring, actor, ids, now)

    async def notifications(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], _now: datetime
    ) -> Mapping[uuid.UUID, dict[str, Any]]:
        rows = await notifications_for_sync(session, actor, ids)
        return {
            row_id: NotificationPublic.model_validate(row, from_attributes=True).model_dump(
                mode="json"
            )
            for row_id, row in rows.items()
        }

    async def incidents(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, dict[str, Any]]:
        return await render_incidents_for_sync(session, ring, actor, ids, now)

    return {
        REFLECTION: reflections,
        INCIDENT: incidents,
        TALK_REQUEST: render_talk_requests_for_sync,
        SESSION: sessions,
        ACTION: render_actions_for_sync,
        AGREEMENT_RESOURCE: agreements,
        GROUP_RESOURCE: groups,
        CHECKIN: render_checkins_for_sync,
        NOTIFICATION: notifications,
    }


# Run before each feed read: tombstones for what a reader lost sight of (add yours here).
RECONCILERS: Sequence[Reconciler] = (
    revoke_lost_shares,
    revoke_lost_sessions,
    revoke_lost_checkins,
    revoke_lost_talk_requests,
    revoke_lost_incidents,
)


@router.get("/sync", name="sync", response_model=SyncPage, responses=problems())
async def sync_route(
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> SyncPage:
    """Changes after `cursor`, in server order; deletions and lost access come as tombstones."""
    page = await read_feed(
        session,
        actor,
        cursor=cursor,
        limit=limit,
        renderers=renderers(ring),
        reconcilers=RECONCILERS,
        now=now,
    )
    return SyncPage(
        changes=[SyncChange(type=c.type, op=c.op, id=c.id, data=c.data) for c in page.changes],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )
