"""Someone's supervision cadence status: interval, last counted session, due date, overdue."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, func
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.absence import absence_spans
from models.actor import Actor
from models.db import one_of
from models.directory.staff import Cohort, Staff
from models.errors import NotFound
from models.group_supervision import Attendance, GroupAttendee, GroupSession
from models.supervision import HELD_STATUSES, SessionKind, SessionStatus, SupervisionSession
from supervision.access import overseeable_staff
from supervision.policy import Cadence, CadencePolicy, cadence
from supervision.policy_store import load_policy


def local_today(now: datetime, timezone: str) -> date:
    """Today's date where the person is (their time zone, falling back to UTC)."""
    try:
        return now.astimezone(ZoneInfo(timezone)).date()
    except (KeyError, ValueError):
        return now.date()


def todays_at(now: datetime) -> Callable[[str], date]:
    """`local_today` at `now` for any time zone, worked out once per zone (a council's
    thousands of people share a handful; the sweep and the roll-up ask for each person)."""
    known: dict[str, date] = {}

    def today(timezone: str) -> date:
        found = known.get(timezone)
        if found is None:
            found = known[timezone] = local_today(now, timezone)
        return found

    return today


def counted(policy: CadencePolicy) -> list[sa.ColumnElement[bool]]:
    """SQL conditions for a session that counts toward cadence under `policy`."""
    return [
        col(SupervisionSession.status).in_([s.value for s in HELD_STATUSES]),
        col(SupervisionSession.kind).in_(sorted(k.value for k in policy.counted_kinds)),
        col(SupervisionSession.held_minutes) >= policy.minimum_minutes,
    ]


def _latest_attended_group(
    organisation_id: uuid.UUID, policy: CadencePolicy, on_or_before: date | None
) -> sa.ScalarSelect[date | None]:
    """The day of the last counted group session the outer query's staff member attended."""
    a, g = GroupAttendee, GroupSession
    latest = (
        sa.select(func.max(col(a.held_on)))
        .join(g, col(g.id) == col(a.group_session_id))
        .where(
            col(a.organisation_id) == organisation_id,
            col(g.organisation_id) == organisation_id,
            col(a.staff_id) == col(Staff.id),
            col(a.attendance) == Attendance.attended,
            col(g.status) == SessionStatus.recorded,
            col(g.held_minutes) >= policy.minimum_minutes,
        )
    )
    if on_or_before is not None:
        latest = latest.where(col(a.held_on) <= on_or_before)
    return latest.scalar_subquery()


async def last_counted_on(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    staff_ids: SelectOfScalar[uuid.UUID] | list[uuid.UUID],
    policy: CadencePolicy,
    *,
    on_or_before: date | None = None,
) -> dict[uuid.UUID, date]:
    """The date of each person's last counted session, in one statement.

    A correlated `max(held_on)` per person rather than a GROUP BY over everyone's sessions:
    on PostgreSQL each is a backward walk of `ix_supervision_sessions_org_supervisee_held`
    that stops at the newest counted session, so the cost follows the number of people, not
    the years of history behind them (docs/PERFORMANCE.md, "Scale of the rest"). When the
    policy counts group sessions, a group session a person attended counts for them too
    (`models/group_supervision.py`): a second correlated max, over
    `ix_supervision_group_attendees_org_staff_held`, in the same statement."""
    columns = last_counted_columns(organisation_id, policy, on_or_before=on_or_before)
    member = (
        col(Staff.id).in_(staff_ids)
        if isinstance(staff_ids, sa.Select)
        else one_of(session, col(Staff.id), staff_ids)
    )
    stmt = sa.select(col(Staff.id), *columns).where(
        col(Staff.organisation_id) == organisation_id, member
    )
    found: dict[uuid.UUID, date] = {}
    # Plain rows: the ORM's result machinery cost more than the statement for hundreds.
    connection = await session.connection()
    for sid, *days in (await connection.execute(stmt)).all():
        held = latest_of(days)
        if held is not None:
            found[sid] = held
    return found


def last_counted_columns(
    organisation_id: uuid.UUID, policy: CadencePolicy, *, on_or_before: date | None = None
) -> list[Any]:
    """`last_counted_on`'s columns, for a query over `Staff` (one or two correlated maxima:
    one-to-one and, when the policy counts them, attended group sessions). The person's
    last counted day is `latest_of` their values."""
    s = SupervisionSession
    latest = sa.select(func.max(col(s.held_on))).where(
        col(s.organisation_id) == organisation_id,
        col(s.supervisee_id) == col(Staff.id),
        *counted(policy),
    )
    if on_or_before is not None:
        latest = latest.where(col(s.held_on) <= on_or_before)
    columns: list[Any] = [latest.scalar_subquery()]
    if SessionKind.group in policy.counted_kinds:
        columns.append(_latest_attended_group(organisation_id, policy, on_or_before))
    return columns


def latest_of(days: Sequence[date | None]) -> date | None:
    """The latest of `last_counted_columns`' values (None: no counted session)."""
    held = [day for day in days if day is not None]
    return max(held) if held else None


async def status_of(
    session: AsyncSession, staff: Staff, policy: CadencePolicy, now: datetime
) -> Cadence:
    """`staff`'s cadence today (no permission check: callers have one)."""
    last = (await last_counted_on(session, staff.organisation_id, [staff.id], policy)).get(staff.id)
    spans = await absence_spans(session, staff.organisation_id, [staff.id])
    return cadence(
        policy,
        Cohort(staff.cohort),
        staff.started_on,
        last,
        spans.get(staff.id, []),
        local_today(now, staff.timezone),
    )


async def get_status(
    session: AsyncSession, actor: Actor, staff_id: uuid.UUID | None, now: datetime
) -> tuple[Staff, Cadence]:
    """The cadence status of `staff_id` (default: the caller), if the caller may see it."""
    wanted = staff_id or actor.id
    stmt = overseeable_staff(actor).where(col(Staff.id) == wanted)
    staff = (await session.exec(stmt)).first()
    if staff is None:
        raise NotFound("No such staff member.")
    policy = await load_policy(session, actor.organisation_id)
    return staff, await status_of(session, staff, policy, now)
