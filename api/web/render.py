"""Rendering a page: the Jinja2 environment, the navigation each role sees, the form token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from api.settings import Settings
from api.web_session import CSRF_FIELD, csrf_token
from models.actor import Actor
from models.directory.staff import Role

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = Path(__file__).parent / "assets"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _date(value: date | datetime | None) -> str:
    """GOV.UK style: 6 December 2026."""
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def _datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y} at {value:%H:%M} UTC"


def _percent(value: float | None) -> str:
    return "no one to count" if value is None else f"{value * 100:.0f}%"


_env.filters["date"] = _date
_env.filters["datetime"] = _datetime
_env.filters["percent"] = _percent


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str
    section: str


def navigation(actor: Actor | None) -> list[NavItem]:
    """The service navigation: one item per section the caller's roles open."""
    if actor is None:
        return []
    items = [NavItem("/app", "Home", "home")]
    if actor.has(Role.manager) or actor.has(Role.admin) or actor.has(Role.hr):
        items.append(NavItem("/app/units", "Supervision", "units"))
    if actor.has(Role.supervisor):
        items.append(NavItem("/app/supervisees", "Supervisees", "supervisees"))
    if actor.has(Role.hr):
        items.append(NavItem("/app/wellbeing", "Wellbeing", "wellbeing"))
    if actor.has(Role.admin):
        items.append(NavItem("/app/admin", "Administration", "admin"))
    return items


def form_token(request: Request) -> str:
    """The CSRF token for forms on this page (bound to the session, or the pre-session)."""
    settings: Settings = request.app.state.settings
    binding = str(
        getattr(request.state, "web_session", None) or getattr(request.state, "pre_session", "")
    )
    return csrf_token(settings, binding)


def page(
    request: Request,
    template: str,
    *,
    title: str,
    section: str = "home",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A whole page in the GOV.UK template; `title` becomes the <title> and the <h1>."""
    actor: Actor | None = getattr(request.state, "actor", None)
    signed_in_as = getattr(request.state, "display_name", None)
    html = _env.get_template(template).render(
        request=request,
        title=title,
        section=section,
        nav=navigation(actor),
        actor=actor,
        signed_in_as=signed_in_as,
        csrf_field=CSRF_FIELD,
        csrf_token=form_token(request),
        Role=Role,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
