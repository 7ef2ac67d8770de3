"""Admins' audit pages: the organisation's access log, analytics audit and identity audit,
filtered by person and date, a page at a time, with CSV downloads.

The same domain reads as the API's `/admin/access-log`, `/admin/analytics-audit` and
`/admin/identity-audit` (and their `.csv`), with the same `Actor`: reading the access log is
itself recorded in the analytics audit (under the pages' own endpoint names), refusals
included; reading the other two is not (models/audit.py says why).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import Cursor, Now, SessionDep
from api.refusals import audit_refusals
from api.web.forms import FormErrors
from api.web.render import page
from api.web.security import AdminPage
from models.actor import Actor
from models.audit import (
    ACCESS_LOG_CSV_HEADER,
    ANALYTICS_AUDIT_CSV_HEADER,
    CSV_MAX,
    IDENTITY_AUDIT_CSV_HEADER,
    Window,
    access_log_row,
    analytics_audit_row,
    identity_audit_row,
    organisation_access_log,
    organisation_analytics_audit,
    organisation_identity_audit,
)
from models.directory.identity import IDENTITY_ACTION_LABELS, IdentityAction
from models.directory.service import readable_staff_all
from models.errors import Invalid
from models.pagination import DEFAULT_LIMIT
from models.spreadsheet import CSV_MEDIA_TYPE, csv_bytes

router = APIRouter(prefix="/admin")

WEB_ACCESS_LOG = "web_admin_access_log"
WEB_ACCESS_LOG_CSV = "web_admin_access_log_csv"
_DMY = re.compile(r"^(\d{1,2})[/. -](\d{1,2})[/. -](\d{4})$")
DATE_LABELS = {"from": "From", "to": "To"}


def _day(raw: str, name: str, errors: FormErrors) -> date | None:
    """A filter date as a person types it: 27/3/2026 (or 27 3 2026), or 2026-03-27."""
    text = raw.strip()
    if not text:
        return None
    try:
        found = _DMY.match(text)
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
        return date.fromisoformat(text)
    except ValueError:
        errors.add(name, f"{DATE_LABELS[name]} must be a real date, like 27/3/2026")
        return None


def _person(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


class Filters:
    """The filter form's values (as typed) and what they mean (None: no filter)."""

    def __init__(self, request: Request, *, with_action: bool = False) -> None:
        query = request.query_params
        self.errors = FormErrors()
        self.person = query.get("person", "")[:40]
        self.person_id = _person(self.person)
        if self.person and self.person_id is None:
            self.errors.add("person", "Choose a person from the list")
        self.endpoint = query.get("endpoint", "").strip()[:80]
        # Only the identity audit's page has the field (elsewhere the parameter is ignored).
        self.action_text = query.get("action", "").strip()[:60] if with_action else ""
        self.action: IdentityAction | None = None
        if self.action_text:
            try:
                self.action = IdentityAction(self.action_text)
            except ValueError:
                self.errors.add("action", "Choose a change from the list")
        self.from_text = query.get("from", "")[:20]
        self.to_text = query.get("to", "")[:20]
        start = _day(self.from_text, "from", self.errors)
        end = _day(self.to_text, "to", self.errors)
        self.window = Window()
        if not self.errors:
            try:
                self.window = Window(start, end)
            except Invalid as exc:  # out of range, or "to" before "from": the domain's rule
                for e in exc.errors or []:
                    name = str(e["loc"][-1])
                    self.errors.add(name, f"{DATE_LABELS[name]}: {exc.detail.replace('`', '')}")

    def query(self, **extra: str | None) -> str:
        """These filters (and `extra`) as a query string, for paging and download links."""
        values = {
            "person": self.person,
            "endpoint": self.endpoint,
            "action": self.action_text,
            "from": self.from_text,
            "to": self.to_text,
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v})


async def _people(session: SessionDep, actor: Actor) -> list[tuple[str, str]]:
    staff = list(await readable_staff_all(session, actor))
    staff.sort(key=lambda s: s.display_name.casefold())
    return [("", "Anyone")] + [(str(s.id), f"{s.display_name} ({s.email})") for s in staff]


