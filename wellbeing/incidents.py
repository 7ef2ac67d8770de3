"""Critical incidents and secondary trauma: record that something hard happened, then offer
follow-up check-ins, graded support and (if wanted) time in supervision.

Who knows: the practitioner, and the supervisor they chose to tell (or who recorded it for
them) while that person still supervises them. No manager, HR or admin endpoint lists
incidents; HR and managers get only the differentially private release (`incidents` per
person, published by `wellbeing/publish.py`, read at `GET /analytics/incidents`). The
optional note is sealed at rest and only its author's owner reads it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.analytics.periods import role_group, tenure_band
from models.changes import ChangeOp, record_change
from models.crypto import KeyRing, open_json, seal_json
from models.directory.staff import Staff
from models.errors import Invalid, NotFound
from models.etag import require_match
from models.idempotent import create_once
from models.incidents import RESOURCE, TABLE, Incident
from models.notifications.outbox import NotificationKind, Reminder
from models.notifications.reminder_time import at_local, local_date
from models.pagination import Keyset, keyset_page
from models.scope import supervisees, unit_path
from models.wellbeing import CheckIn
from wellbeing.catalogue import instrument_for_checkin
from wellbeing.schemas import IncidentCreate, IncidentUpdate
from wellbeing.settings import settings_for

FOLLOW_UP_INSTRUMENTS = ("stss", "pulse")  # preferred first
FOLLOW_UP_HOUR = time(9, 0)
# A follow-up not answered within this long after it was offered is not offered again.
NUDGE_FOR = timedelta(days=14)
# How far back an incident may be recorded, and how far ahead its first follow-up.
MAX_AGE_DAYS = 366
MAX_FOLLOW_UP_AHEAD = timedelta(days=30)
# The most incidents one person contributes to a month's anonymised counts.
MONTHLY_CLIP = 3


def _invalid(field: str, message: str, msg: str) -> Invalid:
    return Invalid(message, errors=[{"loc": ["body", field], "msg": msg, "type": "value_error"}])


def request_hash(data: IncidentCreate) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def default_follow_up(now: datetime, timezone: str) -> datetime:
    """9:00 on the next weekday in the practitioner's zone."""
    day = local_date(now, timezone) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return at_local(day, FOLLOW_UP_HOUR, timezone)


async def _instrument(session: AsyncSession, organisation_id: uuid.UUID, key: str | None) -> str:
    if key is not None:
        if key not in FOLLOW_UP_INSTRUMENTS:
            raise _invalid("follow_up_instrument", "Follow-ups use pulse or stss.", "unknown")
        try:
            return (await instrument_for_checkin(session, organisation_id, key)).key
        except Invalid as exc:
            raise _invalid("follow_up_instrument", exc.detail, "not available") from exc
    for candidate in FOLLOW_UP_INSTRUMENTS:
        try:
            return (await instrument_for_checkin(session, organisation_id, candidate)).key
        except Invalid:
            continue
    return "pulse"  # pragma: no cover - pulse is always available


async def _owner(session: AsyncSession, actor: Actor, staff_id: uuid.UUID | None) -> Staff:
    """The practitioner the incident is about: the caller, or a supervisee of theirs."""
    wanted = staff_id or actor.id
    stmt = select(Staff).where(
        col(Staff.organisation_id) == actor.organisation_id, col(Staff.id) == wanted
    )
    if wanted != actor.id:
        stmt = stmt.where(col(Staff.supervisor_id) == actor.id, col(Staff.active).is_(True))
    owner = (await session.exec(stmt)).first()
    if owner is None:
        raise _invalid("staff_id", "staff_id does not name a supervisee of yours.", "unknown")
    return owner


