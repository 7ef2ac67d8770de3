"""Which instruments an organisation can use, and importing licensed wording."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.errors import Invalid
from models.wellbeing import InstrumentText
from wellbeing.instruments import Instrument, current_instruments, latest, version_of
from wellbeing.schemas import (
    BandPublic,
    InstrumentPublic,
    ItemPublic,
    ScalePublic,
    SubscalePublic,
)

MAX_TEXT = 500


async def texts_for(
    session: AsyncSession, organisation_id: uuid.UUID
) -> dict[tuple[str, int], InstrumentText]:
    rows = (
        await session.exec(
            select(InstrumentText).where(col(InstrumentText.organisation_id) == organisation_id)
        )
    ).all()
    return {(r.instrument, r.version): r for r in rows}


def is_available(instrument: Instrument, text: InstrumentText | None) -> bool:
    return instrument.wording_shipped or (
        text is not None and text.content_hash == instrument.content_hash
    )


async def catalogue(
    session: AsyncSession, organisation_id: uuid.UUID
) -> list[tuple[Instrument, InstrumentText | None]]:
    """The newest version of every instrument, with this organisation's wording if imported."""
    texts = await texts_for(session, organisation_id)
    return [(i, texts.get((i.key, i.version))) for i in current_instruments()]


def instrument_public(instrument: Instrument, text: InstrumentText | None) -> InstrumentPublic:
    available = is_available(instrument, text)
    wording = text.items if text is not None and available else {}
    labels = text.scale_labels if text is not None and available else {}
    return InstrumentPublic(
        key=instrument.key,
        version=instrument.version,
        name=instrument.name,
        recall_period=instrument.recall_period,
        licence=instrument.licence,
        content_hash=instrument.content_hash,
        available=available,
        scales={
            key: ScalePublic(
                codes=list(s.codes),
                points=list(s.points),
                labels=list(s.labels) if s.labels else labels.get(key),
            )
            for key, s in instrument.scales.items()
        },
        items=[
            ItemPublic(id=i.id, scale=i.scale, text=i.text or wording.get(i.id))
            for i in instrument.items
        ],
        subscales=[
            SubscalePublic(
                key=s.key,
                method=s.method,
                items=list(s.items),
                reverse=sorted(s.reverse, key=lambda x: (len(x), x)),
                min_answered=s.min_answered,
                range=s.range,
                bands=[BandPublic(label=b.label, lower=b.lower) for b in s.bands],
            )
            for s in instrument.subscales
        ],
        primary=instrument.primary,
        scoring_note=instrument.scoring_note,
    )


async def instruments_public(
    session: AsyncSession, organisation_id: uuid.UUID
) -> list[InstrumentPublic]:
    """Every instrument's newest version as the organisation sees it."""
    return [instrument_public(i, t) for i, t in await catalogue(session, organisation_id)]


async def instrument_for_checkin(
    session: AsyncSession, organisation_id: uuid.UUID, key: str
) -> Instrument:
    instrument = latest(key)
    if instrument is None:
        raise Invalid(f"There is no instrument called {key!r}.")
    texts = await texts_for(session, organisation_id)
    if not is_available(instrument, texts.get((instrument.key, instrument.version))):
        raise Invalid(
            f"{instrument.name} is not available here until your organisation imports its "
            "licensed wording."
        )
    return instrument


def _wording_errors(instrument: Instrument, raw: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    items = raw.get("items")
    if not isinstance(items, dict) or set(items) != set(instrument.item_ids()):
        errors.append(f"`items` must give text for exactly the items {instrument.item_ids()}")
    elif any(not isinstance(t, str) or not t.strip() or len(t) > MAX_TEXT for t in items.values()):
        errors.append(f"every item text must be non-empty text of at most {MAX_TEXT} characters")
    labels = raw.get("scale_labels", {})
    if not isinstance(labels, dict) or not set(labels) <= set(instrument.scales):
        errors.append(f"`scale_labels` may only name the scales {sorted(instrument.scales)}")
    else:
        for name, values in labels.items():
            codes = instrument.scales[name].codes
            if (
                not isinstance(values, list)
                or len(values) != len(codes)
                or any(not isinstance(v, str) or len(v) > 100 for v in values)
            ):
                errors.append(f"`scale_labels.{name}` must be {len(codes)} short texts")
    return errors


async def import_wording(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    raw: dict[str, Any],
    attestation: str,
    now: datetime,
) -> InstrumentText:
    """Store an organisation's licensed wording for one instrument version (replacing any)."""
    if len(attestation.strip()) < 10 or len(attestation) > 1000:
        raise Invalid("The attestation must say who holds the licence (10 to 1000 characters).")
    key, version = raw.get("instrument"), raw.get("version")
    if not isinstance(key, str) or not isinstance(version, int):
        raise Invalid("The file must name `instrument` (text) and `version` (a number).")
    instrument = version_of(key, version)
    if instrument is None:
        raise Invalid(f"Harbour has no scoring key for {key} version {version}.")
    if "content_hash" in raw and raw["content_hash"] != instrument.content_hash:
        raise Invalid("The file was prepared for a different scoring key (content_hash differs).")
    errors = _wording_errors(instrument, raw)
    if errors:
        raise Invalid(
            "The wording file does not fit the instrument.",
            errors=[{"loc": ["file"], "msg": e, "type": "value_error"} for e in errors],
        )
    texts = await texts_for(session, organisation_id)
    row = texts.get((key, version)) or InstrumentText(
        organisation_id=organisation_id,
        instrument=key,
        version=version,
        content_hash=instrument.content_hash,
        attestation=attestation,
        imported_at=now,
    )
    row.content_hash = instrument.content_hash
    row.items = dict(raw["items"])
    row.scale_labels = dict(raw.get("scale_labels", {}))
    row.attestation = attestation.strip()
    row.imported_at = now
    session.add(row)
    await session.flush()
    return row
