"""The wellbeing direction of a unit, for the supervision report card.

The unit's published mean on the pulse's primary measure for two completed periods, read from
the same stored release as every other wellbeing figure (`models.analytics.published`), so
the report card never shows a figure the wellbeing analytics would not. The caller has
already checked the unit is in the reader's scope.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.analytics.periods import ReleaseKind
from models.analytics.published import WELLBEING, Shown, display_k, node_figures
from models.report_card import ReleasedFigure, WellbeingDirection
from models.wellbeing import audit_analytics
from wellbeing.instruments import latest
from wellbeing.publish import INSTRUMENT


def _shown(figure: Shown) -> ReleasedFigure:
    return ReleasedFigure(
        n=figure.n,
        mean=figure.mean,
        low=figure.low,
        high=figure.high,
        suppressed=figure.suppressed,
        reason=figure.reason,
    )


def direction_of(
    now_f: ReleasedFigure, before_f: ReleasedFigure
) -> Literal["up", "down", "flat"] | None:
    """Up or down only when the two 95% intervals do not overlap; flat when they do."""
    now_low, now_high, then_low, then_high = now_f.low, now_f.high, before_f.low, before_f.high
    if now_low is None or now_high is None or then_low is None or then_high is None:
        return None
    if now_low > then_high:
        return "up"
    if now_high < then_low:
        return "down"
    return "flat"


async def unit_direction(
    session: AsyncSession,
    actor: Actor,
    unit_id: uuid.UUID,
    kind: ReleaseKind,
    current: date,
    previous: date,
    now: datetime,
) -> WellbeingDirection | None:
    """Up, down or flat between two published means; None without the pulse instrument."""
    instrument = latest(INSTRUMENT)
    if instrument is None:
        return None
    k = await display_k(session, actor.organisation_id)
    found = await node_figures(
        session, actor.organisation_id, WELLBEING, kind, str(unit_id), [current, previous], k
    )
    now_f, before_f = _shown(found[current]), _shown(found[previous])
    direction = direction_of(now_f, before_f)
    shown = sum(1 for f in (now_f, before_f) if not f.suppressed)
    params = {"unit_id": unit_id, "period": kind.value, "instrument": instrument.key}
    await audit_analytics(
        session, actor, "report_card_wellbeing", params, now, released=shown, suppressed=2 - shown
    )
    return WellbeingDirection(
        instrument=instrument.key,
        measure=instrument.primary,
        current=now_f,
        previous=before_f,
        direction=direction,
    )
