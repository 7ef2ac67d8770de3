"""RFC 9457 problem details for every error, and their declaration in the OpenAPI document."""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.directory.scim import ScimError
from models.errors import DomainError

log = logging.getLogger("harbour.api")
PROBLEM_JSON = "application/problem+json"


PROBLEM_BASE = "urn:harbour:problem:"

# Every kind of problem Harbour answers, by its stable `type` (PROBLEM_BASE + kind). Clients
# branch on the type, never on the English `title` or `detail`. docs/app-developers.md lists
# the same table; tests/api/test_contract.py keeps the two in step.
PROBLEM_KINDS: dict[str, str] = {
    "bad-request": "The request could not be read (a body that is not UTF-8 or not JSON, "
    "or a sign-in step that failed).",
    "unauthenticated": "No access token, or an expired or invalid one: sign in or refresh.",
    "forbidden": "Your roles do not allow this.",
    "not-found": "No such resource, or not yours to see.",
    "method-not-allowed": "The path exists but not with this method (see Allow).",
    "validation": "The request breaks the schema; `errors` says where.",
    "rule-broken": "Well-formed input that breaks a domain rule; `errors` may say where.",
    "body-too-large": "The body is over the configured limit.",
    "if-match-required": "This change needs If-Match with the ETag (or version) you read.",
    "stale-etag": "The resource changed since you read it: read it again and reapply.",
    "conflict": "Conflicts with the current state.",
    "duplicate-id": "The id you generated names another resource, or the same one with a "
    "different body (an offline replay of a create must repeat its body).",
    "record-locked": "The record is signed off or no longer a draft; add an addendum or a new "
    "version instead.",
    "wrong-state": "Not possible in the resource's current state (cancelled, closed, not yet "
    "recorded, ...).",
    "already-done": "You did this already (signed, acknowledged, rated).",
    "email-taken": "A staff member with this e-mail address exists.",
    "draft-open": "A draft of this agreement is open already: edit it.",
    "no-supervisor": "There is no line supervisor to make an agreement with.",
    "supervisor-changed": "The supervisor on this draft no longer supervises this person.",
    "not-attended": "Only those who attended acknowledge the group record.",
    "closure-day-taken": "That day is already a closure day under another name.",
    "rate-limited": "Too many requests: wait for Retry-After seconds.",
    "server-error": "Something went wrong on Harbour's side; it has been logged.",
}

_KIND_BY_STATUS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "stale-etag",
    413: "body-too-large",
    422: "validation",
    428: "if-match-required",
    429: "rate-limited",
    500: "server-error",
}


def problem_type(kind: str) -> str:
    return PROBLEM_BASE + kind


