"""The notification outbox and inbox, and push devices (preferences: models/preferences.py).

A notification is one occurrence of one reminder for one recipient. The unique constraint on
(recipient, kind, subject, occurrence) is what makes a sweep idempotent: inserting with
ON CONFLICT DO NOTHING means two sweeps, sequential or concurrent, create each row once.
`deliver_after` defers it to the end of the recipient's quiet hours: the inbox shows it and
push sends it only from then on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.absence import absence_spans
from models.actor import Actor
from models.base import TenantTable, UTCDateTime, new_id, utc_column
from models.changes import ChangeOp, record_change, record_changes
from models.db import CHUNK, insert_for, is_postgresql
from models.directory.organisation import Organisation
from models.errors import NotFound
from models.notifications.preferences import Preferences, preferences_for
from models.notifications.reminder_time import deliver_after, local_date, on_leave
from models.pagination import Keyset, keyset_page

RESOURCE_TYPE = "notification"


class NotificationKind(StrEnum):
    session_upcoming_24h = "session_upcoming_24h"
    session_upcoming_1h = "session_upcoming_1h"
    supervision_due_soon = "supervision_due_soon"
    supervision_overdue = "supervision_overdue"
    supervisee_overdue = "supervisee_overdue"
    overdue_escalation = "overdue_escalation"
    record_not_written = "record_not_written"
    record_not_signed = "record_not_signed"
    action_due = "action_due"
    checkin_nudge = "checkin_nudge"
    # "I'd like to talk" reached you (subject: the talk request), and its owner's "seen".
    talk_request = "talk_request"
    talk_request_acknowledged = "talk_request_acknowledged"
    # A secondary-trauma check-in after a critical incident (subject: the incident).
    incident_checkin = "incident_checkin"
    # A supervision agreement's review is near or past (subject: the agreement), to both.
    agreement_review_due = "agreement_review_due"
    agreement_review_overdue = "agreement_review_overdue"
    # A group supervision session is coming (subject: the group session).
    group_session_upcoming_24h = "group_session_upcoming_24h"
    group_session_upcoming_1h = "group_session_upcoming_1h"


# Reminders that say something about a person's wellbeing (a check-in nudge goes only to
# someone who has not checked in this week; a talk request or an incident follow-up tells
# who is struggling): they reach the person alone, by inbox and push, never the
# organisation's webhook nor, with a name attached, an admin's delivery view.
PERSONAL_KINDS = frozenset(
    {
        NotificationKind.checkin_nudge,
        NotificationKind.talk_request,
        NotificationKind.talk_request_acknowledged,
        NotificationKind.incident_checkin,
    }
)


class Platform(StrEnum):
    ios = "ios"
    android = "android"


class Notification(TenantTable, table=True):
    """One occurrence of one reminder for one recipient (the outbox and the inbox)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint(
            "recipient_id", "kind", "subject_id", "occurrence", name="uq_notifications_occurrence"
        ),
        sa.Index(
            "ix_notifications_org_recipient_after",
            "organisation_id",
            "recipient_id",
            "deliver_after",
        ),
    )

    recipient_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    kind: NotificationKind = Field(sa_type=sa.String(40))
    # What the reminder is about: a session, an action, a staff member; never its text.
    subject_id: uuid.UUID
    # Deterministic key of the occurrence (a date, a session start, a week): see
    # docs/reminders.md.
    occurrence: str = Field(max_length=64)
    created_at: datetime = utc_column()
    deliver_after: datetime = utc_column()
    read_at: datetime | None = utc_column(nullable=True)


class Device(TenantTable, table=True):
    """A phone registered for push: one row per provider token."""

    __tablename__ = "devices"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "platform", "token"),
        sa.Index("ix_devices_org_staff", "organisation_id", "staff_id"),
    )

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    platform: Platform = Field(sa_type=sa.String(10))
    token: str = Field(max_length=4096)
    created_at: datetime = utc_column()


# --- the outbox ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A reminder occurrence a sweep found due (domain code builds these; `enqueue` stores)."""

    organisation_id: uuid.UUID
    recipient_id: uuid.UUID
    kind: NotificationKind
    subject_id: uuid.UUID
    occurrence: str
    deliver_after: datetime


