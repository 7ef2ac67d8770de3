"""Reminders about supervision agreements and group sessions (see docs/reminders.md).

- `agreement_review_due` (14 days before an agreement's review date, to both people) and
  `agreement_review_overdue` (the day after it, to both): each once per review date, so a
  reviewed agreement (a new version with the next review date) is a new occurrence.
- `group_session_upcoming_24h` / `_1h`: to each invited attendee (not one already marked
  absent) and the facilitator, as for one-to-one sessions; keyed by the session's start, so
  a rescheduled group is a new occurrence.

One statement each. Leavers are never reminded (only active staff are in `staff`, and
`schedule` drops inactive recipients), nor is anyone on leave that day (`schedule`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.agreement import AgreementStatus, SupervisionAgreement
from models.group_supervision import Attendance, GroupAttendee, GroupSession
from models.notifications.outbox import NotificationKind, Reminder
from models.supervision import SessionStatus
from supervision.status import local_today

K = NotificationKind


class _Person(Protocol):
    """What these rules read of an active staff member (`supervision.reminders.Person`)."""

    @property
    def supervisor_id(self) -> uuid.UUID | None: ...

    @property
    def timezone(self) -> str: ...


# "Near": the review is due within this many days (a fortnight: time to book it).
REVIEW_SOON_DAYS = 14


def agreement_review(review_due_on: date, today: date) -> NotificationKind | None:
    """Due soon (`review - 14 days <= today <= review`), overdue (`today > review`), or
    nothing yet."""
    if today > review_due_on:
        return K.agreement_review_overdue
    if review_due_on - timedelta(days=REVIEW_SOON_DAYS) <= today:
        return K.agreement_review_due
    return None


def group_upcoming(scheduled_for: datetime, now: datetime) -> NotificationKind | None:
    """24 h before a group session (until 1 h before), then 1 h before (until it starts)."""
    if scheduled_for - timedelta(hours=1) <= now < scheduled_for:
        return K.group_session_upcoming_1h
    if scheduled_for - timedelta(hours=24) <= now < scheduled_for - timedelta(hours=1):
        return K.group_session_upcoming_24h
    return None


async def agreement_reminders(
    session: AsyncSession, org: uuid.UUID, staff: Mapping[uuid.UUID, _Person], now: datetime
) -> list[Reminder]:
    """Both people of each agreement in force whose review is near or past: only while it is
    the agreement of the supervisee's current supervisory relationship."""
    a = SupervisionAgreement
    stmt = select(
        col(a.id), col(a.supervisee_id), col(a.supervisor_id), col(a.review_due_on)
    ).where(
        col(a.organisation_id) == org,
        col(a.status) == AgreementStatus.in_force.value,
        # the latest local date anywhere is at most a day ahead of UTC's
        col(a.review_due_on) <= now.date() + timedelta(days=REVIEW_SOON_DAYS + 1),
    )
    out: list[Reminder] = []
    for agreement_id, supervisee_id, supervisor_id, review_due_on in (
        await session.exec(stmt)
    ).all():
        supervisee = staff.get(supervisee_id)
        if supervisee is None or supervisee.supervisor_id != supervisor_id:
            continue  # a leaver's, or made with a former supervisor: not this relationship's
        kind = agreement_review(review_due_on, local_today(now, supervisee.timezone))
        if kind is not None:
            key = review_due_on.isoformat()
            out += [
                Reminder(org, supervisee_id, kind, agreement_id, key),
                Reminder(org, supervisor_id, kind, agreement_id, key),
            ]
    return out


async def group_reminders(
    session: AsyncSession, org: uuid.UUID, staff: Mapping[uuid.UUID, _Person], now: datetime
) -> list[Reminder]:
    """The facilitator and each attendee not marked absent, before a scheduled group."""
    g, a = GroupSession, GroupAttendee
    stmt = (
        select(col(g.id), col(g.scheduled_for), col(g.facilitator_id), col(a.staff_id))
        .join(a, sa.and_(col(a.group_session_id) == col(g.id), col(a.organisation_id) == org))
        .where(
            col(g.organisation_id) == org,
            col(g.status) == SessionStatus.scheduled.value,
            col(g.scheduled_for) > now,
            col(g.scheduled_for) <= now + timedelta(hours=24),
            col(a.attendance) != Attendance.absent.value,
        )
    )
    found: dict[tuple[uuid.UUID, uuid.UUID], Reminder] = {}
    for group_id, scheduled_for, facilitator_id, attendee_id in (await session.exec(stmt)).all():
        kind = group_upcoming(scheduled_for, now)
        if kind is None:
            continue
        for person in (attendee_id, facilitator_id):
            if person in staff:
                key = scheduled_for.isoformat()
                found[(group_id, person)] = Reminder(org, person, kind, group_id, key)
    return list(found.values())
