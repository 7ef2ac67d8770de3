"""A practitioner's own trend: their mean scores by week or month."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.analytics.periods import PeriodKind, period_start
from models.errors import Invalid
from models.wellbeing import CheckIn
from wellbeing.instruments import latest
from wellbeing.schemas import TrendPoint, TrendPublic


async def my_trend(
    session: AsyncSession, actor: Actor, instrument: str, kind: PeriodKind
) -> TrendPublic:
    """Per period with a check-in: its start, the number of check-ins and the mean score per
    subscale (periods in UTC)."""
    if latest(instrument) is None:
        raise Invalid(f"There is no instrument called {instrument!r}.")
    rows = (
        await session.exec(
            select(CheckIn)
            .where(
                col(CheckIn.organisation_id) == actor.organisation_id,
                col(CheckIn.staff_id) == actor.id,
                col(CheckIn.instrument) == instrument,
            )
            .order_by(col(CheckIn.taken_at))
        )
    ).all()
    grouped: dict[date, list[CheckIn]] = defaultdict(list)
    for row in rows:
        grouped[period_start(kind, row.taken_at.date())].append(row)
    points: list[TrendPoint] = []
    for start in sorted(grouped):
        checkins = grouped[start]
        sums: dict[str, list[float]] = defaultdict(list)
        for checkin in checkins:
            for key, value in checkin.scores.items():
                sums[key].append(float(value))
        means = {key: round(sum(v) / len(v), 2) for key, v in sums.items()}
        points.append(TrendPoint(period_start=start, checkins=len(checkins), scores=means))
    return TrendPublic(instrument=instrument, period=kind.value, points=points)
