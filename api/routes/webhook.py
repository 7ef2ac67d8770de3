"""The organisation's webhook (admins): its URL and switch, and its signing secret, shown
only when it is made."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AdminActor, IfMatch, IfMatchRequired, KeyRingDep, Now, SessionDep, SettingsDep
from api.problems import problems
from models.notifications.schemas import WebhookPublic, WebhookPut, WebhookWithSecret
from models.notifications.webhooks import (
    Webhook,
    delete_webhook,
    get_webhook,
    put_webhook,
    rotate_secret,
    webhook_etag,
)

router = APIRouter(prefix="/org/webhook", tags=["organisation"])

# A body with a secret in it must not sit in any cache on the way.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _public(row: Webhook) -> WebhookPublic:
    return WebhookPublic.model_validate(row, from_attributes=True)


def _with_secret(row: Webhook, secret: str, response: Response) -> WebhookWithSecret:
    response.headers.update(_NO_STORE)
    return WebhookWithSecret(**_public(row).model_dump(), secret=secret)


@router.get("", name="get_webhook", response_model=WebhookPublic, responses=problems(403, 404))
async def get_webhook_route(
    actor: AdminActor, session: SessionDep, response: Response
) -> WebhookPublic:
    """The organisation's webhook, with its ETag (never its secret)."""
    row = await get_webhook(session, actor)
    response.headers["ETag"] = webhook_etag(row)
    return _public(row)


@router.put(
    "",
    name="put_webhook",
    response_model=WebhookWithSecret | WebhookPublic,
    responses={
        201: {
            "description": "Created, with its secret (shown this once)",
            "model": WebhookWithSecret,
        },
        200: {"description": "Updated (no secret)"},
        **problems(403, 412, 428),
    },
)
async def put_webhook_route(
    body: WebhookPut,
    actor: AdminActor,
    session: SessionDep,
    ring: KeyRingDep,
    settings: SettingsDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> WebhookWithSecret | WebhookPublic:
    """Set the webhook: the first time it is created (201, with its signing secret, shown
    this once); after that its URL and switch are replaced (If-Match required)."""
    row, secret = await put_webhook(
        session,
        actor,
        ring,
        body,
        if_match,
        now,
        allow_insecure=settings.webhook_allow_insecure,
    )
    response.headers["ETag"] = webhook_etag(row)
    if secret is None:
        return _public(row)
    response.status_code = 201
    return _with_secret(row, secret, response)


@router.post(
    "/rotate-secret",
    name="rotate_webhook_secret",
    response_model=WebhookWithSecret,
    responses=problems(403, 404, 412, 428),
)
async def rotate_webhook_secret_route(
    actor: AdminActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> WebhookWithSecret:
    """A new signing secret, shown this once; the old one stops signing at once (If-Match)."""
    row, secret = await rotate_secret(session, actor, ring, if_match, now)
    response.headers["ETag"] = webhook_etag(row)
    return _with_secret(row, secret, response)


@router.delete("", name="delete_webhook", status_code=204, responses=problems(403, 404))
async def delete_webhook_route(actor: AdminActor, session: SessionDep) -> Response:
    """Remove the webhook; what was waiting to go to it goes with it."""
    await delete_webhook(session, actor)
    return Response(status_code=204)
