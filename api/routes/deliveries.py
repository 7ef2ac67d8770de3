"""Delivery status for admins: what went out by push and webhook, what is waiting, what died;
and a retry for the dead."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminActor, Cursor, Limit, Now, SessionDep
from api.problems import problems
from models.notifications.deliveries import DeliveryChannel, DeliveryStatus
from models.notifications.delivery_status import (
    DeliveryView,
    delivery_summary,
    list_deliveries,
    retry_delivery,
)
from models.notifications.schemas import ChannelSummary, DeliveryPublic, DeliverySummary
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page

router = APIRouter(prefix="/deliveries", tags=["deliveries"])


def _public(view: DeliveryView) -> DeliveryPublic:
    return DeliveryPublic.model_validate(view, from_attributes=True)


@router.get(
    "", name="list_deliveries", response_model=Page[DeliveryPublic], responses=problems(403)
)
async def list_deliveries_route(
    actor: AdminActor,
    session: SessionDep,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    channel: Annotated[DeliveryChannel | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeliveryPublic]:
    """The organisation's deliveries, newest first (no recipient on personal reminders)."""
    rows, next_cursor = await list_deliveries(
        session, actor, status=status, channel=channel, limit=limit, cursor=cursor
    )
    return Page(data=[_public(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/summary",
    name="delivery_summary",
    response_model=DeliverySummary,
    responses=problems(403),
)
async def delivery_summary_route(actor: AdminActor, session: SessionDep) -> DeliverySummary:
    """How many deliveries are pending, sent and dead per channel, and the oldest one due."""
    channels, oldest = await delivery_summary(session, actor)
    return DeliverySummary(
        channels=[ChannelSummary.model_validate(c, from_attributes=True) for c in channels],
        oldest_due_at=oldest,
    )


@router.post(
    "/{delivery_id}/retry",
    name="retry_delivery",
    response_model=DeliveryPublic,
    responses=problems(403, 404, 409),
)
async def retry_delivery_route(
    delivery_id: uuid.UUID, actor: AdminActor, session: SessionDep, now: Now
) -> DeliveryPublic:
    """Send a dead delivery again, from now, with its attempts counted afresh."""
    return _public(await retry_delivery(session, actor, delivery_id, now))
