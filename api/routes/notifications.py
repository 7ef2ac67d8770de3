"""The in-app inbox, push devices and my notification preferences."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from fastapi import APIRouter, Response

from api.deps import CurrentActor, Cursor, IfMatchRequired, Limit, Now, SessionDep
from api.problems import problems
from models.notifications.outbox import (
    Notification,
    delete_device,
    list_notifications,
    mark_read,
    register_device,
)
from models.notifications.preferences import Preferences, get_preferences, update_preferences
from models.notifications.schemas import (
    DeviceCreate,
    DevicePublic,
    NotificationPublic,
    PreferencesBody,
    PreferencesPublic,
)
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page

router = APIRouter(tags=["notifications"])


def _public(row: Notification) -> NotificationPublic:
    return NotificationPublic.model_validate(row, from_attributes=True)


@router.get(
    "/notifications",
    name="list_notifications",
    response_model=Page[NotificationPublic],
    responses=problems(),
)
async def list_notifications_route(
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[NotificationPublic]:
    """My inbox, newest first (reminders deferred by quiet hours appear when due)."""
    rows, next_cursor = await list_notifications(session, actor, now, limit=limit, cursor=cursor)
    return Page(data=[_public(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/notifications/{notification_id}/read",
    name="mark_notification_read",
    response_model=NotificationPublic,
    responses=problems(404),
)
async def mark_notification_read_route(
    notification_id: uuid.UUID, actor: CurrentActor, session: SessionDep, now: Now
) -> NotificationPublic:
    """Mark one of my notifications read."""
    return _public(await mark_read(session, actor, notification_id, now))


@router.post(
    "/devices",
    name="register_device",
    status_code=201,
    response_model=DevicePublic,
    responses={
        **problems(),
        200: {
            "model": DevicePublic,
            "description": "A repeat of an earlier create (same id or token)",
        },
    },
)
async def register_device_route(
    body: DeviceCreate, actor: CurrentActor, session: SessionDep, now: Now, response: Response
) -> DevicePublic:
    """Register a phone for push; the same token again answers the same device (200)."""
    device, created = await register_device(session, actor, body.platform, body.token, now)
    if not created:
        response.status_code = 200
    return DevicePublic.model_validate(device, from_attributes=True)


@router.delete(
    "/devices/{device_id}",
    name="delete_device",
    status_code=204,
    responses=problems(404),
)
async def delete_device_route(
    device_id: uuid.UUID, actor: CurrentActor, session: SessionDep
) -> Response:
    """Unregister one of my phones."""
    await delete_device(session, actor, device_id)
    return Response(status_code=204)


@router.get(
    "/me/preferences",
    name="get_my_preferences",
    response_model=PreferencesPublic,
    responses=problems(),
)
async def get_my_preferences_route(
    actor: CurrentActor, session: SessionDep, response: Response
) -> PreferencesPublic:
    """My time zone, quiet hours, weekly check-in nudge and push switch."""
    return _preferences(await get_preferences(session, actor), response)


@router.put(
    "/me/preferences",
    name="put_my_preferences",
    response_model=PreferencesPublic,
    responses=problems(412, 422, 428),
)
async def put_my_preferences_route(
    body: PreferencesBody,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> PreferencesPublic:
    """Replace my notification preferences (If-Match: the ETag of my last read)."""
    saved = await update_preferences(
        session, actor, Preferences(**body.model_dump()), if_match, now
    )
    return _preferences(saved, response)


def _preferences(prefs: Preferences, response: Response) -> PreferencesPublic:
    response.headers["ETag"] = prefs.etag
    return PreferencesPublic(**asdict(prefs))
