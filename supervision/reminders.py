"""Which supervision reminders are due at `now` (the sweep stores them; see docs/reminders.md).

The rules are pure functions of dates and times; `due_reminders` loads what they need for
one organisation in a handful of statements. Cadence comes from supervision/policy.py, the
same engine the status and oversight screens use.

Occurrence keys are deterministic, so the outbox's unique constraint sends each reminder
once: a session start (a rescheduled session is a new occurrence), a due date, a deadline.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.absence import absence_spans_from
from models.directory.organisation import Unit
from models.directory.staff import Cohort, Staff
from models.notifications.outbox import NotificationKind, Reminder
from models.supervision import (
    ActionStatus,
    SessionStatus,
    SupervisionAction,
    SupervisionSession,
)
from supervision.policy import (
    Cadence,
    CadencePolicy,
    absence_window_from,
    cadence,
    sign_off_due_on,
    write_up_due_on,
)
from supervision.policy_store import load_policy
from supervision.practice_reminders import agreement_reminders, group_reminders
from supervision.status import last_counted_on, local_today, todays_at

DUE_SOON_DAYS = 3
ESCALATE_AFTER_DAYS = 14
K = NotificationKind


@dataclass(frozen=True)
class Found:
    """One pure rule's verdict: this kind, for this occurrence."""

    kind: NotificationKind
    occurrence: str


def upcoming(scheduled_for: datetime, now: datetime) -> list[Found]:
    """24 h before a session (until 1 h before), then 1 h before (until it starts)."""
    key = scheduled_for.isoformat()
    if scheduled_for - timedelta(hours=1) <= now < scheduled_for:
        return [Found(K.session_upcoming_1h, key)]
    if scheduled_for - timedelta(hours=24) <= now < scheduled_for - timedelta(hours=1):
        return [Found(K.session_upcoming_24h, key)]
    return []


def cadence_reminders(status: Cadence, today: date) -> dict[str, Found]:
    """For the supervisee ("self"), their supervisor ("supervisor"), the unit manager
    ("manager"): due in 3 days, overdue, escalation at 14 days overdue. Keyed by due date."""
    key = status.next_due_on.isoformat()
    found: dict[str, Found] = {}
    if status.days_overdue >= 1:
        found["self"] = Found(K.supervision_overdue, key)
        found["supervisor"] = Found(K.supervisee_overdue, key)
        if status.days_overdue >= ESCALATE_AFTER_DAYS:
            found["manager"] = Found(K.overdue_escalation, key)
    elif status.next_due_on - timedelta(days=DUE_SOON_DAYS) <= today <= status.next_due_on:
        found["self"] = Found(K.supervision_due_soon, key)
    return found


def record_not_written(policy: CadencePolicy, held_on: date, today: date) -> Found | None:
    """The write-up deadline (working days after the session) has passed with no record."""
    deadline = write_up_due_on(policy, held_on)
    return Found(K.record_not_written, deadline.isoformat()) if today > deadline else None


def record_not_signed(policy: CadencePolicy, recorded_on: date, today: date) -> Found | None:
    """The sign-off deadline (working days after the record) has passed unsigned."""
    deadline = sign_off_due_on(policy, recorded_on)
    return Found(K.record_not_signed, deadline.isoformat()) if today > deadline else None


def action_due(due_on: date, today: date) -> Found | None:
    """An open action on or after its due day (once per due date)."""
    return Found(K.action_due, due_on.isoformat()) if today >= due_on else None


@dataclass(frozen=True, slots=True)
class Person:
    """What the reminder rules need of an active staff member (a plain-column row: a
    council of thousands loads in milliseconds, where ORM objects took a quarter second)."""

    id: uuid.UUID
    timezone: str
    supervisor_id: uuid.UUID | None
    unit_id: uuid.UUID | None
    cohort: Cohort
    started_on: date


async def active_people(
    session: AsyncSession, organisation_id: uuid.UUID
) -> dict[uuid.UUID, Person]:
    """The organisation's active staff, by id."""
    stmt = sa.select(
        col(Staff.id),
        col(Staff.timezone),
        col(Staff.supervisor_id),
        col(Staff.unit_id),
        col(Staff.cohort),
        col(Staff.started_on),
    ).where(col(Staff.organisation_id) == organisation_id, col(Staff.active))
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    return {
        sid: Person(sid, tz, supervisor, unit, Cohort(cohort), started)
        for sid, tz, supervisor, unit, cohort, started in rows
    }


def _r(org: uuid.UUID, to: uuid.UUID, found: Found, subject: uuid.UUID) -> Reminder:
    return Reminder(org, to, found.kind, subject, found.occurrence)


