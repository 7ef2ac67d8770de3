"""The scheduler's reminder and retention jobs run only while it holds the lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.scheduler import Scheduler
from api.delivery.sweep import Purged
from api.settings import Settings
from models.analytics.tables import PrivacySpend
from models.notifications.outbox import Notification
from models.ops import claim_lease
from tests.conftest import FrozenClock, joined_sessions
from tests.factories.supervision import make_team
from tests.factories.wellbeing import make_checkin


async def test_reminder_job_runs_only_for_the_leader(
    connection: AsyncConnection, db: AsyncSession, test_settings: Settings, clock: FrozenClock
) -> None:
    team = await make_team(db, now=clock())
    scheduler = Scheduler(test_settings, joined_sessions(connection), clock)

    async def count() -> int:
        stmt = (
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.organisation_id) == team.org.id)
        )
        return int((await db.exec(stmt)).one())

    scheduler.is_leader = False
    assert await scheduler.reminders() == 0
    assert await scheduler.retention() == Purged(0, 0, 0)
    assert await count() == 0
    scheduler.is_leader = True
    assert await scheduler.reminders() > 0
    assert await count() > 0
    assert not scheduler.push_configured  # no credentials: inbox only


async def test_a_standby_that_takes_the_lease_over_catches_up_at_once(
    connection: AsyncConnection, db: AsyncSession, test_settings: Settings, clock: FrozenClock
) -> None:
    sessions = joined_sessions(connection)
    assert await claim_lease(db, "the-leader", clock(), timedelta(seconds=0))
    standby = Scheduler(test_settings, sessions, clock)
    jobs = standby._scheduler
    jobs.start(paused=True)  # the jobs' timing is what is under test, not their running
    try:
        assert not await standby.heartbeat()
        later = datetime.now(UTC) + timedelta(hours=1)
        for job in ("reminders", "deliver", "retention"):
            jobs.modify_job(job, next_run_time=later)  # as after their runs at start
        clock.advance(minutes=5)  # the leader has gone quiet
        assert await standby.heartbeat()
        soon = datetime.now(UTC) + timedelta(seconds=5)
        assert jobs.get_job("reminders").next_run_time <= soon
        assert jobs.get_job("deliver").next_run_time <= soon
        assert jobs.get_job("retention").next_run_time >= later  # not urgent
        # Renewing a lease it already holds changes nothing.
        jobs.modify_job("reminders", next_run_time=later)
        assert await standby.heartbeat()
        assert jobs.get_job("reminders").next_run_time >= later
    finally:
        await standby.shutdown()


async def test_publish_job_runs_only_for_the_leader_and_publishes_each_period_once(
    connection: AsyncConnection, db: AsyncSession, test_settings: Settings, clock: FrozenClock
) -> None:
    team = await make_team(db, now=clock())
    await make_checkin(db, team.supervisee, at=clock(), wellbeing=14)
    clock.advance(days=40)
    scheduler = Scheduler(test_settings, joined_sessions(connection), clock)
    scheduler.is_leader = False
    assert await scheduler.publish() == 0
    scheduler.is_leader = True
    assert await scheduler.publish() > 0  # November, for each measure
    assert await scheduler.publish() == 0
    spent = (
        await db.exec(select(PrivacySpend).where(col(PrivacySpend.organisation_id) == team.org.id))
    ).all()
    assert {(s.measure, s.period_start.isoformat()) for s in spent} >= {("wellbeing", "2026-11-01")}
