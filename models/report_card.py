"""Report-card response schemas: counts, rates and k-rule figures only; no text, no people.

In `models` because two domains fill them: supervision (how much, how well, feedback) and
wellbeing (the unit's wellbeing direction)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel


class CountPair(BaseModel):
    current: int
    previous: int


class RatePair(BaseModel):
    current: float | None  # null when there was nothing to measure
    previous: float | None


class ReleasedFigure(BaseModel):
    """A published differentially private figure: noisy count of people, mean and its 95%
    interval; all null when suppressed, with `reason` in plain words."""

    n: int | None  # null when suppressed
    mean: float | None
    low: float | None = None
    high: float | None = None
    suppressed: bool
    reason: str | None = None


class ReleasedPair(BaseModel):
    current: ReleasedFigure
    previous: ReleasedFigure


class HowMuch(BaseModel):
    sessions_held: CountPair
    people_supervised: CountPair
    cancellations: CountPair
    cancelled_by_supervisor: CountPair
    cancelled_by_supervisee: CountPair
    cancelled_by_manager: CountPair  # anyone other than the two people in the supervision


class HowWell(BaseModel):
    staff_count: CountPair  # people in post at the period's end
    within_cadence_rate: RatePair
    written_on_time_rate: RatePair
    signed_on_time_rate: RatePair
    at_least_minimum_rate: RatePair


class PracticeCounts(BaseModel):
    """Agreements and group supervision (issue 16): group sessions counted apart from the
    one-to-ones of `how_much`; agreements among the people in post at the period's end."""

    group_sessions_held: CountPair  # each group session once, if someone here attended
    group_people_reached: CountPair  # people here who attended at least one
    agreements_in_place: CountPair  # a signed agreement in force on the period's last day
    agreement_reviews_overdue: CountPair  # of those, past their review date that day


class BetterOff(BaseModel):
    helpful: ReleasedPair
    felt_safe: ReleasedPair


class WellbeingDirection(BaseModel):
    """The unit's mean on the pulse's primary measure, this period beside the last, from the
    same published release as the wellbeing aggregates; `direction` only when both are
    shown: up or down when the two 95% intervals do not overlap, flat when they do (no
    clear change)."""

    instrument: str
    measure: str
    current: ReleasedFigure
    previous: ReleasedFigure
    direction: Literal["up", "down", "flat"] | None


class ReportCard(BaseModel):
    unit_id: uuid.UUID
    period: str
    current_period_start: date
    current_period_end: date
    previous_period_start: date
    previous_period_end: date
    k: int
    how_much: HowMuch
    how_well: HowWell
    better_off: BetterOff
    wellbeing: WellbeingDirection | None = None  # filled by wellbeing (see the route)
    practice: PracticeCounts