@dataclass(frozen=True)
class Reminder:
    """A reminder a domain found due, before leave and quiet hours are applied."""

    organisation_id: uuid.UUID
    recipient_id: uuid.UUID
    kind: NotificationKind
    subject_id: uuid.UUID
    occurrence: str


async def schedule(
    session: AsyncSession,
    reminders: Sequence[Reminder],
    now: datetime,
    *,
    preferences: Mapping[uuid.UUID, Preferences] | None = None,
) -> list[Due]:
    """Drop reminders for recipients on leave today (their date); defer the rest past quiet
    hours in their time zone. `preferences`: every recipient's, when the caller has read
    them (a sweep reads its organisation's once)."""
    read: dict[uuid.UUID, Preferences] = {}
    spans: dict[uuid.UUID, list[tuple[date, date]]] = {}
    for organisation_id in {r.organisation_id for r in reminders}:
        ids = list({r.recipient_id for r in reminders if r.organisation_id == organisation_id})
        if preferences is None:
            read.update(await preferences_for(session, organisation_id, ids))
        spans.update(
            await absence_spans(
                session, organisation_id, ids, ending_on_or_after=now.date() - timedelta(days=1)
            )
        )
    # Whether each recipient may be reminded now, and from when: once per recipient, however
    # many reminders they have (None: a leaver, or on leave today).
    after: dict[uuid.UUID, datetime | None] = {}
    prefs = read if preferences is None else preferences
    for recipient_id in {r.recipient_id for r in reminders}:
        pref = prefs.get(recipient_id)
        if pref is None or on_leave(spans.get(recipient_id, []), local_date(now, pref.timezone)):
            after[recipient_id] = None
        else:
            after[recipient_id] = deliver_after(
                now, pref.timezone, pref.quiet_hours_start, pref.quiet_hours_end
            )
    due: list[Due] = []
    for r in reminders:
        at = after[r.recipient_id]
        if at is not None:
            due.append(
                Due(r.organisation_id, r.recipient_id, r.kind, r.subject_id, r.occurrence, at)
            )
    return due


Key = tuple[uuid.UUID, str, uuid.UUID, str]  # recipient, kind, subject, occurrence


def _key(d: Due) -> Key:
    return (d.recipient_id, d.kind.value, d.subject_id, d.occurrence)


async def _stored_keys(session: AsyncSession, due: Sequence[Due]) -> set[Key]:
    """Which of these occurrences are stored already (a repeat sweep's common case)."""
    found: set[Key] = set()
    columns = (
        col(Notification.recipient_id),
        col(Notification.kind),
        col(Notification.subject_id),
        col(Notification.occurrence),
    )
    for start in range(0, len(due), CHUNK):
        part = due[start : start + CHUNK]
        stmt = select(*columns).where(
            col(Notification.organisation_id).in_({d.organisation_id for d in part}),
            sa.tuple_(*columns).in_([_key(d) for d in part]),
        )
        found.update((r, str(k), s, o) for r, k, s, o in (await session.exec(stmt)).all())
    return found


def _fresh_rows(fresh: Sequence[Due], now: datetime) -> list[dict[str, object]]:
    return [
        {
            "id": new_id(),
            "organisation_id": d.organisation_id,
            "recipient_id": d.recipient_id,
            "kind": d.kind.value,
            "subject_id": d.subject_id,
            "occurrence": d.occurrence,
            "created_at": now,
            "deliver_after": d.deliver_after,
        }
        for d in fresh
    ]


_OCCURRENCE = ["recipient_id", "kind", "subject_id", "occurrence"]
_RETURNED = (
    col(Notification.id),
    col(Notification.organisation_id),
    col(Notification.recipient_id),
)


