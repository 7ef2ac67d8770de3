""" "I'd like to talk": a request that reaches one person who can act, and its lifecycle.

A talk request is raised by a check-in that says `wants_to_talk` with `tell_supervisor`, or
on its own (`POST /wellbeing/talk-requests`, offline-creatable). It goes to the owner's
supervisor, their unit manager, or the organisation's wellbeing contact; the reminder sweep
notifies that person once (`due_talk_notifications`, occurrence "raised"), and the owner
once it is acknowledged. Authorization is by relationship, never by role: the person it was
sent to acts on it (a supervisor only while they still supervise its owner); the owner sees
who was told, when it was seen and how it ended. Answers and scores never travel with it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.absence import absence_spans
from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.changes import ChangeOp, record_change
from models.db import one_of
from models.directory.organisation import Unit
from models.directory.staff import Staff
from models.errors import Conflict, Invalid, NotFound
from models.etag import require_match
from models.idempotent import create_once
from models.notifications.outbox import Notification, NotificationKind, Reminder
from models.notifications.reminder_time import local_date
from models.pagination import Keyset, keyset_page
from models.wellbeing import CheckIn, TalkOutcome, TalkRequest, TalkTo
from wellbeing.schemas import TalkOption, TalkRequestCreate, TalkStatus
from wellbeing.settings import settings_for

RESOURCE = "wellbeing_talk_request"
# Notifications and acknowledgements are looked for this far back (older ones were sent).
NOTIFY_WINDOW = timedelta(days=30)


def request_hash(data: TalkRequestCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def status_of(row: TalkRequest) -> TalkStatus:
    if row.closed_at is not None:
        return TalkStatus.closed
    if row.acknowledged_at is not None:
        return TalkStatus.acknowledged
    return TalkStatus.open


# --- who can be asked --------------------------------------------------------------------


async def _away_until(
    session: AsyncSession, organisation_id: uuid.UUID, people: Sequence[Staff], now: datetime
) -> dict[uuid.UUID, date]:
    """For each of `people` on leave today (their date), the last day of that leave."""
    spans = await absence_spans(
        session,
        organisation_id,
        [p.id for p in people],
        ending_on_or_after=now.date() - timedelta(days=1),
    )
    away: dict[uuid.UUID, date] = {}
    for person in people:
        today = local_date(now, person.timezone)
        mine = sorted(spans.get(person.id, []))
        for start, end in mine:
            if start <= today <= end:
                last = end
                for s2, e2 in mine:  # leave that runs on from this span
                    if s2 <= last + timedelta(days=1) and e2 > last:
                        last = e2
                away[person.id] = last
    return away


async def _unit_manager(
    session: AsyncSession, owner: Actor, exclude: set[uuid.UUID]
) -> uuid.UUID | None:
    """The manager of the owner's unit, or of the nearest unit above it with one (never the
    owner themself, nor someone already offered)."""
    units = {
        u.id: u
        for u in (
            await session.exec(
                select(Unit).where(col(Unit.organisation_id) == owner.organisation_id)
            )
        ).all()
    }
    current = owner.unit_id
    seen: set[uuid.UUID] = set()
    while current is not None and current in units and current not in seen:
        seen.add(current)
        manager = units[current].manager_id
        if manager is not None and manager != owner.id and manager not in exclude:
            return manager
        current = units[current].parent_id
    return None


@dataclass(frozen=True)
class Candidate:
    to: TalkTo
    staff: Staff


async def candidates(session: AsyncSession, actor: Actor) -> list[Candidate]:
    """Everyone the caller can ask to talk to, in order: supervisor, unit manager, the
    organisation's wellbeing contact (active, not the caller, each person once)."""
    ids: list[tuple[TalkTo, uuid.UUID]] = []
    if actor.supervisor_id is not None:
        ids.append((TalkTo.supervisor, actor.supervisor_id))
    manager = await _unit_manager(session, actor, {i for _, i in ids})
    if manager is not None:
        ids.append((TalkTo.unit_manager, manager))
    contact = (await settings_for(session, actor.organisation_id)).wellbeing_contact_id
    if contact is not None and contact != actor.id and contact not in {i for _, i in ids}:
        ids.append((TalkTo.wellbeing_contact, contact))
    if not ids:
        return []
    people = {
        s.id: s
        for s in (
            await session.exec(
                select(Staff).where(
                    col(Staff.organisation_id) == actor.organisation_id,
                    col(Staff.id).in_([i for _, i in ids]),
                    col(Staff.active).is_(True),
                )
            )
        ).all()
    }
    return [Candidate(to, people[i]) for to, i in ids if i in people]