async def create_incident(
    session: AsyncSession, ring: KeyRing, actor: Actor, data: IncidentCreate, now: datetime
) -> tuple[Incident, bool]:
    """Record an incident (offline-create protocol: same id and body answer the existing
    one, 200; the same id otherwise 409)."""
    digest = request_hash(data)

    async def build() -> Incident:
        owner = await _owner(session, actor, data.staff_id)
        for_someone = owner.id != actor.id
        today = local_date(now, owner.timezone)
        if data.occurred_on > today or data.occurred_on < today - timedelta(days=MAX_AGE_DAYS):
            raise _invalid(
                "occurred_on",
                "An incident is recorded on or after the day, within a year.",
                "out of range",
            )
        if for_someone and data.note is not None:
            raise _invalid("note", "The note is the practitioner's own to write.", "not yours")
        if for_someone:
            supervisor = actor.id
        elif data.share_with_supervisor:
            if actor.supervisor_id is None:
                raise _invalid("share_with_supervisor", "You have no supervisor on record.", "none")
            supervisor = actor.supervisor_id
        else:
            supervisor = None
        if data.bring_to_supervision and supervisor is None:
            raise _invalid(
                "bring_to_supervision",
                "Bringing it to supervision tells your supervisor: share it with them too.",
                "needs share_with_supervisor",
            )
        follow_up = data.follow_up_at or default_follow_up(now, owner.timezone)
        if not now - timedelta(days=1) <= follow_up <= now + MAX_FOLLOW_UP_AHEAD:
            raise _invalid("follow_up_at", "Choose a time within the next 30 days.", "out of range")
        incident = Incident(
            id=data.id,
            organisation_id=actor.organisation_id,
            staff_id=owner.id,
            recorded_by=actor.id,
            occurred_on=data.occurred_on,
            category=data.category,
            supervisor_id=supervisor,
            bring_to_supervision=data.bring_to_supervision,
            follow_up_at=follow_up,
            follow_up_instrument=await _instrument(
                session, actor.organisation_id, data.follow_up_instrument
            ),
            request_hash=digest,
            recorded_at=now,
            unit_path=await unit_path(session, actor.organisation_id, owner.unit_id),
            role_group=role_group(owner.roles),
            tenure_band=tenure_band(owner.started_on, now.date()),
            updated_at=now,
        )
        if data.note:
            incident.note = seal_json(ring, data.note, TABLE, data.id, "note")
        return incident

    def same(existing: Incident) -> bool:
        return existing.recorded_by == actor.id and existing.request_hash == digest

    incident, created = await create_once(
        session,
        Incident,
        data.id,
        build=build,
        same=same,
        conflict="An incident with this id already exists with different content.",
    )
    if created:
        audience = [incident.staff_id]
        if incident.supervisor_id is not None:
            audience.append(incident.supervisor_id)
        await record_change(
            session, actor.organisation_id, RESOURCE, incident.id, ChangeOp.upsert, audience, now
        )
    return incident, created


def note_of(ring: KeyRing, incident: Incident) -> str | None:
    if incident.note is None:
        return None
    value = open_json(ring, incident.note, TABLE, incident.id, "note")
    return str(value)


# --- reading -----------------------------------------------------------------------------


def own_incidents(actor: Actor) -> SelectOfScalar[Incident]:
    return select(Incident).where(
        col(Incident.organisation_id) == actor.organisation_id, col(Incident.staff_id) == actor.id
    )


def shared_with(actor: Actor) -> SelectOfScalar[Incident]:
    """Incidents the caller's current supervisees told them about (or they recorded)."""
    return select(Incident).where(
        col(Incident.organisation_id) == actor.organisation_id,
        col(Incident.supervisor_id) == actor.id,
        col(Incident.staff_id).in_(supervisees(actor)),
    )


def readable_ids(actor: Actor) -> sa.Select[Any]:
    return select(col(Incident.id)).where(
        sa.or_(
            col(Incident.id).in_(own_incidents(actor).with_only_columns(col(Incident.id))),
            col(Incident.id).in_(shared_with(actor).with_only_columns(col(Incident.id))),
        )
    )


_NEWEST = Keyset[Incident](
    col(Incident.recorded_at), col(Incident.id), lambda r: (r.recorded_at, r.id)
)


async def list_mine(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None
) -> tuple[list[Incident], str | None]:
    return await keyset_page(session, own_incidents(actor), _NEWEST, limit=limit, cursor=cursor)


async def log_reads(
    session: AsyncSession, actor: Actor, rows: Sequence[Incident], now: datetime
) -> None:
    """A supervisor's read of a supervisee's incident goes to that person's access log."""
    for row in rows:
        if row.staff_id != actor.id:
            await record_access(
                session, actor, row.staff_id, RESOURCE, row.id, AccessReason.shared_with_me, now
            )


