"""What every web page's answer carries, and who may open or post to a page.

Headers: a Content-Security-Policy with no inline script or style (every script is a file
under /app/assets), framing refused, no referrer leaves the site, nothing cached. Forms:
the CSRF token (`api/web_session.py`) is checked on every POST, and a cross-site `Origin`
is refused outright.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import SettingsDep
from api.web_session import CSRF_FIELD, PRE_SESSION_COOKIE, WebActor, csrf_valid
from models.actor import Actor
from models.directory.staff import Role
from models.errors import Forbidden

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
NO_STORE = (b"cache-control", b"no-store")


def is_web_path(path: str) -> bool:
    return path == "/" or path == "/app" or path.startswith("/app/")


class WebHeaders:
    """Pure ASGI middleware adding the headers above to the web pages' answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        assets = scope["path"].startswith("/app/assets/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in HEADERS}
                ]
                headers.extend(HEADERS)
                if not assets:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        raise Forbidden("This form was sent from another site.")


async def checked_form(request: Request, settings: SettingsDep) -> None:
    """Refuse a POST whose CSRF token does not belong to this browser's session."""
    await _same_origin(request)
    form = await request.form()
    binding = getattr(request.state, "web_session", None) or request.cookies.get(PRE_SESSION_COOKIE)
    token = form.get(CSRF_FIELD)
    if not csrf_valid(settings, binding, token if isinstance(token, str) else None):
        raise Forbidden("This form has expired. Go back, reload the page and try again.")


def page_for(*roles: Role, form: bool = False) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """A page's guard: signed in (else to the sign-in page), holding one of `roles` (else
    403), and for a POST a valid form token (else 403). No roles: anyone signed in."""

    async def guard(request: Request, actor: WebActor, settings: SettingsDep) -> Actor:
        if roles and not any(actor.has(role) for role in roles):
            names = " or ".join(r.value for r in roles)
            raise Forbidden(f"This page needs the {names} role.")
        if form:
            await checked_form(request, settings)
        return actor

    return guard


Signed = Annotated[Actor, Depends(page_for())]
SignedForm = Annotated[Actor, Depends(page_for(form=True))]
ManagerPage = Annotated[Actor, Depends(page_for(Role.manager))]
OverseerPage = Annotated[Actor, Depends(page_for(Role.manager, Role.admin, Role.hr))]
ReportPage = Annotated[Actor, Depends(page_for(Role.manager, Role.hr))]
SupervisorPage = Annotated[Actor, Depends(page_for(Role.supervisor))]
HrPage = Annotated[Actor, Depends(page_for(Role.hr))]
AdminPage = Annotated[Actor, Depends(page_for(Role.admin))]
AdminForm = Annotated[Actor, Depends(page_for(Role.admin, form=True))]
