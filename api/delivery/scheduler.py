"""The scheduler: APScheduler 3.x sweeps, in `harbour worker` or embedded in `harbour serve`.

Several schedulers may run (one per web worker with the embedded mode, or a worker
deployed twice); a lease in the database lets only one of them run the jobs at a time.
A scheduler that stops cleanly hands the lease back, so another takes over at its next beat.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.deliver import DeliveryPolicy, channels_from_settings, deliver, pool_size_for
from api.delivery.sweep import Purged, retention, sweep
from api.deps import Clock, system_clock
from api.heap import collect_less_often, freeze_startup_heap
from api.settings import Settings
from models.db import create_engine, create_session_factory, session_scope
from models.ops import claim_lease, release_lease
from wellbeing.publish import due_periods, organisations, publish_period

log = logging.getLogger("harbour.worker")

# Provider calls never take longer than this; the delivery lease must stay well above it.
HTTP_TIMEOUT_SECONDS = 10.0
# Jobs a scheduler runs at once when it starts, or takes the lease over from another.
CATCH_UP = ("reminders", "deliver")


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
        # HTTP/2 for APNs (it speaks nothing else); FCM and webhooks negotiate either.
        self.client = httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, http2=True)
        tls = httpx.create_ssl_context()  # the trust store, loaded once for every webhook client
        self.channels = channels_from_settings(
            settings,
            self.client,
            lambda: httpx.AsyncClient(verify=tls, timeout=HTTP_TIMEOUT_SECONDS, http2=True),
        )
        self.policy = DeliveryPolicy.from_settings(settings)
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # A run that comes late (a busy loop, a slow start) still runs, once.
        every = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        # APScheduler runs on the wall clock (the injected clock is the jobs' `now`).
        at_start = datetime.now(UTC)
        self._scheduler.add_job(
            self.heartbeat,
            "interval",
            seconds=settings.scheduler_heartbeat_seconds,
            id="heartbeat",
            **every,
        )
        # Sweeps and delivery run once at start too (CATCH_UP), and again on a takeover.
        self._scheduler.add_job(
            self.reminders,
            "interval",
            seconds=settings.reminder_sweep_seconds,
            id="reminders",
            next_run_time=at_start,
            **every,
        )
        self._scheduler.add_job(
            self.deliver,
            "interval",
            seconds=settings.delivery_interval_seconds,
            id="deliver",
            next_run_time=at_start,
            **every,
        )
        self._scheduler.add_job(self.retention, "interval", hours=6, id="retention", **every)
        # The anonymised release: completed periods not yet decided, checked hourly.
        self._scheduler.add_job(
            self.publish, "interval", hours=1, id="publish", next_run_time=at_start, **every
        )

    @property
    def push_configured(self) -> bool:
        return self.channels.pusher.configured

    async def reminders(self) -> int:
        """One reminder sweep, only while this scheduler holds the lease."""
        if not self.is_leader:
            return 0
        try:
            async with session_scope(self.session_factory) as session:
                return await sweep(session, self.clock(), push=self.push_configured)
        except SQLAlchemyError:
            log.exception("reminder sweep failed")
            return 0

    async def deliver(self) -> int:
        """Send what is due (push, webhook), only while holding the lease."""
        if not self.is_leader:
            return 0
        try:
            return await deliver(self.session_factory, self.channels, self.clock, self.policy)
        except SQLAlchemyError:
            log.exception("delivery failed")
            return 0

    async def retention(self) -> Purged:
        """Clear raw check-in answers past retention, old delivery records and lapsed sign-in
        rows, only while holding the lease."""
        if not self.is_leader:
            return Purged(0, 0, 0)
        kept = timedelta(days=self.settings.delivery_retention_days)
        idle = timedelta(minutes=self.settings.web_session_idle_minutes)
        try:
            async with session_scope(self.session_factory) as session:
                purged = await retention(session, self.clock(), deliveries_kept=kept, web_idle=idle)
        except SQLAlchemyError:
            log.exception("retention sweep failed")
            return Purged(0, 0, 0)
        log.info(
            "retention: %d check-ins' answers cleared, %d delivery records and %d lapsed "
            "sign-in rows deleted",
            purged.answers,
            purged.deliveries,
            purged.sign_ins,
        )
        return purged

    async def publish(self) -> int:
        """Decide each due period of each organisation once (wellbeing/publish.py), one
        transaction per organisation and period, only while holding the lease."""
        if not self.is_leader:
            return 0
        return await publish_all(self.session_factory, self.clock())

    async def heartbeat(self) -> bool:
        """Renew (or take over) the lease; jobs run only while this scheduler holds it."""
        ttl = timedelta(seconds=self.settings.scheduler_heartbeat_seconds * 3)
        was_leader = self.is_leader
        try:
            async with session_scope(self.session_factory) as session:
                self.is_leader = await claim_lease(session, self.holder, self.clock(), ttl)
        except SQLAlchemyError:
            log.exception("heartbeat failed")
            self.is_leader = False
        if self.is_leader and not was_leader and self._scheduler.running:
            # Taking over from a leader that died: catch up now, not an interval from now.
            log.info("scheduler %s took the lease", self.holder)
            for job in CATCH_UP:
                self._scheduler.modify_job(job, next_run_time=datetime.now(UTC))
        return self.is_leader

    async def start(self) -> None:
        await self.heartbeat()
        self._scheduler.start()

    async def shutdown(self) -> None:
        """Stop the jobs, hand the lease back, close the HTTP client."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self.is_leader:
            self.is_leader = False
            try:
                async with session_scope(self.session_factory) as session:
                    await release_lease(session, self.holder)
            except SQLAlchemyError:
                log.exception("could not hand the lease back; it expires on its own")
        await self.client.aclose()


async def publish_all(
    session_factory: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    org: str | None = None,
    since: date | None = None,
) -> int:
    """Publish every due period (from `since` for a backfill) of every organisation, or of
    the one named; answers how many measure-periods were published. A period that fails
    (a race with another publisher, a database error) is logged and left for the next run."""
    async with session_scope(session_factory) as session:
        found = await organisations(session, org)
    published = 0
    for organisation_id in found:
        for kind, start in due_periods(now, since):
            try:
                async with session_scope(session_factory) as session:
                    decided = await publish_period(session, organisation_id, kind, start, now)
            except SQLAlchemyError:
                log.exception("publishing %s %s for %s failed", kind, start, organisation_id)
                continue
            published += len(decided.published)
    return published


async def run_worker(settings: Settings) -> None:
    """`harbour worker`: run the scheduler until SIGINT or SIGTERM."""
    pool_size = pool_size_for(DeliveryPolicy.from_settings(settings))
    engine = create_engine(settings.database_url, pool_size=pool_size)
    scheduler = Scheduler(settings, create_session_factory(engine))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await scheduler.start()
    collect_less_often()
    freeze_startup_heap()
    log.info("worker %s started", scheduler.holder)
    try:
        await stop.wait()
    finally:
        await scheduler.shutdown()
        await engine.dispose()
