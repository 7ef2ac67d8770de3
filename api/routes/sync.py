"""The phone app's delta feed: everything I may see that changed since my cursor."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import BearerClaims, Cursor, Limit, invalid_token
from api.problems import problems
from models.actor import Actor
from models.agreement import AGREEMENT_RESOURCE
from models.changes import (
    AnswersMoved,
    FeedItem,
    MovedSince,
    Reconciler,
    Renderer,
    Shown,
    sync_feed,
)
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
from supervision.reflections.schemas import ReflectionPublic
from supervision.schemas import ActionPublic, SessionPublic
from supervision.schemas_agreement import AgreementPublic
from supervision.schemas_group import GroupSessionPublic
from supervision.sync import (
    render_actions_for_sync,
    render_for_sync,
    render_sessions_for_sync,
    revoke_lost_sessions,
    revoke_lost_shares,
)
from wellbeing.checkins import RESOURCE as CHECKIN
from wellbeing.incident_views import render_incidents_for_sync, revoke_lost_incidents
from wellbeing.schemas import (
    CheckInPublic,
    IncidentPublic,
    MyTalkRequestPublic,
    SharedCheckInPublic,
    SharedIncidentPublic,
    TalkRequestPublic,
)
from wellbeing.sync import render_checkins_for_sync, revoke_lost_checkins
from wellbeing.talk import RESOURCE as TALK_REQUEST
from wellbeing.talk_views import render_talk_requests_for_sync, revoke_lost_talk_requests

router = APIRouter(tags=["sync"])


# Answers always carry every field, so the document marks them all required.
_ALWAYS_SENT = ConfigDict(json_schema_serialization_defaults_required=True)


class _Upsert(BaseModel):
    model_config = _ALWAYS_SENT

    op: Literal["upsert"] = "upsert"
    id: uuid.UUID


class SyncReflection(_Upsert):
    type: Literal["reflection"] = "reflection"
    data: ReflectionPublic


class SyncIncident(_Upsert):
    """A critical incident of mine."""

    type: Literal["wellbeing_incident"] = "wellbeing_incident"
    data: IncidentPublic


class SyncSharedIncident(_Upsert):
    """A supervisee's incident shared with me."""

    type: Literal["wellbeing_incident_shared"] = "wellbeing_incident_shared"
    data: SharedIncidentPublic


class SyncTalkRequest(_Upsert):
    """A talk request I raised."""

    type: Literal["wellbeing_talk_request"] = "wellbeing_talk_request"
    data: MyTalkRequestPublic


class SyncTalkRequestToMe(_Upsert):
    """A talk request addressed to me."""

    type: Literal["wellbeing_talk_request_to_me"] = "wellbeing_talk_request_to_me"
    data: TalkRequestPublic


class SyncSession(_Upsert):
    type: Literal["supervision_session"] = "supervision_session"
    data: SessionPublic


class SyncAction(_Upsert):
    type: Literal["supervision_action"] = "supervision_action"
    data: ActionPublic


class SyncAgreement(_Upsert):
    type: Literal["supervision_agreement"] = "supervision_agreement"
    data: AgreementPublic


class SyncGroupSession(_Upsert):
    type: Literal["supervision_group_session"] = "supervision_group_session"
    data: GroupSessionPublic


class SyncCheckIn(_Upsert):
    """A check-in of mine."""

    type: Literal["wellbeing_checkin"] = "wellbeing_checkin"
    data: CheckInPublic


class SyncSharedCheckIn(_Upsert):
    """A supervisee's check-in shared with me (until the share ends)."""

    type: Literal["wellbeing_checkin_shared"] = "wellbeing_checkin_shared"
    data: SharedCheckInPublic


class SyncNotification(_Upsert):
    type: Literal["notification"] = "notification"
    data: NotificationPublic


SyncEntity = Literal[
    "reflection",
    "wellbeing_incident",
    "wellbeing_talk_request",
    "supervision_session",
    "supervision_action",
    "supervision_agreement",
    "supervision_group_session",
    "wellbeing_checkin",
    "notification",
]


class SyncTombstone(BaseModel):
    """Deleted, or no longer mine to see: drop the local copy of `entity` `id` (whichever of
    its shapes you hold)."""

    model_config = _ALWAYS_SENT

    type: Literal["tombstone"] = "tombstone"
    op: Literal["delete"] = "delete"
    entity: SyncEntity
    id: uuid.UUID
    data: None = None


_UPSERTS: tuple[type[_Upsert], ...] = (
    SyncReflection,
    SyncIncident,
    SyncSharedIncident,
    SyncTalkRequest,
    SyncTalkRequestToMe,
    SyncSession,
    SyncAction,
    SyncAgreement,
    SyncGroupSession,
    SyncCheckIn,
    SyncSharedCheckIn,
    SyncNotification,
)
# The typed change for each view class a renderer answers with.
_BY_VIEW: dict[type[BaseModel], type[_Upsert]] = {
    change.model_fields["data"].annotation: change  # type: ignore[misc]
    for change in _UPSERTS
}