class ProblemIssue(BaseModel):
    """One thing wrong with the request: where (`loc`, or `line` and `field` in a CSV upload),
    what (`msg`) and the kind of check that failed (`type`, pydantic's error type)."""

    msg: str
    loc: list[str | int] | None = None
    type: str | None = None
    line: int | None = None
    field: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details (application/problem+json)."""

    type: str = Field(
        description="The kind of problem, stable across releases: "
        + ", ".join(f"`{problem_type(k)}`" for k in PROBLEM_KINDS)
        + ". New kinds may be added; treat an unknown one by its status.",
        examples=[problem_type("stale-etag")],
    )
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemIssue] | None = None


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    kind: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(kind or _KIND_BY_STATUS.get(status, "bad-request")),
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo `input`: it may be a password.
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


def _scim_error(status: int, detail: str, scim_type: str | None) -> JSONResponse:
    """RFC 7644 3.12: the SCIM error schema (for everything under /scim/)."""
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": detail,
    }
    if scim_type:
        body["scimType"] = scim_type
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/scim+json", headers=headers
    )


def _if_match_missing(exc: RequestValidationError) -> bool:
    """Only the If-Match header is missing: 428, as the domain answers an empty one."""
    errors = exc.errors()
    return bool(errors) and all(
        err.get("type") == "missing" and tuple(err.get("loc", ())) == ("header", "If-Match")
        for err in errors
    )


def _path_patterns(app: FastAPI) -> list[tuple[re.Pattern[str], bool, list[str]]]:
    """The documented paths as patterns, whether each is literal, and its methods (built once
    per app from its own OpenAPI document, so Allow always agrees with the document)."""
    patterns: list[tuple[re.Pattern[str], bool, list[str]]] | None = getattr(
        app.state, "allow_patterns", None
    )
    if patterns is None:
        patterns = []
        for path, item in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
            methods = [m.upper() for m in item if m in _METHODS]
            patterns.append((re.compile(f"^{regex}$"), "{" not in path, methods))
        app.state.allow_patterns = patterns
    return patterns


_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def allowed_methods(request: Request, *, literal_only: bool = False) -> list[str]:
    """Every method the document gives this path (Starlette's 405 names only the first
    route's). `literal_only`: only paths without parameters, so that a literal sub-path
    (`/reflections/templates`) is not taken for an id of the path beside it."""
    literal: set[str] = set()
    templated: set[str] = set()
    for pattern, is_literal, verbs in _path_patterns(request.app):
        if pattern.match(request.url.path):
            (literal if is_literal else templated).update(verbs)
    # A literal path wins over a template it also fits, as in routing.
    return sorted(literal if literal or literal_only else templated)


def _method_not_allowed(methods: list[str]) -> JSONResponse:
    return problem(405, "Method Not Allowed", headers={"Allow": ", ".join(methods)})


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.detail, errors=exc.errors, kind=exc.kind)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path.startswith("/scim/"):
            return _scim_error(400, "The request is not valid.", "invalidValue")
        if any(tuple(err.get("loc", ()))[:1] == ("path",) for err in exc.errors()):
            literal = allowed_methods(request, literal_only=True)
            if literal:  # PUT /reflections/templates: a path that exists, without this method
                return _method_not_allowed(literal)
        if _if_match_missing(exc):
            return problem(428, "This change needs an If-Match header with the ETag you read.")
        return problem(422, "The request is not valid.", errors=_validation_errors(exc))

    @app.exception_handler(ScimError)
    async def _scim(_: Request, exc: ScimError) -> JSONResponse:
        return _scim_error(exc.status, exc.detail, exc.scim_type)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.url.path.startswith("/scim/"):
            return _scim_error(exc.status_code, str(exc.detail), None)
        if exc.status_code == 405 and (methods := allowed_methods(request)):
            return _method_not_allowed(methods)
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "Something went wrong on our side; it has been logged.")


_DESCRIPTIONS = {
    400: "The body could not be read (not UTF-8, or not JSON)",
    401: "Not authenticated (missing, expired or invalid access token)",
    403: "Your roles do not allow this",
    404: "Not found, or not yours to see",
    409: "Conflicts with the current state",
    412: "The If-Match ETag is stale",
    413: "Request body too large",
    422: "The request is not valid",
    428: "If-Match header required (missing or empty)",
    429: "Too many requests",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for a route's error statuses (401 and 422 are added to all)."""
    wanted = sorted({401, 422, *codes})
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in wanted}


_OAUTH_REF = "#/components/schemas/OAuthError"
_BINARY = {"type": "string", "format": "binary"}
_HEADERS = {
    "ETag": {
        "description": "The version you read, for If-Match on your next change (the same "
        'value as the body\'s `version`, quoted: `"3"`)',
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    },
    # Only redirects send it among the documented operations (SCIM, outside this rewrite,
    # sends it on its creates).
    "Location": {"description": "Where to go next", "schema": {"type": "string"}},
}


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _if_match(operation: dict[str, Any]) -> dict[str, Any] | None:
    for param in operation.get("parameters", []):
        if param.get("in") == "header" and param.get("name") == "If-Match":
            return param  # type: ignore[no-any-return]
    return None


def _declare_statuses(path: str, method: str, operation: dict[str, Any]) -> None:
    """What every operation of its sort really answers: 401 when signed in is needed, 400 and
    413 for a body, 412 and 428 around If-Match, 405 for a path the router knows."""
    responses = operation.setdefault("responses", {})
    if _OAUTH_REF in json.dumps(responses):  # RFC 6749 endpoints: their own 400, never 422
        wanted: list[int] = [413]
        for status in wanted:
            responses.setdefault(str(status), _problem_response(status))
        return
    wanted = []
    if operation.get("security"):
        wanted.append(401)
    if "requestBody" in operation:
        wanted += [400, 413]
    if operation.get("parameters") or "requestBody" in operation:
        wanted.append(422)
    if_match = _if_match(operation)
    if if_match is not None:
        wanted += [412, 428]  # stale; missing where required, or empty
        if if_match.get("required"):
            if_match["schema"] = {"type": "string", "minLength": 1}
    del path, method
    for status in wanted:
        responses.setdefault(str(status), _problem_response(status))


def _answer(operation: dict[str, Any], status: str) -> dict[str, Any]:
    """The JSON schema of one answer, without its title (FastAPI names each route's union
    after the route, so two routes answering the same union differ only by title)."""
    response = operation.get("responses", {}).get(status, {})
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return {key: value for key, value in schema.items() if key != "title"}


