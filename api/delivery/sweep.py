"""One reminder sweep: what each domain finds due, through leave and quiet hours, into the
outbox. `harbour sweep --at` and the scheduler call it; idempotent (the outbox's unique
constraint), and safe to run twice at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.lapsed import purge_lapsed_sign_ins
from models.notifications.deliveries import plan_deliveries, purge_settled
from models.notifications.outbox import enqueue, organisation_ids, schedule
from models.notifications.preferences import organisation_preferences
from supervision.reminders import due_reminders
from wellbeing.incidents import due_incident_nudges
from wellbeing.nudges import due_nudges
from wellbeing.retention import purge_raw_answers
from wellbeing.talk import due_talk_notifications, note_notified


async def sweep_organisation(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime, *, push: bool = False
) -> list[uuid.UUID]:
    """One organisation's sweep: new notifications, and their deliveries (a push to each
    device when `push` is configured; the organisation's webhook if it has one)."""
    # Everyone's preferences read once, for the nudges, quiet hours and push alike.
    preferences = await organisation_preferences(session, organisation_id)
    found = await due_reminders(session, organisation_id, now)
    found += await due_nudges(session, organisation_id, now, preferences=preferences)
    found += await due_talk_notifications(session, organisation_id, now)
    found += await due_incident_nudges(session, organisation_id, now)
    due = await schedule(session, found, now, preferences=preferences)
    created = await enqueue(session, due, now)
    await note_notified(session, created, now)
    await plan_deliveries(session, created, now, push=push, preferences=preferences)
    return created


async def sweep(session: AsyncSession, now: datetime, *, push: bool = False) -> int:
    """Run every organisation's reminders as of `now`; returns how many notifications are new."""
    created = 0
    for organisation_id in await organisation_ids(session):
        created += len(await sweep_organisation(session, organisation_id, now, push=push))
    return created


@dataclass(frozen=True)
class Purged:
    """What one retention sweep removed."""

    answers: int  # check-ins whose raw answers were cleared
    deliveries: int  # settled delivery records deleted
    sign_ins: int  # lapsed sessions, SSO sign-ins, password links and refresh tokens deleted


async def retention(
    session: AsyncSession,
    now: datetime,
    *,
    deliveries_kept: timedelta,
    web_idle: timedelta,
) -> Purged:
    """Clear raw check-in answers past each organisation's retention period, delete settled
    delivery records older than `deliveries_kept`, and sign-in rows that have lapsed (a
    browser session idle for `web_idle` has)."""
    answers = deliveries = sign_ins = 0
    for organisation_id in await organisation_ids(session):
        answers += await purge_raw_answers(session, organisation_id, now)
        deliveries += await purge_settled(session, organisation_id, now - deliveries_kept)
        sign_ins += await purge_lapsed_sign_ins(session, organisation_id, now, web_idle=web_idle)
    return Purged(answers, deliveries, sign_ins)
