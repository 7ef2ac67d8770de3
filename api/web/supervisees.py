"""A supervisor's pages: supervisees' status and actions, notes shared with them, requests
to talk. Reading shared notes is logged for their authors exactly as through the API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import Cursor, KeyRingDep, Now, SessionDep
from api.web.render import page
from api.web.security import Signed, SupervisorPage
from api.web.tables import matches, table_view
from api.web.units import STATUSES, staff_table
from models.directory.staff import Role
from models.pagination import MAX_LIMIT
from supervision.oversight.rollup import supervisees_oversight
from supervision.reflections.notes import get_reflection, list_shared_with_me, to_public
from supervision.reflections.schemas import ReflectionPublic
from wellbeing.schemas import TalkRequestPublic, TalkStatus
from wellbeing.talk_views import addressed_page

router = APIRouter(prefix="/supervisees")


@router.get("", name="web_supervisees")
async def supervisees_page(
    request: Request, actor: SupervisorPage, session: SessionDep, now: Now
) -> HTMLResponse:
    """Each supervisee's cadence, records to write up or sign off, and open actions."""
    rows = await supervisees_oversight(session, actor, now)
    view, staff, status, name = staff_table(request, rows, now.date())
    return page(
        request,
        "supervisees.html",
        title="Your supervisees",
        section="supervisees",
        staff=staff,
        view=view,
        statuses=STATUSES,
        status=status,
        name=name,
        total=len(rows),
    )


@router.get("/notes", name="web_shared_notes")
async def shared_notes_page(
    request: Request,
    actor: SupervisorPage,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    cursor: Cursor = None,
) -> HTMLResponse:
    """Titles of the notes supervisees share with you now (the API's list, so each is
    logged as read for its author, as the API logs it)."""
    notes, next_cursor = await list_shared_with_me(
        session, actor, limit=MAX_LIMIT, cursor=cursor, now=now
    )
    names = {r.staff_id: r.display_name for r in await supervisees_oversight(session, actor, now)}
    who = request.query_params.get("from", "")
    shown = [to_public(ring, n) for n in notes]
    shown = [n for n in shown if not who or str(n.author_id) == who]
    keys: dict[str, Callable[[ReflectionPublic], Any]] = {
        "title": lambda n: n.title.casefold(),
        "from": lambda n: names.get(n.author_id, "").casefold(),
        "shared": lambda n: n.shared_at,
    }
    view = table_view(
        request.url.path,
        request.query_params,
        keys,
        "shared",
        keep=("from",),
        default_order="desc",
    )
    people = [("", "Everyone")] + sorted(
        ((str(k), v) for k, v in names.items()), key=lambda p: p[1].casefold()
    )
    return page(
        request,
        "shared_notes.html",
        title="Notes shared with you",
        section="supervisees",
        notes=view.apply(shown),
        names=names,
        next_cursor=next_cursor,
        view=view,
        people=people,
        who=who,
    )


@router.get("/notes/{reflection_id}", name="web_shared_note")
async def shared_note_page(
    request: Request,
    reflection_id: uuid.UUID,
    actor: SupervisorPage,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
) -> HTMLResponse:
    """One shared note (the read goes in its author's access log)."""
    note = to_public(ring, await get_reflection(session, actor, reflection_id, now))
    names = {r.staff_id: r.display_name for r in await supervisees_oversight(session, actor, now)}
    return page(
        request,
        "shared_note.html",
        title=note.title or "Untitled note",
        section="supervisees",
        note=note,
        author=names.get(note.author_id, "A supervisee"),
    )


STATUS_FILTER = {
    "": "Open or acknowledged",
    "open": "Open",
    "acknowledged": "Acknowledged",
    "closed": "Closed",
}


@router.get("/talk-requests", name="web_talk_requests")
async def talk_requests_page(
    request: Request, actor: Signed, session: SessionDep, now: Now, cursor: Cursor = None
) -> HTMLResponse:
    """Requests to talk sent to you (the API's list: each read is in its owner's access log).
    No role, as in the API: a unit manager or wellbeing contact is asked too."""
    wanted = request.query_params.get("status", "")
    status = TalkStatus(wanted) if wanted in TalkStatus.__members__ else None
    found = await addressed_page(session, actor, now, status=status, limit=MAX_LIMIT, cursor=cursor)
    name = request.query_params.get("q", "")[:100]
    keys: dict[str, Callable[[TalkRequestPublic], Any]] = {
        "name": lambda r: r.display_name.casefold(),
        "raised": lambda r: r.raised_at,
        "status": lambda r: r.status.value,
    }
    view = table_view(
        request.url.path,
        request.query_params,
        keys,
        "raised",
        keep=("q", "status"),
        default_order="desc",
    )
    shown = [
        r
        for r in found.data
        if matches(r.display_name, name) and (status or r.status is not TalkStatus.closed)
    ]
    return page(
        request,
        "talk_requests.html",
        title="Requests to talk",
        section="supervisees" if actor.has(Role.supervisor) else "home",
        requests=view.apply(shown),
        next_cursor=found.next_cursor,
        view=view,
        name=name,
        statuses=list(STATUS_FILTER.items()),
        status=wanted if status else "",
    )
