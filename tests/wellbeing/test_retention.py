"""Raw check-in answers go after the retention period; scores, trends and aggregates stay."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import retention
from models.wellbeing import CheckIn, WellbeingSettings
from tests.conftest import FrozenClock
from tests.factories.directory import make_org, make_staff
from tests.factories.wellbeing import make_checkin

KEPT = timedelta(days=90)
IDLE = timedelta(minutes=60)


async def test_answers_older_than_retention_are_cleared_scores_stay(
    db: AsyncSession, clock: FrozenClock
) -> None:
    now = clock()
    org = await make_org(db, now=now)
    strict = await make_org(db, now=now)
    db.add(WellbeingSettings(organisation_id=strict.id, answers_retention_days=30, updated_at=now))
    me = await make_staff(db, org, now=now)
    them = await make_staff(db, strict, now=now)
    old = await make_checkin(db, me, at=now - timedelta(days=366), wellbeing=20)
    kept = await make_checkin(db, me, at=now - timedelta(days=364), wellbeing=10)
    theirs = await make_checkin(db, them, at=now - timedelta(days=31), wellbeing=12)
    scores = {c.id: dict(c.scores) for c in (old, kept, theirs)}

    assert (await retention(db, now, deliveries_kept=KEPT, web_idle=IDLE)).answers == 2
    again = await retention(db, now, deliveries_kept=KEPT, web_idle=IDLE)
    assert again.answers == 0  # nothing left
    rows = {
        c.id: c
        for c in (
            await db.exec(
                select(CheckIn)
                .where(col(CheckIn.id).in_([old.id, kept.id, theirs.id]))
                .execution_options(populate_existing=True)
            )
        ).all()
    }
    assert rows[old.id].answers == {}
    assert rows[theirs.id].answers == {}
    assert rows[kept.id].answers != {}
    assert {i: dict(r.scores) for i, r in rows.items()} == scores
    assert rows[old.id].band is not None
