"""What admins read of their organisation's audit trails: the access log, the analytics audit
(PRODUCT.md: "who accessed my records ... admin: yes (audit)") and the identity audit (who
changed the organisation's sign-in).

Each list is the admin's own organisation only (every statement filters by it), filtered by
person and by a range of UTC dates, newest first, paged by keyset. Each admin read of the
access log is itself recorded, as one row of the analytics audit (endpoint
`admin_access_log`, the filters, how many entries were returned): an audit of a query, not a
read of one person's record, so it is never written back into the access log the admin is
reading (which would add a row to the log with every look at it). Reads of the analytics
audit are not recorded: it is the record of such queries itself. Reads of the identity audit
are not recorded either: it holds no one's records or answers, only the admins' (and the
sign-in machinery's) own changes, which the admins reading it may see anyway; recording a
look at it would make the analytics audit a log of admins watching admins.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from models.actor import Actor
from models.directory.identity import IdentityAction, IdentityAudit
from models.directory.staff import Staff
from models.errors import Invalid
from models.pagination import Keyset, keyset_page
from models.schemas import Page
from models.spreadsheet import Cell
from models.wellbeing import AnalyticsAudit, audit_analytics

ACCESS_LOG_READ = "admin_access_log"
ACCESS_LOG_CSV_READ = "admin_access_log_csv"
# One CSV download holds at most this many rows; `next_cursor` continues it.
CSV_MAX = 10_000
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class Window:
    """An inclusive range of UTC dates (either end open)."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        for name, day in (("from", self.start), ("to", self.end)):
            if day is not None and not EARLIEST <= day <= LATEST:
                raise Invalid(
                    f"`{name}` is outside 2000-01-01 to 2100-12-31.",
                    errors=[{"loc": ["query", name], "msg": "out of range", "type": "value_error"}],
                )
        if self.start is not None and self.end is not None and self.end < self.start:
            raise Invalid(
                "`to` is before `from`.",
                errors=[{"loc": ["query", "to"], "msg": "before from", "type": "value_error"}],
            )

    def conditions(self, at: Any) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        if self.start is not None:
            found.append(at >= datetime.combine(self.start, time.min, UTC))
        if self.end is not None:
            found.append(at < datetime.combine(self.end + timedelta(days=1), time.min, UTC))
        return found

    def params(self) -> dict[str, Any]:
        return {"from": self.start, "to": self.end}


class AdminAccessLogEntry(BaseModel):
    """One read of someone's data, as an admin of the organisation sees it."""

    id: uuid.UUID
    at: datetime
    reader_id: uuid.UUID
    reader_name: str
    subject_id: uuid.UUID
    subject_name: str
    resource_type: str
    resource_id: uuid.UUID
    reason: str


class AdminAnalyticsAuditEntry(BaseModel):
    """One analytics call (or admin read of the access log): who asked what, and the answer."""

    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID
    actor_name: str
    endpoint: str
    params: dict[str, str | None]
    released: int
    suppressed: int
    status: int


ACCESS_LOG_CSV_HEADER = (
    "at",
    "reader_id",
    "reader_name",
    "subject_id",
    "subject_name",
    "resource_type",
    "resource_id",
    "reason",
)


class AdminIdentityAuditEntry(BaseModel):
    """One change to the organisation's sign-in: who made it (none: the console or the SCIM
    sync), what, and whom or what it was about."""

    id: uuid.UUID
    at: datetime
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    subject_id: uuid.UUID | None
    # The person's name when the subject is a person of the organisation (None for the SSO
    # settings or the SCIM token, whose ids `subject_id` carries).
    subject_name: str | None


ANALYTICS_AUDIT_CSV_HEADER = (
    "at",
    "actor_id",
    "actor_name",
    "endpoint",
    "params",
    "released",
    "suppressed",
    "status",
)


IDENTITY_AUDIT_CSV_HEADER = (
    "at",
    "action",
    "actor_id",
    "actor_name",
    "subject_id",
    "subject_name",
)


