"""The organisation's single sign-on settings and SCIM token (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AdminActor, IfMatch, KeyRingDep, Now, SessionDep, SettingsDep
from api.problems import problems
from api.sso_flow import CALLBACK_PATH
from models.directory.identity_schemas import (
    ScimTokenIssued,
    ScimTokenPublic,
    SsoConfigPublic,
    SsoConfigPut,
)
from models.directory.scim_tokens import get_scim_token, issue_scim_token, revoke_scim_token
from models.directory.sso import (
    delete_sso_config,
    get_sso_config,
    put_sso_config,
    sso_etag,
    sso_public,
)

router = APIRouter(prefix="/org", tags=["organisation"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _callback(settings: SettingsDep) -> str:
    return settings.public_url.rstrip("/") + CALLBACK_PATH


@router.get("/sso", name="get_sso", response_model=SsoConfigPublic, responses=problems(403, 404))
async def get_sso_route(
    actor: AdminActor, session: SessionDep, settings: SettingsDep, response: Response
) -> SsoConfigPublic:
    """The organisation's OpenID Connect settings, with their ETag (never the secret)."""
    row = await get_sso_config(session, actor)
    response.headers["ETag"] = sso_etag(row)
    return sso_public(row, _callback(settings))


@router.put(
    "/sso",
    name="put_sso",
    response_model=SsoConfigPublic,
    responses={
        201: {"description": "Created", "model": SsoConfigPublic},
        **problems(403, 412, 428),
    },
)
async def put_sso_route(
    body: SsoConfigPut,
    actor: AdminActor,
    session: SessionDep,
    ring: KeyRingDep,
    settings: SettingsDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> SsoConfigPublic:
    """Set single sign-on: created the first time (201), replaced after (If-Match required)."""
    row, created = await put_sso_config(
        session,
        actor,
        ring,
        body,
        if_match,
        now,
        allow_loopback_http=settings.env != "production",
    )
    response.headers["ETag"] = sso_etag(row)
    if created:
        response.status_code = 201
    return sso_public(row, _callback(settings))


@router.delete("/sso", name="delete_sso", status_code=204, responses=problems(403, 404))
async def delete_sso_route(actor: AdminActor, session: SessionDep, now: Now) -> Response:
    """Switch single sign-on off."""
    await delete_sso_config(session, actor, now)
    return Response(status_code=204)


@router.get(
    "/scim-token",
    name="get_scim_token",
    response_model=ScimTokenPublic,
    responses=problems(403, 404),
)
async def get_scim_token_route(actor: AdminActor, session: SessionDep) -> ScimTokenPublic:
    """When the SCIM token was made and last used (never the token)."""
    return await get_scim_token(session, actor)


@router.post(
    "/scim-token",
    name="issue_scim_token",
    status_code=201,
    response_model=ScimTokenIssued,
    responses=problems(403),
)
async def issue_scim_token_route(
    actor: AdminActor, session: SessionDep, now: Now, response: Response
) -> ScimTokenIssued:
    """Make the SCIM bearer token, or rotate it (the old one stops at once); shown once."""
    response.headers.update(_NO_STORE)
    return await issue_scim_token(session, actor, now)


@router.delete(
    "/scim-token", name="revoke_scim_token", status_code=204, responses=problems(403, 404)
)
async def revoke_scim_token_route(actor: AdminActor, session: SessionDep, now: Now) -> Response:
    """Revoke the SCIM token: provisioning stops until a new one is made."""
    await revoke_scim_token(session, actor, now)
    return Response(status_code=204)
