"""The home page (what each of the caller's roles opens) and the accessibility statement."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web.render import page
from api.web.security import Signed

router = APIRouter()


@router.get("", name="web_home")
async def home_page(request: Request, _actor: Signed) -> HTMLResponse:
    """The sections the caller's roles open."""
    return page(request, "home.html", title="Harbour")


@router.get("/accessibility", name="web_accessibility")
async def accessibility_page(request: Request) -> HTMLResponse:
    """The accessibility statement (no sign-in needed)."""
    return page(request, "accessibility.html", title="Accessibility statement for Harbour")
