"""The scheduler's reminder and retention jobs run only while it holds the lease."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.settings import Settings
from api.worker import Scheduler
from models.notifications import Notification
from tests.conftest import FrozenClock, joined_sessions
from tests.supervision_factories import make_team


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
    assert await scheduler.retention() == 0
    assert await count() == 0
    scheduler.is_leader = True
    assert await scheduler.reminders() > 0
    assert await count() > 0
    assert not scheduler.push_configured  # no credentials: inbox only
