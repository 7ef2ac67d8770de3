"""Admins' audit: their organisation's access log, analytics audit and identity audit (JSON
pages and CSV)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.deps import AdminActor, Cursor, Limit, Now, SessionDep
from api.problems import problems
from api.refusals import audit_refusals
from models.audit import (
    ACCESS_LOG_CSV_HEADER,
    ACCESS_LOG_CSV_READ,
    ACCESS_LOG_READ,
    ANALYTICS_AUDIT_CSV_HEADER,
    CSV_MAX,
    IDENTITY_AUDIT_CSV_HEADER,
    AdminAccessLogEntry,
    AdminAnalyticsAuditEntry,
    AdminIdentityAuditEntry,
    Window,
    access_log_row,
    analytics_audit_row,
    identity_audit_row,
    organisation_access_log,
    organisation_analytics_audit,
    organisation_identity_audit,
)
from models.directory.identity import IdentityAction
from models.pagination import DEFAULT_LIMIT
from models.schemas import IsoDate, Page
from models.spreadsheet import CSV_MEDIA_TYPE, csv_bytes

router = APIRouter(prefix="/admin", tags=["admin"])

CsvLimit = Annotated[int, Query(ge=1, le=CSV_MAX)]
# `person_id` of each JSON and CSV pair: either side of an entry, described once for both.
ReaderOrSubject = Annotated[uuid.UUID | None, Query(description="reader or subject")]
ActorOrSubject = Annotated[uuid.UUID | None, Query(description="actor or subject")]
Endpoint = Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")]
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


async def window(
    from_: Annotated[IsoDate | None, Query(alias="from", description="first UTC day")] = None,
    to: Annotated[IsoDate | None, Query(description="last UTC day (inclusive)")] = None,
) -> Window:
    return Window(from_, to)


DateWindow = Annotated[Window, Depends(window)]


def _csv(request: Request, name: str, body: bytes, next_cursor: str | None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if next_cursor is not None:  # more rows than one download holds: RFC 8288's next link
        headers["Link"] = f'<{request.url.include_query_params(cursor=next_cursor)}>; rel="next"'
    return Response(body, media_type=CSV_MEDIA_TYPE, headers=headers)


@router.get(
    "/access-log",
    name="admin_access_log",
    dependencies=[Depends(audit_refusals(ACCESS_LOG_READ))],
    response_model=Page[AdminAccessLogEntry],
    responses=problems(403),
)
async def access_log_route(
    actor: AdminActor,
    session: SessionDep,
    now: Now,
    dates: DateWindow,
    reader_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
    person_id: ReaderOrSubject = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AdminAccessLogEntry]:
    """Who read whose data in your organisation, newest first (admins; each read is audited)."""
    return await organisation_access_log(
        session,
        actor,
        reader_id=reader_id,
        subject_id=subject_id,
        person_id=person_id,
        window=dates,
        limit=limit,
        cursor=cursor,
        now=now,
    )


@router.get(
    "/access-log.csv",
    name="admin_access_log_csv",
    dependencies=[Depends(audit_refusals(ACCESS_LOG_CSV_READ))],
    response_class=Response,
    responses={**CSV_RESPONSES, **problems(403)},
)
async def access_log_csv_route(
    request: Request,
    actor: AdminActor,
    session: SessionDep,
    now: Now,
    dates: DateWindow,
    reader_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
    person_id: ReaderOrSubject = None,
    limit: CsvLimit = CSV_MAX,
    cursor: Cursor = None,
) -> Response:
    """The same as CSV (up to 10,000 rows; a `Link: rel="next"` header continues it)."""
    page = await organisation_access_log(
        session,
        actor,
        reader_id=reader_id,
        subject_id=subject_id,
        person_id=person_id,
        window=dates,
        limit=limit,
        cursor=cursor,
        now=now,
        endpoint=ACCESS_LOG_CSV_READ,
    )
    body = csv_bytes(ACCESS_LOG_CSV_HEADER, [access_log_row(e) for e in page.data])
    return _csv(request, "access-log.csv", body, page.next_cursor)


@router.get(
    "/analytics-audit",
    name="admin_analytics_audit",
    response_model=Page[AdminAnalyticsAuditEntry],
    responses=problems(403),
)
async def analytics_audit_route(
    actor: AdminActor,
    session: SessionDep,
    dates: DateWindow,
    actor_id: uuid.UUID | None = None,
    endpoint: Endpoint = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AdminAnalyticsAuditEntry]:
    """Every analytics call in your organisation (and every admin read of the access log):
    who asked what, when, and how much was released; newest first."""
    return await organisation_analytics_audit(
        session,
        actor,
        actor_id=actor_id,
        endpoint=endpoint,
        window=dates,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/analytics-audit.csv",
    name="admin_analytics_audit_csv",
    response_class=Response,
    responses={**CSV_RESPONSES, **problems(403)},
)
async def analytics_audit_csv_route(
    request: Request,
    actor: AdminActor,
    session: SessionDep,
    dates: DateWindow,
    actor_id: uuid.UUID | None = None,
    endpoint: Endpoint = None,
    limit: CsvLimit = CSV_MAX,
    cursor: Cursor = None,
) -> Response:
    """The same as CSV (up to 10,000 rows; a `Link: rel="next"` header continues it)."""
    page = await organisation_analytics_audit(
        session,
        actor,
        actor_id=actor_id,
        endpoint=endpoint,
        window=dates,
        limit=limit,
        cursor=cursor,
    )
    body = csv_bytes(ANALYTICS_AUDIT_CSV_HEADER, [analytics_audit_row(e) for e in page.data])
    return _csv(request, "analytics-audit.csv", body, page.next_cursor)


@router.get(
    "/identity-audit",
    name="admin_identity_audit",
    response_model=Page[AdminIdentityAuditEntry],
    responses=problems(403),
)
async def identity_audit_route(
    actor: AdminActor,
    session: SessionDep,
    dates: DateWindow,
    actor_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
    person_id: ActorOrSubject = None,
    action: IdentityAction | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AdminIdentityAuditEntry]:
    """Who changed your organisation's sign-in (SSO, SCIM token, invitations, passwords set),
    newest first."""
    return await organisation_identity_audit(
        session,
        actor,
        actor_id=actor_id,
        subject_id=subject_id,
        person_id=person_id,
        action=action,
        window=dates,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/identity-audit.csv",
    name="admin_identity_audit_csv",
    response_class=Response,
    responses={**CSV_RESPONSES, **problems(403)},
)
async def identity_audit_csv_route(
    request: Request,
    actor: AdminActor,
    session: SessionDep,
    dates: DateWindow,
    actor_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
    person_id: ActorOrSubject = None,
    action: IdentityAction | None = None,
    limit: CsvLimit = CSV_MAX,
    cursor: Cursor = None,
) -> Response:
    """The same as CSV (up to 10,000 rows; a `Link: rel="next"` header continues it)."""
    page = await organisation_identity_audit(
        session,
        actor,
        actor_id=actor_id,
        subject_id=subject_id,
        person_id=person_id,
        action=action,
        window=dates,
        limit=limit,
        cursor=cursor,
    )
    body = csv_bytes(IDENTITY_AUDIT_CSV_HEADER, [identity_audit_row(e) for e in page.data])
    return _csv(request, "identity-audit.csv", body, page.next_cursor)