def _versioned(paths: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers that carry a version, so an ETag: what an If-Match operation answers, and
    what a GET of its path reads. Any operation answering one of these (a create, a sign-off,
    a share) sends the resource's ETag; any other answer has no version to send."""
    found: list[dict[str, Any]] = []
    for item in paths.values():
        operations = {m: op for m, op in item.items() if isinstance(op, dict)}
        if not any(_if_match(op) is not None for op in operations.values()):
            continue
        for method, op in operations.items():
            if method == "get" or _if_match(op) is not None:
                answers = (_answer(op, status) for status in ("200", "201"))
                found += [schema for schema in answers if schema and not _is_list(schema)]
    return found


def _is_list(schema: dict[str, Any]) -> bool:
    """A page or an array: many resources, no one version, so no ETag."""
    ref = schema.get("$ref", "")
    return schema.get("type") == "array" or ref.rsplit("/", 1)[-1].startswith("Page_")


def etag_declared() -> dict[int | str, dict[str, Any]]:
    """`responses=` entry for a route that sends an ETag outside the If-Match paths."""
    return {200: {"headers": {"ETag": _HEADERS["ETag"]}}}


def rewrite_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare error bodies as application/problem+json (RFC 6749 errors stay
    application/json), the statuses and headers every operation really answers, binary
    downloads as binary, and drop FastAPI's own 422 schema."""
    paths = schema.get("paths", {})
    versioned = _versioned(paths)
    for path, item in paths.items():
        for method, operation in item.items():
            if path.startswith("/scim/"):
                continue
            _declare_statuses(path, method, operation)
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                for media, body in content.items():
                    if media != "application/json" and not body.get("schema"):
                        body["schema"] = dict(_BINARY if "csv" not in media else {"type": "string"})
                oauth = content.get("application/json", {}).get("schema", {}).get("$ref")
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    if oauth == _OAUTH_REF:
                        if status == "429":
                            response["headers"] = {"Retry-After": _HEADERS["Retry-After"]}
                        continue
                    body = content.pop("application/json")
                    if status == "422":
                        body = {"schema": {"$ref": "#/components/schemas/Problem"}}
                    content.setdefault(PROBLEM_JSON, body)
                if status in ("200", "201") and _answer(operation, status) in versioned:
                    response.setdefault("headers", {})["ETag"] = _HEADERS["ETag"]
                if status.startswith("3"):  # a redirect: no body, a Location
                    response.pop("content", None)
                    response.setdefault("headers", {})["Location"] = _HEADERS["Location"]
    _offer_password_flow(schema)
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    _require_response_fields(schema)
    return _page_names(schema)


# Answers built by hand, whose optional members really are left out (a problem's `errors`).
_HAND_BUILT = ("Problem",)


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _closure(names: set[str], components: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        todo += _refs(components[name])
    return seen


def _require_response_fields(schema: dict[str, Any]) -> None:
    """Every field of an answer is sent (a default is filled in, `null` included), so the
    schemas only answers use list every property as required: generated clients then type
    them as always present. Schemas a request also uses keep their defaults optional, and
    SCIM (whose answers follow `attributes=`) and hand-built problems are left alone."""
    components = schema.get("components", {}).get("schemas", {})
    sent: set[str] = set()
    answered: set[str] = set()
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if path.startswith("/scim/"):
                sent |= _refs(operation)  # never touched
                continue
            sent |= _refs(operation.get("requestBody")) | _refs(operation.get("parameters"))
            answered |= _refs(operation.get("responses"))
    untouched = _closure(sent, components) | _closure(set(_HAND_BUILT), components)
    for name in _closure(answered, components) - untouched:
        component = components[name]
        if component.get("type") == "object" and component.get("properties"):
            component["required"] = list(component["properties"])


def _page_names(schema: dict[str, Any]) -> dict[str, Any]:
    """`ReflectionPublicPage`, not pydantic's `Page_ReflectionPublic_`: the names clients
    generate classes from."""
    components = schema.get("components", {}).get("schemas", {})
    renames = {
        name: f"{match.group(1)}Page"
        for name in components
        if (match := re.fullmatch(r"Page_(\w+)_", name))
    }
    if not renames:
        return schema
    text = json.dumps(schema)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed: dict[str, Any] = json.loads(text)
    schemas = renamed["components"]["schemas"]
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    return renamed


def _offer_password_flow(schema: dict[str, Any]) -> None:
    """The same bearer token, obtained with the password grant: Swagger UI's "Authorize" then
    signs in with an e-mail address and password instead of asking for a pasted token."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["OAuth2Password"] = {
        "type": "oauth2",
        "description": "POST /api/v1/auth/token (grant_type=password); send the access token "
        "as `Authorization: Bearer <token>`",
        "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
    }
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            security = operation.get("security")
            if security and {"OAuth2Password": []} not in security:
                security.append({"OAuth2Password": []})