def _unnest_insert(due: Sequence[Due], now: datetime) -> sa.Executable:
    """PostgreSQL: every occurrence in one INSERT ... SELECT FROM unnest(arrays), in the
    given order, ON CONFLICT DO NOTHING on the occurrence constraint, RETURNING the rows it
    inserted. Stored occurrences are found by the unique index inside the statement (a
    conflicting row is not written), so nothing is read back into Python first."""

    def array(name: str, values: list[Any], item: Any) -> sa.BindParameter[Any]:
        return sa.bindparam(name, values, type_=postgresql.ARRAY(item))

    keys = (
        sa.func.unnest(
            array("organisation_ids", [d.organisation_id for d in due], sa.Uuid()),
            array("recipient_ids", [d.recipient_id for d in due], sa.Uuid()),
            array("kinds", [d.kind.value for d in due], sa.String()),
            array("subject_ids", [d.subject_id for d in due], sa.Uuid()),
            array("occurrences", [d.occurrence for d in due], sa.String()),
            array("deliver_afters", [d.deliver_after for d in due], UTCDateTime()),
        )
        .table_valued(
            "organisation_id",
            "recipient_id",
            "kind",
            "subject_id",
            "occurrence",
            "deliver_after",
            with_ordinality="position",
        )
        .render_derived(name="keys")
    )
    rows = sa.select(
        sa.func.gen_random_uuid(),
        keys.c.organisation_id,
        keys.c.recipient_id,
        keys.c.kind,
        keys.c.subject_id,
        keys.c.occurrence,
        sa.bindparam("now", now, type_=UTCDateTime()),
        keys.c.deliver_after,
    ).order_by(keys.c.position)
    columns = ["id", "organisation_id", *_OCCURRENCE, "created_at", "deliver_after"]
    return (
        postgresql.insert(Notification)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=_OCCURRENCE)
        .returning(*_RETURNED)
    )


async def enqueue(session: AsyncSession, due: Iterable[Due], now: datetime) -> list[uuid.UUID]:
    """Store each occurrence not stored yet; returns the ids of the new notifications.

    INSERT ... ON CONFLICT DO NOTHING on the occurrence constraint, so a repeat sweep writes
    nothing and a concurrent sweep that stored the same key meanwhile makes this one insert
    nothing for it (on PostgreSQL the second inserter of a key waits for the first
    transaction, then does nothing). On PostgreSQL that is one statement for the whole
    sweep, the keys sent as arrays (`_unnest_insert`); on SQLite one SELECT first finds what
    earlier sweeps stored and the rest go in with a multi-row INSERT. Each new row goes on
    its recipient's sync feed.
    """
    wanted = {_key(d): d for d in due}
    # One key order for every sweep: two concurrent sweeps then wait on each other's keys in
    # the same order and cannot deadlock.
    ordered = sorted(wanted, key=lambda k: (str(k[0]), k[1], str(k[2]), k[3]))
    result: Sequence[Any] = []
    if is_postgresql(session):
        if ordered:
            stmt = _unnest_insert([wanted[k] for k in ordered], now)
            # On the session's connection, as Core: through the ORM's bulk insert each of a
            # first sweep's 9,000 returned rows went through its entity loading.
            connection = await session.connection()
            result = (await connection.execute(stmt)).all()
    else:
        stored = await _stored_keys(session, list(wanted.values()))
        rows = _fresh_rows([wanted[k] for k in ordered if k not in stored], now)
        # executemany with RETURNING (SQLAlchemy's "insertmanyvalues"): compiled once, sent
        # in batches, answering the rows this sweep inserted and none a concurrent one did.
        if rows:
            insert = (
                insert_for(session, Notification)
                .on_conflict_do_nothing(index_elements=_OCCURRENCE)
                .returning(*_RETURNED)
            )
            result = (await session.exec(insert, params=rows)).all()
    created = [(nid, org, recipient) for nid, org, recipient in result]
    # Sequence numbers last: record_changes holds the organisation's counter lock until commit.
    for organisation_id in sorted({org for _, org, _ in created}, key=str):
        await record_changes(
            session,
            organisation_id,
            RESOURCE_TYPE,
            [(nid, recipient) for nid, org, recipient in created if org == organisation_id],
            ChangeOp.upsert,
            now,
            owned=True,  # a recipient always sees their own notification
        )
    return [nid for nid, _, _ in created]


# --- the inbox -------------------------------------------------------------------------------


def readable_notifications(actor: Actor, now: datetime) -> SelectOfScalar[Notification]:
    """My notifications that are already deliverable (deferred ones appear when due)."""
    return select(Notification).where(
        col(Notification.organisation_id) == actor.organisation_id,
        col(Notification.recipient_id) == actor.id,
        col(Notification.deliver_after) <= now,
    )