async def talk_options(session: AsyncSession, actor: Actor, now: datetime) -> list[TalkOption]:
    """The people the caller can ask, each with whether they are at work today."""
    found = await candidates(session, actor)
    away = await _away_until(session, actor.organisation_id, [c.staff for c in found], now)
    return [
        TalkOption(
            to=c.to,
            staff_id=c.staff.id,
            display_name=c.staff.display_name,
            available=c.staff.id not in away,
            away_until=away.get(c.staff.id),
        )
        for c in found
    ]


# --- raising -----------------------------------------------------------------------------


async def _raise(
    session: AsyncSession,
    actor: Actor,
    request_id: uuid.UUID,
    to: TalkTo,
    checkin_id: uuid.UUID | None,
    digest: str,
    now: datetime,
) -> tuple[TalkRequest, bool]:
    async def build() -> TalkRequest:
        recipient = next((c.staff for c in await candidates(session, actor) if c.to is to), None)
        if recipient is None:
            raise Invalid(
                f"You have no {to.value.replace('_', ' ')} on record to ask; see the other "
                "people you can ask (GET /wellbeing/talk-requests/options).",
                errors=[{"loc": ["body", "to"], "msg": "nobody on record", "type": "value_error"}],
            )
        if checkin_id is not None:
            mine = await session.get(CheckIn, checkin_id)
            if (
                mine is None
                or mine.staff_id != actor.id
                or mine.organisation_id != actor.organisation_id
            ):
                raise Invalid(
                    "checkin_id does not name a check-in of yours.",
                    errors=[
                        {
                            "loc": ["body", "checkin_id"],
                            "msg": "unknown check-in",
                            "type": "value_error",
                        }
                    ],
                )
        return TalkRequest(
            id=request_id,
            organisation_id=actor.organisation_id,
            owner_id=actor.id,
            recipient_id=recipient.id,
            to=to,
            checkin_id=checkin_id,
            request_hash=digest,
            raised_at=now,
        )

    def same(existing: TalkRequest) -> bool:
        return existing.owner_id == actor.id and existing.request_hash == digest

    row, created = await create_once(
        session,
        TalkRequest,
        request_id,
        build=build,
        same=same,
        conflict="A talk request with this id already exists with different content.",
    )
    if created:
        await record_change(
            session,
            actor.organisation_id,
            RESOURCE,
            row.id,
            ChangeOp.upsert,
            [actor.id, row.recipient_id],
            now,
        )
    return row, created


async def raise_talk_request(
    session: AsyncSession, actor: Actor, data: TalkRequestCreate, now: datetime
) -> tuple[TalkRequest, bool]:
    """Raise a talk request on its own (offline-create protocol: same id and body, 200)."""
    return await _raise(session, actor, data.id, data.to, data.checkin_id, request_hash(data), now)


def checkin_request_id(checkin_id: uuid.UUID) -> uuid.UUID:
    """The id of the talk request a check-in raises (deterministic: a replayed check-in
    finds it)."""
    return uuid.uuid5(checkin_id, "talk-request")


async def raise_from_checkin(
    session: AsyncSession, actor: Actor, checkin: CheckIn, now: datetime
) -> TalkRequest | None:
    """The talk request to the supervisor a check-in with `tell_supervisor` raises; None
    when the caller has no supervisor (the answer then offers the others)."""
    if not any(c.to is TalkTo.supervisor for c in await candidates(session, actor)):
        return None  # none on record, or no longer active
    row, _ = await _raise(
        session,
        actor,
        checkin_request_id(checkin.id),
        TalkTo.supervisor,
        checkin.id,
        checkin.request_hash,
        now,
    )
    return row


# --- reading -----------------------------------------------------------------------------


