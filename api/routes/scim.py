"""SCIM 2.0 service provider at /scim/v2 (RFC 7644): the council's directory provisions
staff. Authenticated by the organisation's SCIM bearer token (admins make it:
/api/v1/org/scim-token); answers `application/scim+json`, errors in the SCIM error schema.
Not in the OpenAPI document (SCIM describes itself: /ServiceProviderConfig, /Schemas,
/ResourceTypes)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Error,
    ETag,
    Filter,
    Group,
    ListResponse,
    Patch,
    ResourceType,
    ResponseParameters,
    SchemaExtension,
    SCIMException,
    ServiceProviderConfig,
    Sort,
)

from api.deps import Now, SessionDep
from models.directory.scim import (
    MAX_PAGE,
    ScimError,
    ScimUser,
    Scope,
    create_user,
    delete_user,
    dump,
    enterprise_schema,
    get_user,
    list_users,
    patch_user,
    replace_user,
    user_schema,
)
from models.directory.scim_groups import (
    create_group,
    delete_group,
    get_group,
    group_schema,
    list_groups,
    patch_group,
    replace_group,
)
from models.directory.scim_tokens import scim_organisation

SCIM_JSON = "application/scim+json"
PREFIX = "/scim/v2"
MAX_BODY = 256 * 1024
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def scim_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, media_type=SCIM_JSON, headers=headers)


def scim_error(exc: ScimError) -> Response:
    error = Error(status=exc.status, scim_type=exc.scim_type, detail=exc.detail)
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else None
    return scim_response(error.model_dump(), exc.status, headers)


async def scim_scope(request: Request, session: SessionDep, now: Now) -> Scope:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    organisation = None
    if scheme.lower() == "bearer" and token:
        organisation = await scim_organisation(session, token.strip(), now)
    if organisation is None:
        raise ScimError(401, "A valid SCIM bearer token is required.")
    return Scope(organisation, str(request.base_url).rstrip("/") + PREFIX)


ScopeDep = Annotated[Scope, Depends(scim_scope)]


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    return names or None


async def response_parameters(
    attributes: Annotated[str | None, Query(max_length=1000)] = None,
    excluded: Annotated[str | None, Query(alias="excludedAttributes", max_length=1000)] = None,
) -> ResponseParameters[Any] | None:
    """RFC 7644 3.4.2.5: `attributes` or `excludedAttributes` (not both) on GET."""
    if attributes is None and excluded is None:
        return None
    try:
        return ResponseParameters(
            attributes=_names(attributes), excluded_attributes=_names(excluded)
        )
    except (ValidationError, SCIMException) as exc:
        raise ScimError(
            400, "attributes and excludedAttributes are not valid together.", "invalidValue"
        ) from exc


Shown = Annotated[ResponseParameters[Any] | None, Depends(response_parameters)]


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ScimError(413, "The request is too large.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ScimError(400, "The body is not JSON.", "invalidSyntax") from exc


def _etag(resource: ScimUser | Group) -> dict[str, str]:
    version = resource.meta.version if resource.meta else None
    return {"ETag": version} if version else {}


class Listing:
    """A list request's query (RFC 7644 3.4.2): the filter, the 1-based page, the attributes."""

    def __init__(
        self,
        filter: Annotated[str | None, Query(max_length=1000)] = None,  # noqa: A002
        start_index: Annotated[int, Query(alias="startIndex")] = 1,
        count: Annotated[int, Query()] = 100,
        shown: Shown = None,
    ) -> None:
        self.filter, self.start_index, self.count, self.shown = filter, start_index, count, shown

    def answer(self, page_type: type[ListResponse[Any]], total: int, found: list[Any]) -> Response:
        page = page_type(
            total_results=total,
            start_index=max(self.start_index, 1),
            items_per_page=len(found),
            resources=found or None,
        )
        return scim_response(
            page.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=self.shown)
        )


ListingDep = Annotated[Listing, Depends()]


def _created(resource: ScimUser | Group, body: dict[str, Any]) -> Response:
    location = resource.meta.location if resource.meta and resource.meta.location else ""
    return scim_response(body, 201, {**_etag(resource), "Location": location})


