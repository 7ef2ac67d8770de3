"""Retention: raw check-in answers go after the organisation's retention period.

Only `answers` is cleared. Scores, bands and the group snapshots stay, so personal trends
and every anonymised aggregate (computed from scores) are unchanged; so does the request
hash, so a replayed check-in still answers as before.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.wellbeing import CheckIn
from wellbeing.settings import settings_for


async def purge_raw_answers(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime
) -> int:
    """Clear the answers of check-ins older than the retention period; returns how many."""
    settings = await settings_for(session, organisation_id)
    cutoff = now - timedelta(days=settings.answers_retention_days)
    stmt = (
        sa.update(CheckIn)
        .where(
            col(CheckIn.organisation_id) == organisation_id,
            col(CheckIn.taken_at) < cutoff,
            sa.cast(col(CheckIn.answers), sa.String) != "{}",
        )
        .values(answers={})
    )
    result = await session.exec(stmt)
    return int(result.rowcount)