def addressed_to(actor: Actor) -> SelectOfScalar[TalkRequest]:
    """Talk requests the caller was asked (a supervisor's only while they still supervise
    the owner: the request belongs to the relationship)."""
    current = select(col(Staff.id)).where(
        col(Staff.organisation_id) == actor.organisation_id, col(Staff.supervisor_id) == actor.id
    )
    return select(TalkRequest).where(
        col(TalkRequest.organisation_id) == actor.organisation_id,
        col(TalkRequest.recipient_id) == actor.id,
        sa.or_(
            col(TalkRequest.to) != TalkTo.supervisor.value, col(TalkRequest.owner_id).in_(current)
        ),
    )


def own_requests(actor: Actor) -> SelectOfScalar[TalkRequest]:
    return select(TalkRequest).where(
        col(TalkRequest.organisation_id) == actor.organisation_id,
        col(TalkRequest.owner_id) == actor.id,
    )


def readable_ids(actor: Actor) -> sa.Select[Any]:
    """Ids of the talk requests the caller raised or was asked (for the sync feed)."""
    return select(col(TalkRequest.id)).where(
        sa.or_(
            col(TalkRequest.id).in_(own_requests(actor).with_only_columns(col(TalkRequest.id))),
            col(TalkRequest.id).in_(addressed_to(actor).with_only_columns(col(TalkRequest.id))),
        )
    )


_NEWEST = Keyset[TalkRequest](
    col(TalkRequest.raised_at), col(TalkRequest.id), lambda r: (r.raised_at, r.id)
)


def _with_status(
    stmt: SelectOfScalar[TalkRequest], status: TalkStatus | None
) -> SelectOfScalar[TalkRequest]:
    if status is TalkStatus.open:
        return stmt.where(
            col(TalkRequest.acknowledged_at).is_(None), col(TalkRequest.closed_at).is_(None)
        )
    if status is TalkStatus.acknowledged:
        return stmt.where(
            col(TalkRequest.acknowledged_at).is_not(None), col(TalkRequest.closed_at).is_(None)
        )
    if status is TalkStatus.closed:
        return stmt.where(col(TalkRequest.closed_at).is_not(None))
    return stmt


async def seen_by_recipient(
    session: AsyncSession, actor: Actor, rows: Sequence[TalkRequest], now: datetime
) -> None:
    """The recipient read these: log each read for its owner and note the first sight."""
    for row in rows:
        await record_access(
            session, actor, row.owner_id, RESOURCE, row.id, AccessReason.shared_with_me, now
        )
        if row.seen_at is None:
            row.seen_at = now
            session.add(row)
            await session.flush()
            await record_change(
                session, row.organisation_id, RESOURCE, row.id, ChangeOp.upsert, [row.owner_id], now
            )


async def list_addressed_to_me(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    *,
    status: TalkStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[TalkRequest], str | None]:
    """Talk requests the caller was asked, newest first (each read is logged)."""
    stmt = _with_status(addressed_to(actor), status)
    rows, next_cursor = await keyset_page(session, stmt, _NEWEST, limit=limit, cursor=cursor)
    await seen_by_recipient(session, actor, rows, now)
    return rows, next_cursor


async def list_mine(
    session: AsyncSession,
    actor: Actor,
    *,
    status: TalkStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[TalkRequest], str | None]:
    stmt = _with_status(own_requests(actor), status)
    return await keyset_page(session, stmt, _NEWEST, limit=limit, cursor=cursor)


async def load_visible(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, *, lock: bool = False
) -> tuple[TalkRequest, bool]:
    """(row, is_owner) for the owner or the person it was sent to; 404 for anyone else."""
    for stmt, owner in ((own_requests(actor), True), (addressed_to(actor), False)):
        stmt = stmt.where(col(TalkRequest.id) == request_id)
        row = (await session.exec(stmt.with_for_update() if lock else stmt)).first()
        if row is not None:
            return row, owner
    raise NotFound("No such talk request.")


# --- acting on it ------------------------------------------------------------------------


async def _changed(session: AsyncSession, row: TalkRequest, now: datetime) -> None:
    row.version += 1
    session.add(row)
    await session.flush()
    await record_change(
        session,
        row.organisation_id,
        RESOURCE,
        row.id,
        ChangeOp.upsert,
        [row.owner_id, row.recipient_id],
        now,
    )


