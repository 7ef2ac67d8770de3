"""Staff records: admins create, update and import; others read those they are related to."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, Response

from api.deps import (
    AdminActor,
    CurrentActor,
    Cursor,
    IfMatchRequired,
    Limit,
    MailerDep,
    Now,
    PasswordsDep,
    SessionDep,
    SettingsDep,
)
from api.mail import deliver_links, invitation_public
from api.problems import problems
from models.directory.schemas import ImportResult, StaffCreate, StaffPublic, StaffUpdate
from models.directory.service import create_staff, get_staff, list_staff, update_staff
from models.directory.staff import Staff
from models.directory.staff_import import InviteTerms, import_and_invite
from models.errors import Invalid
from models.etag import etag_for
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page

router = APIRouter(prefix="/staff", tags=["staff"])


def _public(staff: Staff) -> StaffPublic:
    return StaffPublic.model_validate(staff, from_attributes=True)


@router.post(
    "",
    name="create_staff",
    status_code=201,
    response_model=StaffPublic,
    responses=problems(403, 409),
)
async def create_staff_route(
    body: StaffCreate,
    actor: AdminActor,
    session: SessionDep,
    passwords: PasswordsDep,
    now: Now,
    response: Response,
) -> StaffPublic:
    """Add a staff member to the organisation."""
    password_hash = passwords.hash(body.password) if body.password else None
    staff = await create_staff(session, actor, body, password_hash, now)
    response.headers["ETag"] = etag_for(staff.version)
    return _public(staff)


@router.get("", name="list_staff", response_model=Page[StaffPublic], responses=problems())
async def list_staff_route(
    actor: CurrentActor, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[StaffPublic]:
    """Staff you may see: all (admin), or yourself, your supervisor, supervisees and teams."""
    rows, next_cursor = await list_staff(session, actor, limit=limit, cursor=cursor)
    return Page(data=[_public(s) for s in rows], next_cursor=next_cursor)


@router.post(
    "/import",
    name="import_staff",
    response_model=ImportResult,
    responses=problems(403, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "Header: email, display_name, started_on, and optionally roles, "
            "unit, supervisor_email, cohort, timezone, active.",
        }
    },
)
async def import_staff_route(
    request: Request,
    actor: AdminActor,
    session: SessionDep,
    settings: SettingsDep,
    mailer: MailerDep,
    now: Now,
    invite: bool = False,
) -> ImportResult:
    """Create or update staff from an HR system's CSV; all or nothing, errors by line. With
    `invite=true`, everyone the file makes is invited to set a password (e-mailed when a
    mail server is configured, otherwise each link is in the answer to pass on)."""
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("The file is not UTF-8 text.") from exc
    lifetime = timedelta(days=settings.invitation_days)
    terms = InviteTerms(lifetime, settings.public_url) if invite else None
    created, updated, links = await import_and_invite(session, actor, text, now, terms)
    sent = await deliver_links(mailer, links, lifetime.total_seconds() / 3600)
    return ImportResult(
        created=created,
        updated=updated,
        invitations=[invitation_public(link, ok) for link, ok in zip(links, sent, strict=True)],
    )


@router.get("/{staff_id}", name="get_staff", response_model=StaffPublic, responses=problems(404))
async def get_staff_route(
    staff_id: uuid.UUID, actor: CurrentActor, session: SessionDep, response: Response
) -> StaffPublic:
    """One staff member, if they are yours to see."""
    staff = await get_staff(session, actor, staff_id)
    response.headers["ETag"] = etag_for(staff.version)
    return _public(staff)


@router.patch(
    "/{staff_id}",
    name="update_staff",
    response_model=StaffPublic,
    responses=problems(403, 404, 409, 412, 428),
)
async def update_staff_route(
    staff_id: uuid.UUID,
    body: StaffUpdate,
    actor: AdminActor,
    session: SessionDep,
    passwords: PasswordsDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> StaffPublic:
    """Change a staff member (If-Match required); `active: false` ends their access at once."""
    password_hash = passwords.hash(body.password) if body.password else None
    staff = await update_staff(session, actor, staff_id, body, password_hash, if_match, now)
    response.headers["ETag"] = etag_for(staff.version)
    return _public(staff)
