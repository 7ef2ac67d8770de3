"""The page an invitation or reset link opens (choose a password), and the page to ask for a
reset link (docs/identity.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import MailerDep, Now, PasswordsDep, SessionDep, SettingsDep
from api.mail import link_mail
from api.web.render import page
from api.web.security import checked_form
from api.web_session import pre_session
from models.directory.password_links import LinkRefused, request_reset, set_password

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


def _forgot(
    request: Request, settings: SettingsDep, *, sent: bool, errors: list[dict[str, str]]
) -> HTMLResponse:
    response = HTMLResponse("")
    request.state.pre_session = pre_session(request, response, settings)
    rendered = page(
        request,
        "forgot_password.html",
        title="Forgotten your password?",
        sent=sent,
        errors=errors,
        mail=bool(settings.smtp_host),
        status_code=422 if errors else 200,
    )
    for name, value in response.headers.items():
        if name == "set-cookie":
            rendered.headers.append(name, value)
    return rendered


@router.get("/forgot-password", name="web_forgot_password")
async def forgot_password_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Ask for a link to set a new password."""
    return _forgot(request, settings, sent=False, errors=[])


@router.post(
    "/forgot-password",
    name="web_forgot_password_post",
    dependencies=[Depends(checked_form)],
)
async def forgot_password_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
    background: BackgroundTasks,
    now: Now,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """The same answer whatever the address (the API's /auth/password/forgot)."""
    if not email.strip():
        return _forgot(
            request,
            settings,
            sent=False,
            errors=[{"href": "#email", "text": "Enter your e-mail address"}],
        )
    lifetime = timedelta(minutes=settings.password_reset_minutes)
    link = await request_reset(session, email, now, lifetime, settings.public_url)
    if link is not None and mailer.configured:
        background.add_task(mailer.send, [link_mail(link, lifetime.total_seconds() / 3600)])
    return _forgot(request, settings, sent=True, errors=[])
