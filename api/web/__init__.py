"""Harbour on the web: server-rendered pages for managers, supervisors, HR and admins.

Mounted under /app by `install`. Every page calls the same domain functions as the API with
the same `Actor`, so a page cannot show what the API would not; pages only shape the answer
(sort, filter, format). See docs/web.md.
"""

from __future__ import annotations

import inspect
from typing import Any, cast
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problems import problem
from api.web import (
    admin,
    admin_audit,
    admin_policy,
    home,
    passwords,
    sign_in,
    supervisees,
    talk,
    units,
    wellbeing,
)
from api.web.render import ASSETS, page
from api.web.security import WebHeaders, is_web_path
from api.web_session import COOKIE, SignInRequired, forget_session
from models.errors import DomainError

_TITLES = {
    400: "There is a problem with this page address",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "Page not found",
    409: "This has changed since you opened it",
    412: "Someone else changed this while you were editing",
    422: "There is a problem",
    428: "Reload the page and try again",
}


def _error_page(request: Request, status: int, detail: str) -> Response:
    title = _TITLES.get(status, "Sorry, there is a problem with the service")
    return page(request, "error.html", title=title, detail=detail, status_code=status)


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """The API's own handler, for everything outside the pages."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    return cast(Response, result)


def install(app: FastAPI) -> None:
    """Mount the pages under /app, their assets under /app/assets, and `GET /`."""
    for module in (
        sign_in,
        passwords,
        home,
        units,
        supervisees,
        talk,
        wellbeing,
        admin,
        admin_audit,
        admin_policy,
    ):
        app.include_router(module.router, prefix="/app", include_in_schema=False)
    app.mount("/app/assets", StaticFiles(directory=ASSETS, check_dir=False), name="web_assets")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/app", status_code=303)

    app.add_middleware(WebHeaders)

    api_domain = app.exception_handlers[DomainError]
    api_http = app.exception_handlers[StarletteHTTPException]
    api_invalid = app.exception_handlers[RequestValidationError]

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if not is_web_path(request.url.path):  # JSON routes on the cookie (GET /auth/session)
            if exc.presented:
                await forget_session(request, exc.presented)
            return problem(401, "Sign in first.")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        expired = ""
        if exc.presented:
            await forget_session(request, exc.presented)
            expired = "&expired=1"
        response = RedirectResponse(
            f"/app/sign-in?next={quote(target, safe='')}{expired}", status_code=303
        )
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if is_web_path(request.url.path):
            return _error_page(request, exc.status, exc.detail)
        return await _delegate(api_domain, request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_web_path(request.url.path) and not request.url.path.startswith("/app/assets/"):
            return _error_page(request, exc.status_code, "")
        return await _delegate(api_http, request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if is_web_path(request.url.path):
            return _error_page(request, 400, "Check the address, or go back and try again.")
        return await _delegate(api_invalid, request, exc)