def access_log_row(e: AdminAccessLogEntry) -> list[Cell]:
    return [
        e.at.isoformat(),
        str(e.reader_id),
        e.reader_name,
        str(e.subject_id),
        e.subject_name,
        e.resource_type,
        str(e.resource_id),
        e.reason,
    ]


def analytics_audit_row(e: AdminAnalyticsAuditEntry) -> list[Cell]:
    params = "; ".join(f"{k}={'' if v is None else v}" for k, v in sorted(e.params.items()))
    return [
        e.at.isoformat(),
        str(e.actor_id),
        e.actor_name,
        e.endpoint,
        params,
        e.released,
        e.suppressed,
        e.status,
    ]


def identity_audit_row(e: AdminIdentityAuditEntry) -> list[Cell]:
    return [
        e.at.isoformat(),
        e.action,
        "" if e.actor_id is None else str(e.actor_id),
        e.actor_name or "",
        "" if e.subject_id is None else str(e.subject_id),
        e.subject_name or "",
    ]


_NEWEST_ACCESS = Keyset[Any](col(AccessLog.at), col(AccessLog.id), lambda r: (r[0].at, r[0].id))
_NEWEST_AUDIT = Keyset[Any](
    col(AnalyticsAudit.at), col(AnalyticsAudit.id), lambda r: (r[0].at, r[0].id)
)
_NEWEST_IDENTITY = Keyset[Any](
    col(IdentityAudit.at), col(IdentityAudit.id), lambda r: (r[0].at, r[0].id)
)


def _by_people(
    stmt: Any,
    who: tuple[Any, uuid.UUID | None],
    whom: tuple[Any, uuid.UUID | None],
    person_id: uuid.UUID | None,
) -> Any:
    """An audit trail's person filters: by who did it, by whom it was about (each a column
    and the id asked for, if any), and by either (`person_id`)."""
    for column, wanted in (who, whom):
        if wanted is not None:
            stmt = stmt.where(column == wanted)
    if person_id is not None:
        stmt = stmt.where(sa.or_(who[0] == person_id, whom[0] == person_id))
    return stmt


async def organisation_access_log(
    session: AsyncSession,
    actor: Actor,
    *,
    reader_id: uuid.UUID | None,
    subject_id: uuid.UUID | None,
    person_id: uuid.UUID | None,
    window: Window,
    limit: int,
    cursor: str | None,
    now: datetime,
    endpoint: str = ACCESS_LOG_READ,
) -> Page[AdminAccessLogEntry]:
    """The organisation's access log, newest first (admins; the route checks the role):
    filtered by reader, by subject, by either (`person_id`), and by date. The read is
    recorded in the analytics audit."""
    reader, subject = aliased(Staff), aliased(Staff)
    org = actor.organisation_id
    stmt = (
        select(AccessLog, col(reader.display_name), col(subject.display_name))
        .join(reader, sa.and_(col(reader.id) == col(AccessLog.reader_id)))
        .join(subject, sa.and_(col(subject.id) == col(AccessLog.subject_id)))
        .where(
            col(AccessLog.organisation_id) == org,
            col(reader.organisation_id) == org,
            col(subject.organisation_id) == org,
            *window.conditions(col(AccessLog.at)),
        )
    )
    stmt = _by_people(
        stmt,
        (col(AccessLog.reader_id), reader_id),
        (col(AccessLog.subject_id), subject_id),
        person_id,
    )
    rows, next_cursor = await keyset_page(session, stmt, _NEWEST_ACCESS, limit=limit, cursor=cursor)
    data = [
        AdminAccessLogEntry(
            id=entry.id,
            at=entry.at,
            reader_id=entry.reader_id,
            reader_name=reader_name,
            subject_id=entry.subject_id,
            subject_name=subject_name,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id,
            reason=entry.reason,
        )
        for entry, reader_name, subject_name in rows
    ]
    await audit_analytics(
        session,
        actor,
        endpoint,
        {
            "reader_id": reader_id,
            "subject_id": subject_id,
            "person_id": person_id,
            **window.params(),
            "cursor": cursor,
        },
        now,
        released=len(data),
    )
    return Page(data=data, next_cursor=next_cursor)


