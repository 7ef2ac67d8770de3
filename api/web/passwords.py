"""The page an invitation or reset link opens: choose a password (docs/identity.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Now, PasswordsDep, SessionDep, SettingsDep
from api.web.render import page
from api.web.security import checked_form
from api.web_session import pre_session
from models.directory.password_links import LinkRefused, set_password

router = APIRouter()
MIN, MAX = 12, 256  # the API's password rule (models.schemas.Password)


def _form(
    request: Request,
    settings: SettingsDep,
    token: str,
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    response = HTMLResponse("")
    request.state.pre_session = pre_session(request, response, settings)
    rendered = page(
        request,
        "set_password.html",
        title="Choose your Harbour password",
        token=token,
        errors=errors or [],
        minimum=MIN,
        status_code=status_code,
    )
    for name, value in response.headers.items():
        if name == "set-cookie":
            rendered.headers.append(name, value)
    return rendered


@router.get("/set-password", name="web_set_password")
async def set_password_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The form an invitation or reset link opens (the link's token rides in the form)."""
    token = request.query_params.get("token", "")[:200]
    return _form(request, settings, token)


@router.post("/set-password", name="web_set_password_post", dependencies=[Depends(checked_form)])
async def set_password_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    now: Now,
    token: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    confirm: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Spend the link and set the password, then on to signing in."""
    errors = []
    if not MIN <= len(password) <= MAX:
        errors.append(
            {"href": "#password", "text": f"Enter a password of {MIN} to {MAX} characters"}
        )
    elif password != confirm:
        errors.append({"href": "#confirm", "text": "The two passwords are not the same"})
    if errors:
        return _form(request, settings, token, errors, 422)
    try:
        await set_password(session, token, passwords.hash(password), now)
    except LinkRefused as exc:
        return _form(request, settings, token, [{"href": "#password", "text": exc.detail}], 400)
    return RedirectResponse("/app/sign-in?password_set=1", status_code=303)
