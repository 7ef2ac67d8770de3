"""Scoring: answers to subscale scores and bands. Pure functions over an `Instrument`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wellbeing.instruments import Instrument, Subscale


class ScoringError(ValueError):
    """The answers do not fit the instrument; `errors` says which item and why."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['item']}: {e['msg']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Scored:
    scores: dict[str, float]
    bands: dict[str, str]
    band: str | None  # the band of the instrument's primary subscale


def item_points(instrument: Instrument, subscale: Subscale, item_id: str, code: int) -> float:
    """Points for one answer inside one subscale, reverse-keyed where the key says so."""
    item = next(i for i in instrument.items if i.id == item_id)
    scale = instrument.scales[item.scale]
    points = scale.points_for(code)
    if item_id in subscale.reverse:
        return scale.low + scale.high - points
    return points


def band_for(subscale: Subscale, score: float) -> str | None:
    label: str | None = None
    for band in subscale.bands:
        if score >= band.lower:
            label = band.label
    return label


def validate(instrument: Instrument, answers: Mapping[str, int]) -> None:
    errors: list[dict[str, str]] = []
    known = {i.id: i for i in instrument.items}
    for item_id, code in answers.items():
        item = known.get(item_id)
        if item is None:
            errors.append({"item": item_id, "msg": "not an item of this instrument"})
        elif isinstance(code, bool) or code not in instrument.scales[item.scale].codes:
            codes = instrument.scales[item.scale].codes
            errors.append({"item": item_id, "msg": f"answer must be one of {list(codes)}"})
    for sub in instrument.subscales:
        answered = sum(1 for i in sub.items if i in answers)
        if answered < sub.min_answered:
            errors.append(
                {"item": sub.key, "msg": f"needs at least {sub.min_answered} of its items answered"}
            )
    if errors:
        raise ScoringError(errors)


def score(instrument: Instrument, answers: Mapping[str, int]) -> Scored:
    """Score `answers` (item id to answer code); raise `ScoringError` if they do not fit."""
    validate(instrument, answers)
    scores: dict[str, float] = {}
    bands: dict[str, str] = {}
    for sub in instrument.subscales:
        points = [item_points(instrument, sub, i, answers[i]) for i in sub.items if i in answers]
        total = sum(points) if sub.method == "sum" else sum(points) / len(points)
        scores[sub.key] = round(total, 2)
        label = band_for(sub, scores[sub.key])
        if label is not None:
            bands[sub.key] = label
    return Scored(scores=scores, bands=bands, band=bands.get(instrument.primary))