async def list_shared_with_me(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> tuple[list[Incident], str | None]:
    rows, next_cursor = await keyset_page(
        session, shared_with(actor), _NEWEST, limit=limit, cursor=cursor
    )
    await log_reads(session, actor, rows, now)
    return rows, next_cursor


async def load_visible(
    session: AsyncSession, actor: Actor, incident_id: uuid.UUID, now: datetime
) -> Incident:
    """An incident for its owner, or for the supervisor it is shared with (logged)."""
    for stmt in (own_incidents(actor), shared_with(actor)):
        row = (await session.exec(stmt.where(col(Incident.id) == incident_id))).first()
        if row is not None:
            await log_reads(session, actor, [row], now)
            return row
    raise NotFound("No such incident.")


async def follow_up_checkins(
    session: AsyncSession, incidents: Sequence[Incident]
) -> dict[uuid.UUID, list[CheckIn]]:
    """The check-ins that followed up each incident, oldest first."""
    if not incidents:
        return {}
    rows = (
        await session.exec(
            select(CheckIn)
            .where(
                col(CheckIn.organisation_id) == incidents[0].organisation_id,
                col(CheckIn.incident_id).in_([i.id for i in incidents]),
            )
            .order_by(col(CheckIn.taken_at), col(CheckIn.id))
        )
    ).all()
    found: dict[uuid.UUID, list[CheckIn]] = {}
    for row in rows:
        if row.incident_id is not None:
            found.setdefault(row.incident_id, []).append(row)
    return found


def follow_up_times(incident: Incident, days: int) -> list[datetime]:
    return [incident.follow_up_at, incident.follow_up_at + timedelta(days=days)]


# --- the owner's choices -----------------------------------------------------------------


async def update_incident(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    incident_id: uuid.UUID,
    data: IncidentUpdate,
    if_match: str | None,
    now: datetime,
) -> Incident:
    """Change whether the supervisor knows, the agenda, the follow-up time or the note
    (the owner only; If-Match). Telling no one takes it off the agenda too."""
    row = (
        await session.exec(
            own_incidents(actor).where(col(Incident.id) == incident_id).with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("No such incident.")
    require_match(if_match, row.version)
    changes = data.model_dump(exclude_unset=True)
    before = row.supervisor_id
    if "share_with_supervisor" in changes:
        if changes["share_with_supervisor"]:
            if actor.supervisor_id is None:
                raise _invalid("share_with_supervisor", "You have no supervisor on record.", "none")
            row.supervisor_id = actor.supervisor_id
        else:
            row.supervisor_id = None
            row.bring_to_supervision = False
    if changes.get("bring_to_supervision") is not None:
        if changes["bring_to_supervision"] and row.supervisor_id is None:
            raise _invalid(
                "bring_to_supervision",
                "Bringing it to supervision tells your supervisor: share it with them too.",
                "needs share_with_supervisor",
            )
        row.bring_to_supervision = bool(changes["bring_to_supervision"])
    if changes.get("follow_up_at") is not None:
        if not now - timedelta(days=1) <= changes["follow_up_at"] <= now + MAX_FOLLOW_UP_AHEAD:
            raise _invalid("follow_up_at", "Choose a time within the next 30 days.", "out of range")
        row.follow_up_at = changes["follow_up_at"]
    if "note" in changes:
        note = changes["note"]
        row.note = seal_json(ring, note, TABLE, row.id, "note") if note else None
    row.version += 1
    row.updated_at = now
    session.add(row)
    await session.flush()
    org = actor.organisation_id
    audience = [actor.id] + ([row.supervisor_id] if row.supervisor_id else [])
    await record_change(session, org, RESOURCE, row.id, ChangeOp.upsert, audience, now)
    if before is not None and before != row.supervisor_id:
        await record_change(session, org, RESOURCE, row.id, ChangeOp.delete, [before], now)
    return row


async def export_mine(session: AsyncSession, actor: Actor) -> list[Incident]:
    stmt = own_incidents(actor).order_by(col(Incident.recorded_at), col(Incident.id))
    return list((await session.exec(stmt)).all())


# --- follow-up nudges (the reminder sweep) -----------------------------------------------


async def due_incident_nudges(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime
) -> list[Reminder]:
    """`incident_checkin` to the practitioner at each follow-up time ("1", then "2" the
    organisation's `incident_follow_up_days` later) while that follow-up is unanswered
    (fewer follow-up check-ins than its number), for up to two weeks after it."""
    days = (await settings_for(session, organisation_id)).incident_follow_up_days
    rows = (
        await session.exec(
            select(Incident).where(
                col(Incident.organisation_id) == organisation_id,
                col(Incident.follow_up_at) <= now,
                col(Incident.follow_up_at) >= now - NUDGE_FOR - timedelta(days=days),
            )
        )
    ).all()
    if not rows:
        return []
    answered: dict[uuid.UUID | None, int] = dict(
        (
            await session.exec(
                select(col(CheckIn.incident_id), func.count())
                .where(
                    col(CheckIn.organisation_id) == organisation_id,
                    col(CheckIn.incident_id).in_([r.id for r in rows]),
                )
                .group_by(col(CheckIn.incident_id))
            )
        ).all()
    )
    found: list[Reminder] = []
    for row in rows:
        for number, due in enumerate(follow_up_times(row, days), start=1):
            if due <= now < due + NUDGE_FOR and answered.get(row.id, 0) < number:
                found.append(
                    Reminder(
                        organisation_id,
                        row.staff_id,
                        NotificationKind.incident_checkin,
                        row.id,
                        str(number),
                    )
                )
    return found