def _params(raw: dict[str, Any]) -> dict[str, str | None]:
    return {str(k): (None if v is None else str(v)) for k, v in raw.items()}


async def organisation_analytics_audit(
    session: AsyncSession,
    actor: Actor,
    *,
    actor_id: uuid.UUID | None,
    endpoint: str | None,
    window: Window,
    limit: int,
    cursor: str | None,
) -> Page[AdminAnalyticsAuditEntry]:
    """The organisation's analytics audit, newest first (admins), filtered by who asked, by
    endpoint and by date."""
    org = actor.organisation_id
    stmt = (
        select(AnalyticsAudit, col(Staff.display_name))
        .join(Staff, col(Staff.id) == col(AnalyticsAudit.actor_id))
        .where(
            col(AnalyticsAudit.organisation_id) == org,
            col(Staff.organisation_id) == org,
            *window.conditions(col(AnalyticsAudit.at)),
        )
    )
    if actor_id is not None:
        stmt = stmt.where(col(AnalyticsAudit.actor_id) == actor_id)
    if endpoint is not None:
        stmt = stmt.where(col(AnalyticsAudit.endpoint) == endpoint)
    rows: Sequence[Any]
    rows, next_cursor = await keyset_page(session, stmt, _NEWEST_AUDIT, limit=limit, cursor=cursor)
    return Page(
        data=[
            AdminAnalyticsAuditEntry(
                id=row.id,
                at=row.at,
                actor_id=row.actor_id,
                actor_name=name,
                endpoint=row.endpoint,
                params=_params(row.params),
                released=row.released,
                suppressed=row.suppressed,
                status=row.status,
            )
            for row, name in rows
        ],
        next_cursor=next_cursor,
    )


async def organisation_identity_audit(
    session: AsyncSession,
    actor: Actor,
    *,
    actor_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    action: IdentityAction | None = None,
    window: Window,
    limit: int,
    cursor: str | None,
) -> Page[AdminIdentityAuditEntry]:
    """The organisation's identity audit, newest first (admins; the route checks the role):
    filtered by who changed it, by whom it was about, by either (`person_id`), by action and
    by date. Not itself recorded (the module's docstring says why)."""
    org = actor.organisation_id
    changed_by, about = aliased(Staff), aliased(Staff)
    stmt = (
        select(IdentityAudit, col(changed_by.display_name), col(about.display_name))
        # Outer joins: no actor for the console and the SCIM sync; a subject that is not a
        # person (the SSO settings, the SCIM token) has no name. Names only from this
        # organisation.
        .outerjoin(
            changed_by,
            sa.and_(
                col(changed_by.id) == col(IdentityAudit.actor_id),
                col(changed_by.organisation_id) == org,
            ),
        )
        .outerjoin(
            about,
            sa.and_(
                col(about.id) == col(IdentityAudit.subject_id), col(about.organisation_id) == org
            ),
        )
        .where(col(IdentityAudit.organisation_id) == org, *window.conditions(col(IdentityAudit.at)))
    )
    stmt = _by_people(
        stmt,
        (col(IdentityAudit.actor_id), actor_id),
        (col(IdentityAudit.subject_id), subject_id),
        person_id,
    )
    if action is not None:
        stmt = stmt.where(col(IdentityAudit.action) == action.value)
    rows: Sequence[Any]
    rows, next_cursor = await keyset_page(
        session, stmt, _NEWEST_IDENTITY, limit=limit, cursor=cursor
    )
    return Page(
        data=[
            AdminIdentityAuditEntry(
                id=row.id,
                at=row.at,
                action=row.action,
                actor_id=row.actor_id,
                actor_name=actor_name,
                subject_id=row.subject_id,
                subject_name=subject_name,
            )
            for row, actor_name, subject_name in rows
        ],
        next_cursor=next_cursor,
    )
