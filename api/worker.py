"""The scheduler: APScheduler 3.x sweeps, in `harbour worker` or embedded in `harbour serve`.

Several schedulers may run (one per web worker with the embedded mode, or a worker
deployed twice); a lease in the database lets only one of them run the jobs at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from datetime import timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Clock, system_clock
from api.push import pusher_from_settings
from api.settings import Settings
from api.sweep import deliver, retention, sweep
from models.db import create_engine, create_session_factory, session_scope
from models.ops import claim_lease

log = logging.getLogger("harbour.worker")


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.clock = clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.is_leader = False
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        interval = settings.scheduler_heartbeat_seconds
        self._scheduler.add_job(
            self.heartbeat,
            "interval",
            seconds=interval,
            id="heartbeat",
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.add_job(
            self.reminders,
            "interval",
            seconds=settings.reminder_sweep_seconds,
            id="reminders",
            max_instances=1,
            coalesce=True,
        )
        self.pusher = pusher_from_settings(settings, httpx.AsyncClient(timeout=10.0))
        if self.pusher.configured:
            self._scheduler.add_job(
                self.push,
                "interval",
                seconds=settings.push_interval_seconds,
                id="push",
                max_instances=1,
                coalesce=True,
            )
        self._scheduler.add_job(
            self.retention, "interval", hours=6, id="retention", max_instances=1, coalesce=True
        )

    async def reminders(self) -> int:
        """One reminder sweep, only while this scheduler holds the lease."""
        if not self.is_leader:
            return 0
        try:
            async with session_scope(self.session_factory) as session:
                return await sweep(session, self.clock(), push=self.pusher.configured)
        except SQLAlchemyError:
            log.exception("reminder sweep failed")
            return 0

    async def push(self) -> int:
        """Send one batch of due pushes, only while holding the lease."""
        if not self.is_leader:
            return 0
        try:
            return await deliver(
                self.session_factory,
                self.pusher,
                self.clock(),
                max_attempts=self.settings.push_max_attempts,
                backoff_seconds=self.settings.push_backoff_seconds,
            )
        except SQLAlchemyError:
            log.exception("push delivery failed")
            return 0

    async def retention(self) -> int:
        """Clear raw check-in answers past retention, only while holding the lease."""
        if not self.is_leader:
            return 0
        try:
            async with session_scope(self.session_factory) as session:
                return await retention(session, self.clock())
        except SQLAlchemyError:
            log.exception("retention sweep failed")
            return 0

    async def heartbeat(self) -> bool:
        """Renew (or take over) the lease; jobs run only while this scheduler holds it."""
        ttl = timedelta(seconds=self.settings.scheduler_heartbeat_seconds * 3)
        try:
            async with session_scope(self.session_factory) as session:
                self.is_leader = await claim_lease(session, self.holder, self.clock(), ttl)
        except SQLAlchemyError:
            log.exception("heartbeat failed")
            self.is_leader = False
        return self.is_leader

    async def start(self) -> None:
        await self.heartbeat()
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


async def run_worker(settings: Settings) -> None:
    """`harbour worker`: run the scheduler until SIGINT or SIGTERM."""
    engine = create_engine(settings.database_url, pool_size=2)
    scheduler = Scheduler(settings, create_session_factory(engine))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await scheduler.start()
    log.info("worker %s started", scheduler.holder)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown()
        await engine.dispose()