async def due_reminders(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime
) -> list[Reminder]:
    """Every supervision reminder due in one organisation at `now` (leave and quiet hours
    are applied by `models.notifications.outbox.schedule`)."""
    policy = await load_policy(session, organisation_id)
    staff = await active_people(session, organisation_id)
    managers = dict(
        (
            await session.exec(
                select(col(Unit.id), col(Unit.manager_id)).where(
                    col(Unit.organisation_id) == organisation_id
                )
            )
        ).all()
    )
    found: list[Reminder] = []
    found += await _session_reminders(session, organisation_id, staff, policy, now)
    found += await _cadence_reminders(session, organisation_id, staff, managers, policy, now)
    found += await _action_reminders(session, organisation_id, staff, now)
    found += await agreement_reminders(session, organisation_id, staff, now)
    found += await group_reminders(session, organisation_id, staff, now)
    return found


async def _session_reminders(
    session: AsyncSession,
    org: uuid.UUID,
    staff: dict[uuid.UUID, Person],
    policy: CadencePolicy,
    now: datetime,
) -> list[Reminder]:
    # Upcoming sessions, and scheduled sessions past (held, not written up) or recorded,
    # unsigned ones; a session older than 60 days is left to oversight, not reminders.
    s = SupervisionSession
    stmt = sa.select(
        col(s.id),
        col(s.supervisee_id),
        col(s.supervisor_id),
        col(s.status),
        col(s.scheduled_for),
        col(s.recorded_at),
    ).where(
        col(SupervisionSession.organisation_id) == org,
        col(SupervisionSession.status).in_(
            [SessionStatus.scheduled.value, SessionStatus.recorded.value]
        ),
        col(SupervisionSession.scheduled_for) <= now + timedelta(hours=24),
        col(SupervisionSession.scheduled_for) >= now - timedelta(days=60),
    )
    out: list[Reminder] = []
    today_in = todays_at(now)
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    for session_id, supervisee_id, supervisor_id, status, scheduled_for, recorded_at in rows:
        supervisee = staff.get(supervisee_id)
        if supervisee is None:
            continue
        today = today_in(supervisee.timezone)
        if status == SessionStatus.scheduled:
            for f in upcoming(scheduled_for, now):
                out += [
                    _r(org, supervisee_id, f, session_id),
                    _r(org, supervisor_id, f, session_id),
                ]
            if scheduled_for <= now:
                held_on = local_today(scheduled_for, supervisee.timezone)
                written = record_not_written(policy, held_on, today)
                if written is not None:
                    out.append(_r(org, supervisor_id, written, session_id))
        elif recorded_at is not None:
            recorded_on = local_today(recorded_at, supervisee.timezone)
            signed = record_not_signed(policy, recorded_on, today)
            if signed is not None:
                out.append(_r(org, supervisee_id, signed, session_id))
    return out


async def _cadence_reminders(
    session: AsyncSession,
    org: uuid.UUID,
    staff: dict[uuid.UUID, Person],
    managers: dict[uuid.UUID, uuid.UUID | None],
    policy: CadencePolicy,
    now: datetime,
) -> list[Reminder]:
    supervised = [s for s in staff.values() if s.supervisor_id is not None]
    ids = [s.id for s in supervised]
    last = await last_counted_on(session, org, ids, policy)
    # Only absences that can still move someone's due date or put them on leave today.
    yesterday = now.date() - timedelta(days=1)
    windows = {
        s.id: absence_window_from(s.started_on, last.get(s.id), yesterday) for s in supervised
    }
    spans = await absence_spans_from(session, org, windows)
    out: list[Reminder] = []
    today_in = todays_at(now)
    for person in supervised:
        today = today_in(person.timezone)
        status = cadence(
            policy,
            person.cohort,
            person.started_on,
            last.get(person.id),
            spans.get(person.id, []),
            today,
        )
        if status.on_leave:
            continue
        recipients = {
            "self": person.id,
            "supervisor": person.supervisor_id,
            "manager": managers.get(person.unit_id) if person.unit_id else None,
        }
        for who, f in cadence_reminders(status, today).items():
            to = recipients[who]
            if to is not None:
                out.append(_r(org, to, f, person.id))
    return out


async def _action_reminders(
    session: AsyncSession, org: uuid.UUID, staff: dict[uuid.UUID, Person], now: datetime
) -> list[Reminder]:
    a = SupervisionAction
    stmt = select(col(a.id), col(a.owner_id), col(a.due_on)).where(
        col(SupervisionAction.organisation_id) == org,
        col(SupervisionAction.status) == ActionStatus.open.value,
        col(SupervisionAction.due_on).is_not(None),
        col(SupervisionAction.due_on) <= now.date() + timedelta(days=1),
    )
    out: list[Reminder] = []
    today_in = todays_at(now)
    for action_id, owner_id, due_on in (await session.exec(stmt)).all():
        owner = staff.get(owner_id)
        if owner is None or due_on is None:
            continue
        f = action_due(due_on, today_in(owner.timezone))
        if f is not None:
            out.append(_r(org, owner.id, f, action_id))
    return out