async def acknowledge(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, if_match: str | None, now: datetime
) -> TalkRequest:
    """The person asked says they will be in touch (If-Match); the owner is told."""
    row, owner = await load_visible(session, actor, request_id, lock=True)
    if owner:
        raise NotFound("No such talk request.")  # only the person asked acknowledges
    require_match(if_match, row.version)
    if row.closed_at is not None:
        raise Conflict("This talk request is closed.", kind="wrong-state")
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        row.seen_at = row.seen_at or now
        await _changed(session, row, now)
    return row


async def close(
    session: AsyncSession,
    actor: Actor,
    request_id: uuid.UUID,
    outcome: TalkOutcome,
    if_match: str | None,
    now: datetime,
) -> TalkRequest:
    """Close it with an outcome (If-Match): the person asked, with any outcome; the owner,
    withdrawing it, only as `declined_by_practitioner`."""
    row, owner = await load_visible(session, actor, request_id, lock=True)
    require_match(if_match, row.version)
    if owner and outcome is not TalkOutcome.declined_by_practitioner:
        raise Invalid(
            "You can withdraw your own request (outcome declined_by_practitioner); the person "
            "you asked records how it ended.",
            errors=[
                {"loc": ["body", "outcome"], "msg": "not yours to record", "type": "value_error"}
            ],
        )
    if row.closed_at is not None:
        raise Conflict("This talk request is already closed.", kind="wrong-state")
    row.closed_at = now
    row.outcome = outcome
    row.closed_by = actor.id
    if not owner:
        row.seen_at = row.seen_at or now
    await _changed(session, row, now)
    return row


# --- notifications (the reminder sweep) --------------------------------------------------


async def due_talk_notifications(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime
) -> list[Reminder]:
    """A `talk_request` notification to the person asked, once per request (occurrence
    "raised"), while it is open; a `talk_request_acknowledged` to its owner once it is
    acknowledged. Leave and quiet hours are applied by `schedule` (someone on leave is told
    when they are back)."""
    since = now - NOTIFY_WINDOW
    rows = (
        await session.exec(
            select(TalkRequest).where(
                col(TalkRequest.organisation_id) == organisation_id,
                sa.or_(
                    sa.and_(
                        col(TalkRequest.notified_at).is_(None),
                        col(TalkRequest.closed_at).is_(None),
                        col(TalkRequest.raised_at) >= since,
                    ),
                    col(TalkRequest.acknowledged_at) >= since,
                ),
            )
        )
    ).all()
    found: list[Reminder] = []
    for row in rows:
        if row.notified_at is None and row.closed_at is None:
            found.append(
                Reminder(
                    organisation_id,
                    row.recipient_id,
                    NotificationKind.talk_request,
                    row.id,
                    "raised",
                )
            )
        if row.acknowledged_at is not None:
            found.append(
                Reminder(
                    organisation_id,
                    row.owner_id,
                    NotificationKind.talk_request_acknowledged,
                    row.id,
                    "acknowledged",
                )
            )
    return found


async def note_notified(
    session: AsyncSession, notification_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    """Stamp `notified_at` on the talk requests these new notifications told someone about
    (the owner's feed carries the change)."""
    if not notification_ids:
        return
    told = (
        await session.exec(
            select(col(Notification.subject_id), col(Notification.created_at)).where(
                one_of(session, col(Notification.id), notification_ids),
                col(Notification.kind) == NotificationKind.talk_request.value,
            )
        )
    ).all()
    for subject_id, created_at in told:
        row = await session.get(TalkRequest, subject_id)
        if row is not None and row.notified_at is None:
            row.notified_at = created_at
            session.add(row)
            await session.flush()
            await record_change(
                session, row.organisation_id, RESOURCE, row.id, ChangeOp.upsert, [row.owner_id], now
            )


async def export_my_requests(session: AsyncSession, actor: Actor) -> list[TalkRequest]:
    return list(
        (
            await session.exec(
                own_requests(actor).order_by(col(TalkRequest.raised_at), col(TalkRequest.id))
            )
        ).all()
    )
