"""The reminder sweep on the database: who gets what, once, never on leave, never at night."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import sweep_organisation
from models.base import TenantTable
from models.changes import Change
from models.db import session_scope
from models.directory.organisation import Organisation
from models.directory.service import actor_for
from models.group_supervision import Attendance
from models.notifications.deliveries import Delivery
from models.notifications.outbox import Notification, Platform, register_device
from models.supervision import SessionStatus
from tests.api.test_oversight_supervision import counting
from tests.api.test_practice_reminders import make_scheduled_group
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, make_staff
from tests.factories.supervision import (
    make_absence,
    make_action,
    make_agreement,
    make_session,
    make_team,
)
from tests.factories.wellbeing import make_checkin
from tests.harness import Committed

Got = set[tuple[uuid.UUID, str, uuid.UUID]]


async def notes(db: AsyncSession, organisation_id: uuid.UUID) -> Got:
    stmt = select(Notification).where(col(Notification.organisation_id) == organisation_id)
    return {(n.recipient_id, n.kind, n.subject_id) for n in (await db.exec(stmt)).all()}


async def test_overdue_escalation_and_nudge_go_to_the_right_people_once(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()  # Monday 23 November 2026, 09:30 in London
    team = await make_team(db, now=now)  # the supervisee has never had supervision
    created = await sweep_organisation(db, team.org.id, now)
    sub = team.supervisee.id
    assert await notes(db, team.org.id) == {
        (sub, "supervision_overdue", sub),
        (team.supervisor.id, "supervisee_overdue", sub),
        (team.manager.id, "overdue_escalation", sub),
        # Every practitioner with the default Monday 09:00 nudge:
        (sub, "checkin_nudge", sub),
    }
    assert len(created) == 4
    # A second sweep, and one later the same week, add nothing.
    assert await sweep_organisation(db, team.org.id, now) == []
    assert await sweep_organisation(db, team.org.id, now + timedelta(days=2)) == []


async def test_nothing_while_on_leave(db: AsyncSession, clock: FrozenClock) -> None:
    now = clock()
    team = await make_team(db, now=now)
    await make_absence(db, team.supervisee, date(2026, 11, 16), date(2026, 11, 27), now=now)
    await make_session(
        db, team.supervisee, team.supervisor, now=now, scheduled_for=now + timedelta(hours=3)
    )
    await sweep_organisation(db, team.org.id, now)
    got = await notes(db, team.org.id)
    assert {r for r, _, _ in got} == {team.supervisor.id}  # the session reminder only
    assert {k for _, k, _ in got} == {"session_upcoming_24h"}


async def test_session_record_and_action_reminders(db: AsyncSession, clock: FrozenClock) -> None:
    now = clock()
    team = await make_team(db, now=now)
    sub, sup = team.supervisee.id, team.supervisor.id
    # Held on 2 November and recorded: counts for cadence (next due 30 November), unsigned.
    held = await make_session(
        db, team.supervisee, team.supervisor, now=now, held_on=date(2026, 11, 2)
    )
    # Scheduled 10 days ago and never written up.
    unwritten = await make_session(
        db, team.supervisee, team.supervisor, now=now, scheduled_for=now - timedelta(days=10)
    )
    soon = await make_session(
        db, team.supervisee, team.supervisor, now=now, scheduled_for=now + timedelta(hours=5)
    )
    action = await make_action(db, held, now=now, due_on=date(2026, 11, 23))
    tomorrow = await make_action(db, held, now=now, due_on=date(2026, 11, 24))  # not yet

    await sweep_organisation(db, team.org.id, now)
    got = {g for g in await notes(db, team.org.id) if g[1] != "checkin_nudge"}
    assert got == {
        (sub, "record_not_signed", held.id),
        (sup, "record_not_written", unwritten.id),
        (sub, "session_upcoming_24h", soon.id),
        (sup, "session_upcoming_24h", soon.id),
        (sub, "action_due", action.id),
    }
    # Four hours later the 1 h reminder goes out as well; nothing is repeated.
    later = now + timedelta(hours=4, minutes=30)
    assert len(await sweep_organisation(db, team.org.id, later)) == 2
    kinds = [k for r, k, s in await notes(db, team.org.id) if s == soon.id and r == sub]
    assert sorted(kinds) == ["session_upcoming_1h", "session_upcoming_24h"]
    # Signed and cancelled sessions remind nobody; tomorrow's action is due tomorrow.
    held.status = SessionStatus.signed_off
    unwritten.status = SessionStatus.cancelled
    db.add_all([held, unwritten])
    await db.flush()
    (new,) = await sweep_organisation(db, team.org.id, later + timedelta(days=1))
    row = await db.get(Notification, new)
    assert row is not None
    assert (row.recipient_id, row.kind, row.subject_id) == (sub, "action_due", tomorrow.id)


async def test_quiet_hours_defer_the_inbox_until_morning(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    clock.now = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 22:30 in London: quiet
    team = await make_team(db, now=clock())
    await sweep_organisation(db, team.org.id, clock())
    rows = (
        await db.exec(
            select(Notification).where(col(Notification.recipient_id) == team.supervisee.id)
        )
    ).all()
    assert rows
    assert {n.deliver_after for n in rows} == {datetime(2026, 11, 24, 8, 0, tzinfo=UTC)}
    inbox = await client.get("/api/v1/notifications", headers=bearer(app, team.supervisee))
    assert inbox.json()["data"] == []
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    inbox = await client.get("/api/v1/notifications", headers=bearer(app, team.supervisee))
    assert len(inbox.json()["data"]) == len(rows)


async def test_nudge_waits_for_chosen_time_and_skips_after_a_checkin(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    team = await make_team(db, now=now)
    me = await make_staff(db, team.org, unit=team.team, now=now)
    prefs = {
        "timezone": "Europe/London",
        "quiet_hours_start": None,
        "quiet_hours_end": None,
        "checkin_nudge_weekday": 3,
        "checkin_nudge_time": "17:00:00",
        "push_enabled": True,
    }
    read = await client.get("/api/v1/me/preferences", headers=bearer(app, me))
    headers = {**bearer(app, me), "If-Match": read.headers["ETag"]}
    assert (
        await client.put("/api/v1/me/preferences", json=prefs, headers=headers)
    ).status_code == 200

    # Two more with the default Monday 09:00 nudge: one checked in this week (Monday 08:00
    # London, after the week began), one only last Sunday.
    this_week = await make_staff(db, team.org, unit=team.team, now=now)
    last_week = await make_staff(db, team.org, unit=team.team, now=now)
    await make_checkin(db, this_week, at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    await make_checkin(db, last_week, at=datetime(2026, 11, 22, 23, 59, tzinfo=UTC))
    watched = {me.id, this_week.id, last_week.id}

    def mine(got: Got) -> Got:
        return {g for g in got if g[0] in watched and g[1] == "checkin_nudge"}

    await sweep_organisation(db, team.org.id, datetime(2026, 11, 25, 16, 59, tzinfo=UTC))
    assert mine(await notes(db, team.org.id)) == {(last_week.id, "checkin_nudge", last_week.id)}
    await sweep_organisation(db, team.org.id, datetime(2026, 11, 25, 17, 0, tzinfo=UTC))
    assert mine(await notes(db, team.org.id)) == {
        (me.id, "checkin_nudge", me.id),
        (last_week.id, "checkin_nudge", last_week.id),
    }


async def test_two_concurrent_sweeps_create_each_notification_once(committed: Committed) -> None:
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        team = await make_team(db, now=now)
        committed.track(team.org)
        elsewhere = await db.get(Organisation, team.outsider.organisation_id)
        assert elsewhere is not None
        committed.track(elsewhere)
        for _ in range(6):
            extra = await make_staff(
                db, team.org, unit=team.team, supervisor=team.supervisor, now=now
            )
            await make_session(
                db, extra, team.supervisor, now=now, scheduled_for=now + timedelta(hours=2)
            )

    async def one() -> list[uuid.UUID]:
        async with session_scope(committed.sessions) as db:
            return await sweep_organisation(db, team.org.id, now)

    first, second = await asyncio.gather(one(), one())
    async with committed.sessions() as db:
        total = (
            await db.exec(
                select(func.count())
                .select_from(Notification)
                .where(col(Notification.organisation_id) == team.org.id)
            )
        ).one()
        distinct = (
            await db.exec(
                select(func.count()).select_from(
                    select(
                        col(Notification.recipient_id),
                        col(Notification.kind),
                        col(Notification.subject_id),
                        col(Notification.occurrence),
                    )
                    .where(col(Notification.organisation_id) == team.org.id)
                    .distinct()
                    .subquery()
                )
            )
        ).one()
    # 7 supervisees overdue (x3 recipients), 7 nudges, 6 sessions x 2 people.
    assert total == distinct == 7 * 3 + 7 + 6 * 2
    assert len(first) + len(second) == total
    assert not set(first) & set(second)


async def _stored_rows(db: AsyncSession, organisation_id: uuid.UUID) -> tuple[int, int, int]:
    """How many notifications, deliveries and sync-feed changes an organisation has."""
    return (
        await _count(db, Notification, organisation_id),
        await _count(db, Delivery, organisation_id),
        await _count(db, Change, organisation_id),
    )


async def _count(db: AsyncSession, table: type[TenantTable], organisation_id: uuid.UUID) -> int:
    stmt = (
        select(func.count()).select_from(table).where(col(table.organisation_id) == organisation_id)
    )
    return int((await db.exec(stmt)).one())


async def test_a_sweep_makes_as_many_statements_for_thirty_people_as_for_three(
    db: AsyncSession, connection: AsyncConnection, clock: FrozenClock
) -> None:
    """Set-based: the outbox, the sync feed and the deliveries are written in bulk, and a
    repeat sweep (every five minutes of a quiet day) finds everything stored in one read."""
    now = clock()
    counts: dict[str, list[int]] = {"first": [], "repeat": []}
    for size in (3, 30):
        team = await make_team(db, now=now)
        people = []
        for n in range(size):
            person = await make_staff(
                db, team.org, unit=team.team, supervisor=team.supervisor, now=now
            )
            await register_device(db, actor_for(person), Platform.android, f"t-{size}-{n}", now)
            # An agreement whose review is near, and a place at tomorrow's group session.
            await make_agreement(
                db,
                person,
                team.supervisor,
                now=now,
                starts_on=now.date() - timedelta(days=80),
                review_due_on=now.date() + timedelta(days=7),
                in_force_at=now - timedelta(days=80),
            )
            people.append((person, Attendance.invited))
        await make_scheduled_group(db, team.supervisor, people, now + timedelta(hours=20), now)
        for name in ("first", "repeat"):
            with counting(connection) as statements:
                created = await sweep_organisation(db, team.org.id, now, push=True)
            counts[name].append(len(statements))
            if name == "first":
                stored = await _stored_rows(db, team.org.id)
                # Each: overdue, their supervisor told, the manager's escalation, a nudge,
                # the agreement review (to both), the group session.
                assert len(created) >= 7 * size
                planned = (
                    select(func.count())
                    .select_from(Delivery)
                    .where(col(Delivery.organisation_id) == team.org.id)
                )
                assert (await db.exec(planned)).one() >= 2 * size
            else:
                assert created == []
                # It wrote nothing at all: no statement but the outbox's INSERT ... ON
                # CONFLICT DO NOTHING (on PostgreSQL, the check of what is stored), which
                # inserted no row, nor a delivery, nor a change on anyone's sync feed.
                written = [
                    s
                    for s in statements
                    if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                    and "ON CONFLICT" not in s.upper()
                ]
                assert written == []
                assert await _stored_rows(db, team.org.id) == stored
    for name, (small, large) in counts.items():
        assert small == large, (name, counts)
    assert counts["repeat"][0] < counts["first"][0] < 40, counts
