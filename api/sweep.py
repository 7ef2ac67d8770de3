"""One reminder sweep: what each domain finds due, through leave and quiet hours, into the
outbox. `harbour sweep --at` and the scheduler call it; idempotent (the outbox's unique
constraint), and safe to run twice at once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.push import Pusher, PushResult
from models.db import session_scope
from models.deliveries import PushOutcome, claim, plan_deliveries, settle
from models.notifications import Platform, enqueue, organisation_ids, schedule
from supervision.reminders import due_reminders
from wellbeing.nudges import due_nudges
from wellbeing.retention import purge_raw_answers


async def sweep_organisation(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime, *, push: bool = False
) -> list[uuid.UUID]:
    """One organisation's sweep; with `push`, a pending delivery per device of each new one."""
    found = await due_reminders(session, organisation_id, now)
    found += await due_nudges(session, organisation_id, now)
    created = await enqueue(session, await schedule(session, found, now), now)
    if push:
        await plan_deliveries(session, created, now)
    return created


async def sweep(session: AsyncSession, now: datetime, *, push: bool = False) -> int:
    """Run every organisation's reminders as of `now`; returns how many notifications are new."""
    created = 0
    for organisation_id in await organisation_ids(session):
        created += len(await sweep_organisation(session, organisation_id, now, push=push))
    return created


async def retention(session: AsyncSession, now: datetime) -> int:
    """Clear raw check-in answers past each organisation's retention period."""
    cleared = 0
    for organisation_id in await organisation_ids(session):
        cleared += await purge_raw_answers(session, organisation_id, now)
    return cleared


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    pusher: Pusher,
    now: datetime,
    *,
    batch: int = 100,
    max_attempts: int = 5,
    backoff_seconds: int = 60,
) -> int:
    """Send up to `batch` due pushes per organisation; returns how many were attempted.

    One transaction per push: claim a row (SKIP LOCKED), send, settle, commit. A worker
    killed mid-batch loses only its in-flight push's claim (rolled back, sent by the next
    worker); everything it settled is committed, so nothing else is sent twice.
    """
    async with sessions() as session:
        organisations = await organisation_ids(session)
    attempted = 0
    for organisation_id in organisations:
        for _ in range(batch):
            async with session_scope(sessions) as session:
                claimed = await claim(session, organisation_id, now, 1)
                if not claimed:
                    break
                delivery, device, notification = claimed[0]
                sender = pusher.sender_for(Platform(device.platform))
                if sender is None:
                    result = PushResult(PushOutcome.retry, "push not configured for this platform")
                else:
                    result = await sender.send(device.token, notification)
                await settle(
                    session,
                    delivery,
                    device,
                    result.outcome,
                    now,
                    max_attempts=max_attempts,
                    base_seconds=backoff_seconds,
                    error=result.error,
                )
            attempted += 1
    return attempted