def _csv(name: str, body: bytes, more: str | None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if more is not None:
        headers["Link"] = f'<{more}>; rel="next"'
    return Response(body, media_type=CSV_MEDIA_TYPE, headers=headers)


Reader = Callable[[int, str | None], Awaitable[Any]]  # (limit, cursor) -> the domain's page


async def _audit_page(
    request: Request,
    actor: Actor,
    session: SessionDep,
    filters: Filters,
    cursor: str | None,
    read: Reader,
    *,
    template: str,
    title: str,
    here: str,
    more: dict[str, Any] | None = None,
) -> HTMLResponse:
    """One of the audit pages: the filter form, a page of entries (none while the filters
    are wrong: the form answers 422 with its errors), and the link to the next."""
    context: dict[str, Any] = {"entries": [], "next_cursor": None}
    if not filters.errors:
        found = await read(DEFAULT_LIMIT, cursor)
        context = {"entries": found.data, "next_cursor": found.next_cursor}
    return page(
        request,
        template,
        title=title,
        section="admin",
        here=here,
        filters=filters,
        people=await _people(session, actor),
        cursor=cursor,
        errors=filters.errors.summary,
        by_field=filters.errors.by_field,
        status_code=422 if filters.errors else 200,
        **context,
        **(more or {}),
    )


async def _audit_csv(
    request: Request,
    filters: Filters,
    cursor: str | None,
    read: Reader,
    *,
    name: str,
    header: Sequence[str],
    row: Callable[[Any], Sequence[Any]],
) -> Response:
    """The filtered entries as CSV (the API's columns; up to CSV_MAX rows a file, a `Link`
    to the next file)."""
    if filters.errors:
        raise Invalid(filters.errors.summary[0]["text"])
    found = await read(CSV_MAX, cursor)
    body = csv_bytes(header, [row(e) for e in found.data])
    more = found.next_cursor and f"{request.url.path}?{filters.query(cursor=found.next_cursor)}"
    return _csv(name, body, more)


def _access_log(
    session: SessionDep, actor: Actor, filters: Filters, now: datetime, endpoint: str
) -> Reader:
    async def read(limit: int, cursor: str | None) -> Any:
        return await organisation_access_log(
            session,
            actor,
            reader_id=None,
            subject_id=None,
            person_id=filters.person_id,
            window=filters.window,
            limit=limit,
            cursor=cursor,
            now=now,
            endpoint=endpoint,
        )

    return read


def _analytics_audit(session: SessionDep, actor: Actor, filters: Filters) -> Reader:
    async def read(limit: int, cursor: str | None) -> Any:
        return await organisation_analytics_audit(
            session,
            actor,
            actor_id=filters.person_id,
            endpoint=filters.endpoint or None,
            window=filters.window,
            limit=limit,
            cursor=cursor,
        )

    return read


def _identity_audit(session: SessionDep, actor: Actor, filters: Filters) -> Reader:
    async def read(limit: int, cursor: str | None) -> Any:
        return await organisation_identity_audit(
            session,
            actor,
            person_id=filters.person_id,
            action=filters.action,
            window=filters.window,
            limit=limit,
            cursor=cursor,
        )

    return read


@router.get(
    "/access-log",
    name="web_admin_access_log",
    dependencies=[Depends(audit_refusals(WEB_ACCESS_LOG))],
)
async def access_log_page(
    request: Request, actor: AdminPage, session: SessionDep, now: Now, cursor: Cursor = None
) -> HTMLResponse:
    """Who read whose data in the organisation, newest first (the read is audited)."""
    filters = Filters(request)
    read = _access_log(session, actor, filters, now, WEB_ACCESS_LOG)
    return await _audit_page(
        request,
        actor,
        session,
        filters,
        cursor,
        read,
        template="admin/access_log.html",
        title="Access log",
        here="access",
    )


@router.get(
    "/access-log.csv",
    name="web_admin_access_log_csv",
    dependencies=[Depends(audit_refusals(WEB_ACCESS_LOG_CSV))],
    response_model=None,
)
async def access_log_csv(
    request: Request, actor: AdminPage, session: SessionDep, now: Now, cursor: Cursor = None
) -> Response:
    """The filtered access log as CSV (the API's columns; up to 10,000 rows a file)."""
    filters = Filters(request)
    read = _access_log(session, actor, filters, now, WEB_ACCESS_LOG_CSV)
    return await _audit_csv(
        request,
        filters,
        cursor,
        read,
        name="access-log.csv",
        header=ACCESS_LOG_CSV_HEADER,
        row=access_log_row,
    )


@router.get("/analytics-audit", name="web_admin_analytics_audit")
async def analytics_audit_page(
    request: Request, actor: AdminPage, session: SessionDep, cursor: Cursor = None
) -> HTMLResponse:
    """Every analytics request in the organisation, and every read of the access log."""
    filters = Filters(request)
    return await _audit_page(
        request,
        actor,
        session,
        filters,
        cursor,
        _analytics_audit(session, actor, filters),
        template="admin/analytics_audit.html",
        title="Analytics audit",
        here="audit",
    )


@router.get("/analytics-audit.csv", name="web_admin_analytics_audit_csv", response_model=None)
async def analytics_audit_csv(
    request: Request, actor: AdminPage, session: SessionDep, cursor: Cursor = None
) -> Response:
    """The filtered analytics audit as CSV (the API's columns; up to 10,000 rows a file)."""
    filters = Filters(request)
    return await _audit_csv(
        request,
        filters,
        cursor,
        _analytics_audit(session, actor, filters),
        name="analytics-audit.csv",
        header=ANALYTICS_AUDIT_CSV_HEADER,
        row=analytics_audit_row,
    )


@router.get("/identity-audit", name="web_admin_identity_audit")
async def identity_audit_page(
    request: Request, actor: AdminPage, session: SessionDep, cursor: Cursor = None
) -> HTMLResponse:
    """Who changed the organisation's sign-in: single sign-on, the SCIM token, invitations."""
    filters = Filters(request, with_action=True)
    return await _audit_page(
        request,
        actor,
        session,
        filters,
        cursor,
        _identity_audit(session, actor, filters),
        template="admin/identity_audit.html",
        title="Sign-in changes",
        here="identity",
        more={
            "labels": IDENTITY_ACTION_LABELS,
            "actions": [
                ("", "Any change"),
                *((a.value, t) for a, t in IDENTITY_ACTION_LABELS.items()),
            ],
        },
    )


@router.get("/identity-audit.csv", name="web_admin_identity_audit_csv", response_model=None)
async def identity_audit_csv(
    request: Request, actor: AdminPage, session: SessionDep, cursor: Cursor = None
) -> Response:
    """The filtered identity audit as CSV (the API's columns; up to 10,000 rows a file)."""
    filters = Filters(request, with_action=True)
    return await _audit_csv(
        request,
        filters,
        cursor,
        _identity_audit(session, actor, filters),
        name="identity-audit.csv",
        header=IDENTITY_AUDIT_CSV_HEADER,
        row=identity_audit_row,
    )
