"""The wellbeing direction of a unit, for the supervision report card.

The unit's mean on the pulse's primary measure for two completed periods, read from the same
canonical k-rule release as every other wellbeing aggregate (`cached_release`), so the report
card never shows a figure the wellbeing analytics would not, and cannot be differenced
against them. The caller has already checked the unit is in the reader's scope.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.disclosure import Figure, PeriodKind, total
from models.report_card import ReleasedFigure, WellbeingDirection
from models.wellbeing import audit_analytics
from wellbeing.instruments import latest
from wellbeing.release import cached_release, observations
from wellbeing.settings import settings_for

INSTRUMENT = "pulse"


def _shown(figure: Figure) -> ReleasedFigure:
    mean = round(figure.mean, 2) if figure.mean is not None else None
    return ReleasedFigure(n=figure.n, mean=mean, suppressed=figure.suppressed)


async def unit_direction(
    session: AsyncSession,
    actor: Actor,
    unit_id: uuid.UUID,
    kind: PeriodKind,
    current: date,
    previous: date,
    now: datetime,
) -> WellbeingDirection | None:
    """Up, down or flat between two released means; None without the pulse instrument."""
    instrument = latest(INSTRUMENT)
    if instrument is None:
        return None
    measure = instrument.primary
    k = (await settings_for(session, actor.organisation_id)).k_threshold
    result = cached_release(
        await observations(session, actor.organisation_id, instrument.key, measure),
        k,
        now.date(),
    )
    scope = str(unit_id)
    now_f = _shown(result.figure(total(kind, current, scope)))
    before_f = _shown(result.figure(total(kind, previous, scope)))
    direction = None
    if now_f.mean is not None and before_f.mean is not None:
        diff = now_f.mean - before_f.mean
        direction = "up" if diff > 0 else "down" if diff < 0 else "flat"
    shown = sum(1 for f in (now_f, before_f) if not f.suppressed)
    params = {"unit_id": unit_id, "period": kind.value, "instrument": instrument.key}
    await audit_analytics(
        session, actor, "report_card_wellbeing", params, now, released=shown, suppressed=2 - shown
    )
    return WellbeingDirection(
        instrument=instrument.key,
        measure=measure,
        current=now_f,
        previous=before_f,
        direction=direction,
    )