SyncChange = Annotated[
    SyncReflection
    | SyncIncident
    | SyncSharedIncident
    | SyncTalkRequest
    | SyncTalkRequestToMe
    | SyncSession
    | SyncAction
    | SyncAgreement
    | SyncGroupSession
    | SyncCheckIn
    | SyncSharedCheckIn
    | SyncNotification
    | SyncTombstone,
    Field(discriminator="type"),
]


class SyncPage(BaseModel):
    changes: list[SyncChange]
    next_cursor: str
    has_more: bool


# Each view class's typed change `type`.
_TYPE_OF_VIEW: dict[type[BaseModel], str] = {
    view: change.model_fields["type"].default for view, change in _BY_VIEW.items()
}


def typed(item: FeedItem) -> dict[str, Any]:
    """The feed item as its typed change (`SyncChange`), as the fields to serialise: one
    `type` per shape, tombstones as their own. Each view is written once, straight to the
    answer: a renderer's `Shown` fields as they are, a view model by its own serialiser.
    The id goes as its text, the string `SyncChange` writes (`text_ids`: pydantic-core is
    slow with a UUID it has no schema for)."""
    if item.data is None:
        return {
            "type": "tombstone",
            "op": "delete",
            "entity": item.type,
            "id": str(item.id),
            "data": None,
        }
    if isinstance(item.data, Shown):
        return {"op": "upsert", "id": str(item.id), "type": item.data.type, "data": item.data.data}
    return {
        "op": "upsert",
        "id": str(item.id),
        "type": _TYPE_OF_VIEW[type(item.data)],
        "data": item.data,
    }


def renderers(ring: KeyRing) -> Mapping[str, Renderer | AnswersMoved]:
    """Every entity type on the feed and how to show it (add yours here)."""

    async def reflections(
        session: AsyncSession,
        actor: Actor,
        ids: Sequence[uuid.UUID],
        now: datetime,
        moved: MovedSince | None,
    ) -> Mapping[uuid.UUID, BaseModel | Shown]:
        return await render_for_sync(session, ring, actor, ids, now, moved)

    async def sessions(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, BaseModel]:
        return await render_sessions_for_sync(session, ring, actor, ids, now)

    async def agreements(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, BaseModel]:
        return await render_agreements_for_sync(session, ring, actor, ids, now)

    async def groups(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, BaseModel]:
        return await render_groups_for_sync(session, ring, actor, ids, now)

    async def notifications(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], _now: datetime
    ) -> Mapping[uuid.UUID, BaseModel]:
        rows = await notifications_for_sync(session, actor, ids)
        return {
            row_id: NotificationPublic.model_validate(row, from_attributes=True)
            for row_id, row in rows.items()
        }

    async def incidents(
        session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
    ) -> Mapping[uuid.UUID, BaseModel]:
        return await render_incidents_for_sync(session, ring, actor, ids, now)

    return {
        REFLECTION: AnswersMoved(reflections),
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
    request: Request,
    claims: BearerClaims,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Changes after `cursor`, in server order; deletions and lost access come as tombstones.

    Each change's `type` names its shape (switch on it); `data.version`, where a shape has one,
    is what a later change sends as If-Match. Read until `has_more` is false, then keep
    `next_cursor` for the next sync."""
    # The phone's most frequent request, nearly always a read only. The token is checked by
    # a dependency, as on every route; whether its person is still active is read with the
    # page (`sync_feed`), in one hop outside any unit of work: an up-to-date phone's request
    # is that one read. A page with something on it (or a reader to reconcile) goes on in a
    # unit opened there, not as a dependency (FastAPI's generator dependency and exit
    # stack, per request), which reads without a transaction until something writes
    # (`read_mostly`): a reconciler's tombstone, a supervisor's read recorded in the access
    # log. docs/PERFORMANCE.md.
    state = request.app.state
    page = await sync_feed(
        state.session_factory,
        claims.organisation_id,
        claims.staff_id,
        cursor=cursor,
        limit=limit,
        renderers=renderers(state.key_ring),
        reconcilers=RECONCILERS,
        now=state.clock(),
    )
    if page is None:
        raise invalid_token()
    # The `SyncPage` document, serialised once (pydantic-core, as FastAPI would write the
    # model): building the page model first cost as much as rendering the page
    # (docs/PERFORMANCE.md). tests/api/test_sync_document.py holds it to the model.
    body = {
        "changes": [typed(c) for c in page.changes],
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }
    return Response(to_json(body), media_type="application/json")
