"""The instrument registry: instrument definitions are data files shipped in this package.

A definition holds the scoring key (items, answer scales, subscales, reverse keys, bands,
recall period, licence metadata and version). Licensed instruments ship without wording:
their item text is imported per organisation (`harbour instruments import`). The content
hash covers the scoring key only, so importing wording never changes it, and any change to
scoring must come as a new version (a new file), leaving old check-ins scored as they were.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Scale:
    key: str
    codes: tuple[int, ...]
    points: tuple[float, ...]
    labels: tuple[str, ...] | None

    def points_for(self, code: int) -> float:
        return self.points[self.codes.index(code)]

    @property
    def low(self) -> float:
        return min(self.points)

    @property
    def high(self) -> float:
        return max(self.points)


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    scale: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Band:
    label: str
    lower: float  # inclusive lower bound; a band runs up to the next band's lower bound


@dataclass(frozen=True, slots=True)
class Subscale:
    key: str
    method: str  # "sum" or "mean"
    items: tuple[str, ...]
    reverse: frozenset[str]
    min_answered: int
    range: tuple[float, float]
    bands: tuple[Band, ...]


@dataclass(frozen=True, slots=True)
class Instrument:
    key: str
    version: int
    name: str
    recall_period: str
    licence: dict[str, Any]
    scales: dict[str, Scale]
    items: tuple[Item, ...]
    subscales: tuple[Subscale, ...]
    primary: str
    content_hash: str
    scoring_note: str | None = None

    @property
    def wording_shipped(self) -> bool:
        return bool(self.licence.get("wording_shipped"))

    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    def subscale(self, key: str) -> Subscale | None:
        return next((s for s in self.subscales if s.key == key), None)


def content_hash(raw: dict[str, Any]) -> str:
    """SHA-256 of the scoring key: the definition without any wording or labels."""
    key = {
        "key": raw["key"],
        "version": raw["version"],
        "scales": {
            name: {"codes": s["codes"], "points": s["points"]} for name, s in raw["scales"].items()
        },
        "items": [{"id": i["id"], "scale": i["scale"]} for i in raw["items"]],
        "subscales": raw["subscales"],
        "primary": raw["primary"],
    }
    canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse(raw: dict[str, Any]) -> Instrument:
    """Build an `Instrument` from a definition, checking that it is internally consistent."""
    scales = {
        name: Scale(
            key=name,
            codes=tuple(s["codes"]),
            points=tuple(float(p) for p in s["points"]),
            labels=tuple(s["labels"]) if s.get("labels") else None,
        )
        for name, s in raw["scales"].items()
    }
    items = tuple(Item(id=i["id"], scale=i["scale"], text=i.get("text")) for i in raw["items"])
    ids = {item.id for item in items}
    subscales = tuple(
        Subscale(
            key=s["key"],
            method=s["method"],
            items=tuple(s["items"]),
            reverse=frozenset(s["reverse"]),
            min_answered=int(s.get("min_answered", len(s["items"]))),
            range=(float(s["range"][0]), float(s["range"][1])),
            bands=tuple(Band(label=b["label"], lower=float(b["from"])) for b in s["bands"]),
        )
        for s in raw["subscales"]
    )
    for item in items:
        if item.scale not in scales:
            raise ValueError(f"{raw['key']}: item {item.id} names unknown scale {item.scale}")
    for sub in subscales:
        if not set(sub.items) <= ids or not sub.reverse <= set(sub.items):
            raise ValueError(f"{raw['key']}: subscale {sub.key} names unknown items")
        if sub.method not in ("sum", "mean"):
            raise ValueError(f"{raw['key']}: subscale {sub.key} has unknown method")
    if raw["primary"] not in {s.key for s in subscales}:
        raise ValueError(f"{raw['key']}: primary subscale is not defined")
    return Instrument(
        key=raw["key"],
        version=int(raw["version"]),
        name=raw["name"],
        recall_period=raw["recall_period"],
        licence=dict(raw["licence"]),
        scales=scales,
        items=items,
        subscales=subscales,
        primary=raw["primary"],
        content_hash=content_hash(raw),
        scoring_note=raw.get("scoring_note"),
    )


@cache
def registry() -> dict[tuple[str, int], Instrument]:
    """Every shipped instrument version, by (key, version)."""
    found: dict[tuple[str, int], Instrument] = {}
    for entry in resources.files("wellbeing").joinpath("definitions").iterdir():
        if entry.name.endswith(".json"):
            instrument = parse(json.loads(entry.read_text(encoding="utf-8")))
            found[(instrument.key, instrument.version)] = instrument
    return found


def latest(key: str) -> Instrument | None:
    """The newest version of `key`, which new check-ins use."""
    versions = [i for (k, _), i in registry().items() if k == key]
    return max(versions, key=lambda i: i.version) if versions else None


def version_of(key: str, version: int) -> Instrument | None:
    return registry().get((key, version))


def current_instruments() -> list[Instrument]:
    keys = sorted({k for k, _ in registry()})
    return [i for k in keys if (i := latest(k)) is not None]
