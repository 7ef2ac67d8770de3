"""RFC 9457 problem details for every error, and their declaration in the OpenAPI document."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.directory.scim import ScimError
from models.errors import DomainError

log = logging.getLogger("harbour.api")
PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


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


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.detail, errors=exc.errors)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path.startswith("/scim/"):
            return _scim_error(400, "The request is not valid.", "invalidValue")
        return problem(422, "The request is not valid.", errors=_validation_errors(exc))

    @app.exception_handler(ScimError)
    async def _scim(_: Request, exc: ScimError) -> JSONResponse:
        return _scim_error(exc.status, exc.detail, exc.scim_type)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.url.path.startswith("/scim/"):
            return _scim_error(exc.status_code, str(exc.detail), None)
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "Something went wrong on our side; it has been logged.")


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated (missing, expired or invalid access token)",
    403: "Your roles do not allow this",
    404: "Not found, or not yours to see",
    409: "Conflicts with the current state",
    412: "The If-Match ETag is stale",
    413: "Request body too large",
    422: "The request is not valid",
    428: "If-Match header required",
    429: "Too many requests",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for a route's error statuses (401 and 422 are added to all)."""
    wanted = sorted({401, 422, *codes})
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in wanted}


def rewrite_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare error bodies as application/problem+json and drop FastAPI's own 422 schema."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    body = content.pop("application/json")
                    if status == "422":
                        body = {"schema": {"$ref": "#/components/schemas/Problem"}}
                    content.setdefault(PROBLEM_JSON, body)
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema
