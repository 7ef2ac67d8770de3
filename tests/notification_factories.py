"""Factories for notification tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.notifications import Due, NotificationKind, enqueue
from models.staff import Staff


async def make_notification(
    db: AsyncSession,
    recipient: Staff,
    *,
    now: datetime,
    kind: NotificationKind = NotificationKind.action_due,
    subject_id: uuid.UUID | None = None,
    occurrence: str = "2026-11-23",
    deliver_after: datetime | None = None,
) -> uuid.UUID:
    due = Due(
        organisation_id=recipient.organisation_id,
        recipient_id=recipient.id,
        kind=kind,
        subject_id=subject_id or uuid.uuid4(),
        occurrence=occurrence,
        deliver_after=deliver_after or now,
    )
    (created,) = await enqueue(db, [due], now)
    return created
