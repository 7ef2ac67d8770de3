"""Agreement reviews and group sessions remind the right people once, never leavers, never
anyone absent or on leave, and through their preferences (quiet hours, push)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import sweep_organisation
from models.directory.service import actor_for
from models.directory.staff import Staff
from models.group_supervision import Attendance, GroupAttendee, GroupFormat, GroupSession
from models.notifications.deliveries import Delivery
from models.notifications.outbox import Notification, Platform, register_device
from models.notifications.preferences import NotificationPreferences
from models.supervision import SessionStatus
from tests.conftest import FrozenClock
from tests.factories.directory import make_staff
from tests.factories.supervision import Team, make_absence, make_agreement, make_team

AGREEMENT_KINDS = {"agreement_review_due", "agreement_review_overdue"}
GROUP_KINDS = {"group_session_upcoming_24h", "group_session_upcoming_1h"}
Got = set[tuple[uuid.UUID, str, uuid.UUID, str]]


async def _got(db: AsyncSession, org: uuid.UUID, kinds: set[str]) -> Got:
    stmt = select(Notification).where(col(Notification.organisation_id) == org)
    return {
        (n.recipient_id, n.kind, n.subject_id, n.occurrence)
        for n in (await db.exec(stmt)).all()
        if n.kind in kinds
    }


async def _agreement(db: AsyncSession, team: Team, now: datetime, review_due_on: date) -> uuid.UUID:
    row = await make_agreement(
        db,
        team.supervisee,
        team.supervisor,
        now=now,
        starts_on=review_due_on - timedelta(days=90),
        review_due_on=review_due_on,
        in_force_at=now - timedelta(days=60),
    )
    return row.id


async def make_scheduled_group(
    db: AsyncSession,
    facilitator: Staff,
    attendees: list[tuple[Staff, Attendance]],
    scheduled_for: datetime,
    now: datetime,
    status: SessionStatus = SessionStatus.scheduled,
) -> GroupSession:
    row = GroupSession(
        organisation_id=facilitator.organisation_id,
        facilitator_id=facilitator.id,
        format=GroupFormat.signs_of_safety,
        status=status,
        scheduled_for=scheduled_for,
        duration_minutes=90,
        created_by=facilitator.id,
        request_hash="0" * 64,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    await db.flush()
    for position, (person, attendance) in enumerate(attendees):
        db.add(
            GroupAttendee(
                organisation_id=row.organisation_id,
                group_session_id=row.id,
                staff_id=person.id,
                position=position,
                attendance=attendance,
            )
        )
    await db.flush()
    return row


async def test_an_agreement_review_reminds_both_people_once_when_near_then_when_overdue(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()  # Monday 23 November 2026, 09:30 in London
    team = await make_team(db, now=now)
    review = date(2026, 12, 10)
    agreement = await _agreement(db, team, now, review)
    sub, sup = team.supervisee.id, team.supervisor.id

    # More than 14 days before the review date: nothing.
    await sweep_organisation(db, team.org.id, now)
    assert await _got(db, team.org.id, AGREEMENT_KINDS) == set()
    # 14 days before: both people, once however often the sweep runs.
    near = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    await sweep_organisation(db, team.org.id, near)
    await sweep_organisation(db, team.org.id, near + timedelta(days=3))
    due = {(who, "agreement_review_due", agreement, "2026-12-10") for who in (sub, sup)}
    assert await _got(db, team.org.id, AGREEMENT_KINDS) == due
    # On the review date itself it is still "due"; the day after, overdue, once.
    await sweep_organisation(db, team.org.id, datetime(2026, 12, 10, 9, 30, tzinfo=UTC))
    assert await _got(db, team.org.id, AGREEMENT_KINDS) == due
    after = datetime(2026, 12, 11, 9, 30, tzinfo=UTC)
    await sweep_organisation(db, team.org.id, after)
    await sweep_organisation(db, team.org.id, after + timedelta(days=7))
    overdue = {(who, "agreement_review_overdue", agreement, "2026-12-10") for who in (sub, sup)}
    assert await _got(db, team.org.id, AGREEMENT_KINDS) == due | overdue


async def test_no_review_reminder_for_leavers_drafts_or_a_former_supervisor(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    team = await make_team(db, now=now)
    await _agreement(db, team, now, date(2026, 11, 30))  # due within 14 days
    # A draft nobody signed, for the colleague: never reminded.
    await make_agreement(
        db,
        team.colleague,
        team.supervisor,
        now=now,
        starts_on=date(2026, 9, 1),
        review_due_on=date(2026, 11, 30),
        in_force_at=None,
    )
    # The supervisor has left: only the supervisee is told.
    team.supervisor.active = False
    await db.flush()
    await sweep_organisation(db, team.org.id, now)
    got = await _got(db, team.org.id, AGREEMENT_KINDS)
    assert {r for r, *_ in got} == {team.supervisee.id}
    # A new supervisor: the agreement was the old relationship's, so no review reminder.
    other = await make_team(db, now=now)
    await _agreement(db, other, now, date(2026, 11, 30))
    other.supervisee.supervisor_id = other.colleague.id
    await db.flush()
    await sweep_organisation(db, other.org.id, now)
    assert await _got(db, other.org.id, AGREEMENT_KINDS) == set()
    # The supervisee leaves: nobody.
    third = await make_team(db, now=now)
    await _agreement(db, third, now, date(2026, 11, 30))
    third.supervisee.active = False
    await db.flush()
    await sweep_organisation(db, third.org.id, now)
    assert await _got(db, third.org.id, AGREEMENT_KINDS) == set()


async def test_a_review_reminder_waits_for_leave_and_quiet_hours_and_respects_push(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    team = await make_team(db, now=now)
    agreement = await _agreement(db, team, now, date(2026, 11, 30))
    await make_absence(db, team.supervisee, date(2026, 11, 20), date(2026, 11, 24), now=now)
    db.add(
        NotificationPreferences(
            organisation_id=team.org.id,
            staff_id=team.supervisor.id,
            push_enabled=False,
            updated_at=now,
        )
    )
    for person in (team.supervisee, team.supervisor):
        await register_device(db, actor_for(person), Platform.android, f"t-{person.id}", now)
    await sweep_organisation(db, team.org.id, now, push=True)
    # The supervisee is on leave: only the supervisor (no quiet hours saved, push off).
    got = await _got(db, team.org.id, AGREEMENT_KINDS)
    assert {r for r, *_ in got} == {team.supervisor.id}
    pushes = (
        await db.exec(select(Delivery).where(col(Delivery.organisation_id) == team.org.id))
    ).all()
    assert pushes == []
    # Back from leave, at 22:30: stored now, delivered at 08:00 (default quiet hours).
    late = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    await sweep_organisation(db, team.org.id, late, push=True)
    row = (
        await db.exec(
            select(Notification).where(
                col(Notification.recipient_id) == team.supervisee.id,
                col(Notification.subject_id) == agreement,
            )
        )
    ).one()
    assert row.kind == "agreement_review_due"
    assert row.deliver_after == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


async def test_group_attendees_and_the_facilitator_are_reminded_before_a_group(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    team = await make_team(db, now=now)
    org = team.org
    present = team.supervisee
    absent = await make_staff(db, org, unit=team.team, supervisor=team.supervisor, now=now)
    leaver = await make_staff(db, org, unit=team.team, supervisor=team.supervisor, now=now)
    on_leave = await make_staff(db, org, unit=team.team, supervisor=team.supervisor, now=now)
    leaver.active = False
    await make_absence(db, on_leave, date(2026, 11, 23), date(2026, 11, 25), now=now)
    start = now + timedelta(hours=5)
    group = await make_scheduled_group(
        db,
        team.supervisor,
        [
            (present, Attendance.invited),
            (absent, Attendance.absent),
            (leaver, Attendance.invited),
            (on_leave, Attendance.invited),
        ],
        start,
        now,
    )
    # Neither a cancelled group nor one more than a day away reminds anyone.
    await make_scheduled_group(
        db, team.supervisor, [(present, Attendance.invited)], start, now, SessionStatus.cancelled
    )
    await make_scheduled_group(
        db, team.supervisor, [(present, Attendance.invited)], now + timedelta(hours=30), now
    )

    await sweep_organisation(db, org.id, now)
    await sweep_organisation(db, org.id, now + timedelta(minutes=5))
    key = start.isoformat()
    first = {
        (present.id, "group_session_upcoming_24h", group.id, key),
        (team.supervisor.id, "group_session_upcoming_24h", group.id, key),
    }
    assert await _got(db, org.id, GROUP_KINDS) == first
    # An hour before: the 1 h reminder, once; nothing after it started.
    soon = start - timedelta(minutes=30)
    await sweep_organisation(db, org.id, soon)
    await sweep_organisation(db, org.id, soon + timedelta(minutes=10))
    await sweep_organisation(db, org.id, start + timedelta(minutes=5))
    second = {
        (present.id, "group_session_upcoming_1h", group.id, key),
        (team.supervisor.id, "group_session_upcoming_1h", group.id, key),
    }
    assert await _got(db, org.id, GROUP_KINDS) == first | second
    # Rescheduled: a new occurrence.
    group.scheduled_for = start + timedelta(hours=2)
    await db.flush()
    await sweep_organisation(db, org.id, start + timedelta(minutes=20))
    moved = {o for _, _, s, o in await _got(db, org.id, GROUP_KINDS) if s == group.id}
    assert moved == {key, (start + timedelta(hours=2)).isoformat()}