@router.get("/ServiceProviderConfig")
async def service_provider_config(_scope: ScopeDep) -> Response:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_PAGE),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="The organisation's SCIM token, made by an admin in Harbour.",
                primary=True,
            )
        ],
    )
    config.meta = None
    return scim_response(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _group_type(base: str) -> ResourceType:
    rt = ResourceType(
        id="Group",
        name="Group",
        endpoint="/Groups",
        description="Groups of staff, mapped to roles as the organisation configures",
        schema_="urn:ietf:params:scim:schemas:core:2.0:Group",
    )
    rt.meta = {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"}  # type: ignore[assignment]
    return rt


def _resource_type(base: str) -> ResourceType:
    rt = ResourceType(
        id="User",
        name="User",
        endpoint="/Users",
        description="Staff",
        schema_="urn:ietf:params:scim:schemas:core:2.0:User",
        schema_extensions=[
            SchemaExtension(
                schema_="urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                required=False,
            )
        ],
    )
    rt.meta = {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"}  # type: ignore[assignment]
    return rt


def _schemas(base: str) -> list[Any]:
    out = []
    for schema in (user_schema(), enterprise_schema(), group_schema()):
        schema.meta = {"resourceType": "Schema", "location": f"{base}/Schemas/{schema.id}"}  # type: ignore[assignment]
        out.append(schema)
    return out


def _listing(items: list[Any]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


@router.get("/ResourceTypes")
async def resource_types(scope: ScopeDep) -> Response:
    types = (_resource_type(scope.base_url), _group_type(scope.base_url))
    return scim_response(
        _listing([rt.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for rt in types])
    )


@router.get("/ResourceTypes/{name}")
async def resource_type(name: str, scope: ScopeDep) -> Response:
    types = {"User": _resource_type, "Group": _group_type}
    if name not in types:
        raise ScimError(404, "No such resource type.")
    rt = types[name](scope.base_url)
    return scim_response(rt.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


@router.get("/Schemas")
async def schemas(scope: ScopeDep) -> Response:
    found = [
        s.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for s in _schemas(scope.base_url)
    ]
    return scim_response(_listing(found))


@router.get("/Schemas/{schema_id}")
async def schema(schema_id: str, scope: ScopeDep) -> Response:
    for found in _schemas(scope.base_url):
        if found.id == schema_id:
            return scim_response(found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    raise ScimError(404, "No such schema.")


@router.get("/Users")
async def list_users_route(scope: ScopeDep, session: SessionDep, q: ListingDep) -> Response:
    total, users = await list_users(
        session, scope, filter_text=q.filter, start_index=q.start_index, count=q.count
    )
    return q.answer(ListResponse[ScimUser], total, users)


@router.post("/Users")
async def create_user_route(
    request: Request, scope: ScopeDep, session: SessionDep, now: Now
) -> Response:
    user = await create_user(session, scope, await _body(request), now)
    return _created(user, dump(user, Context.RESOURCE_CREATION_RESPONSE))


@router.get("/Users/{user_id}")
async def get_user_route(
    user_id: str, scope: ScopeDep, session: SessionDep, shown: Shown = None
) -> Response:
    user = await get_user(session, scope, user_id)
    body = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=shown)
    return scim_response(body, headers=_etag(user))


@router.put("/Users/{user_id}")
async def replace_user_route(
    user_id: str, request: Request, scope: ScopeDep, session: SessionDep, now: Now
) -> Response:
    user = await replace_user(session, scope, user_id, await _body(request), now)
    return scim_response(dump(user, Context.RESOURCE_REPLACEMENT_RESPONSE), headers=_etag(user))


@router.patch("/Users/{user_id}")
async def patch_user_route(
    user_id: str, request: Request, scope: ScopeDep, session: SessionDep, now: Now
) -> Response:
    user = await patch_user(session, scope, user_id, await _body(request), now)
    return scim_response(dump(user, Context.RESOURCE_PATCH_RESPONSE), headers=_etag(user))


@router.delete("/Users/{user_id}", status_code=204)
async def delete_user_route(
    user_id: str, scope: ScopeDep, session: SessionDep, now: Now
) -> Response:
    await delete_user(session, scope, user_id, now)
    return Response(status_code=204)


@router.get("/Groups")
async def list_groups_route(scope: ScopeDep, session: SessionDep, q: ListingDep) -> Response:
    total, groups = await list_groups(
        session, scope, filter_text=q.filter, start_index=q.start_index, count=q.count
    )
    return q.answer(ListResponse[Group], total, groups)


@router.post("/Groups")
async def create_group_route(
    request: Request, scope: ScopeDep, session: SessionDep, now: Now
) -> Response:
    group = await create_group(session, scope, await _body(request), now)
    return _created(group, group.model_dump(scim_ctx=Context.RESOURCE_CREATION_RESPONSE))


@router.get("/Groups/{group_id}")
async def get_group_route(
    group_id: str, scope: ScopeDep, session: SessionDep, shown: Shown = None
) -> Response:
    group = await get_group(session, scope, group_id)
    body = group.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=shown)
    return scim_response(body, headers=_etag(group))


@router.put("/Groups/{group_id}")
async def replace_group_route(
    group_id: str, request: Request, scope: ScopeDep, session: SessionDep, now: Now
) -> Response:
    group = await replace_group(session, scope, group_id, await _body(request), now)
    return scim_response(
        group.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_RESPONSE), headers=_etag(group)
    )


@router.patch("/Groups/{group_id}")
async def patch_group_route(
    group_id: str, request: Request, scope: ScopeDep, session: SessionDep, now: Now
) -> Response:
    group = await patch_group(session, scope, group_id, await _body(request), now)
    return scim_response(
        group.model_dump(scim_ctx=Context.RESOURCE_PATCH_RESPONSE), headers=_etag(group)
    )


@router.delete("/Groups/{group_id}", status_code=204)
async def delete_group_route(
    group_id: str, scope: ScopeDep, session: SessionDep, now: Now
) -> Response:
    await delete_group(session, scope, group_id, now)
    return Response(status_code=204)


@router.post("/.search")
@router.post("/Users/.search")
@router.post("/Groups/.search")
async def search_route(_scope: ScopeDep) -> Response:
    """RFC 7644 3.4.3 searches by POST are not offered (GET with `filter` is): 501."""
    raise ScimError(501, "Search by POST is not supported; use GET with filter.")