_LATEST_DUE = Keyset[Notification](
    col(Notification.deliver_after), col(Notification.id), lambda r: (r.deliver_after, r.id)
)


async def list_notifications(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> tuple[Sequence[Notification], str | None]:
    """My inbox, newest first."""
    stmt = readable_notifications(actor, now)
    return await keyset_page(session, stmt, _LATEST_DUE, limit=limit, cursor=cursor)


async def mark_read(
    session: AsyncSession, actor: Actor, notification_id: uuid.UUID, now: datetime
) -> Notification:
    """Mark one of my notifications read (idempotent: the first read time stays)."""
    stmt = readable_notifications(actor, now).where(col(Notification.id) == notification_id)
    row = (await session.exec(stmt.with_for_update())).first()
    if row is None:
        raise NotFound("No such notification.")
    if row.read_at is None:
        row.read_at = now
        session.add(row)
        await session.flush()
        await record_change(
            session,
            row.organisation_id,
            RESOURCE_TYPE,
            row.id,
            ChangeOp.upsert,
            [actor.id],
            now,
            owners=[actor.id],
        )
    return row


async def render_for_sync(
    session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Notification]:
    """The caller's own notifications among `ids` (for the sync feed renderer)."""
    stmt = select(Notification).where(
        col(Notification.organisation_id) == actor.organisation_id,
        col(Notification.recipient_id) == actor.id,
        col(Notification.id).in_(list(ids)),
    )
    return {row.id: row for row in (await session.exec(stmt)).all()}


# --- devices ---------------------------------------------------------------------------------


async def register_device(
    session: AsyncSession, actor: Actor, platform: Platform, token: str, now: datetime
) -> tuple[Device, bool]:
    """Register a push token; the same token again is the same device (returns created?).

    A token registered by someone else in the organisation (a shared phone changing hands)
    moves to the caller: a token reaches one phone, and the phone has one user.
    """
    stmt = (
        insert_for(session, Device)
        .values(
            id=new_id(),
            organisation_id=actor.organisation_id,
            staff_id=actor.id,
            platform=platform.value,
            token=token,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["organisation_id", "platform", "token"])
        .returning(col(Device.id))
    )
    created = (await session.exec(stmt)).scalar_one_or_none()
    row = (
        await session.exec(
            select(Device)
            .where(
                col(Device.organisation_id) == actor.organisation_id,
                col(Device.platform) == platform.value,
                col(Device.token) == token,
            )
            .with_for_update()
        )
    ).one()
    if row.staff_id != actor.id:
        row.staff_id = actor.id
        session.add(row)
        await session.flush()
    return row, created is not None


async def delete_device(session: AsyncSession, actor: Actor, device_id: uuid.UUID) -> None:
    """Unregister one of my devices (someone else's answers 404)."""
    stmt = sa.delete(Device).where(
        col(Device.organisation_id) == actor.organisation_id,
        col(Device.staff_id) == actor.id,
        col(Device.id) == device_id,
    )
    result = await session.exec(stmt)
    if result.rowcount == 0:
        raise NotFound("No such device.")


async def organisation_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Every organisation (a sweep visits each)."""
    return list(
        (await session.exec(select(col(Organisation.id)).order_by(col(Organisation.id)))).all()
    )


async def export_my_notifications(
    session: AsyncSession, actor: Actor
) -> tuple[list[Notification], list[Device]]:
    """Every notification addressed to the caller (deferred ones too) and their devices, for
    the personal export, oldest first."""
    notifications = (
        await session.exec(
            select(Notification)
            .where(
                col(Notification.organisation_id) == actor.organisation_id,
                col(Notification.recipient_id) == actor.id,
            )
            .order_by(col(Notification.created_at), col(Notification.id))
        )
    ).all()
    devices = (
        await session.exec(
            select(Device)
            .where(
                col(Device.organisation_id) == actor.organisation_id,
                col(Device.staff_id) == actor.id,
            )
            .order_by(col(Device.created_at), col(Device.id))
        )
    ).all()
    return list(notifications), list(devices)
