"""Support graded by the band of a check-in: what its owner is told, per instrument band.

Harbour ships a default for every band of every instrument's primary measure; an admin may
rewrite any of them for the organisation (`PUT /wellbeing/support-texts/{instrument}/{band}`,
If-Match). A check-in's answer carries the text for its band (`support`), so a "struggling"
result is answered differently from "doing well". The employee assistance contact and
Samaritans are always in `signposting` besides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.db import dialect_name, per_database
from models.errors import NotFound, PreconditionFailed
from models.etag import Tagged, etag_for, require_match
from models.schemas import Page
from models.wellbeing import SupportText
from wellbeing.instruments import current_instruments, latest
from wellbeing.schemas import SupportTextPublic, SupportTextUpdate

# An organisation's text for a band that never changed reads as version 1.
DEFAULT_VERSION = 1

_REACH_OUT = (
    "It sounds like things are hard right now. You do not have to carry this alone: talk to "
    "your supervisor or someone you trust at work, contact your employee assistance "
    "service, or call Samaritans free on 116 123, any time."
)
_CHECK_IN = (
    "Getting by is not the same as fine. Keep an eye on how the work sits with you, and "
    "bring it to supervision if it starts to build up."
)
_KEEP_GOING = "Good to hear. Notice what is helping you stay well, and keep doing it."

DEFAULT_TEXTS: dict[tuple[str, str], str] = {
    ("pulse", "struggling"): _REACH_OUT,
    ("pulse", "getting_by"): _CHECK_IN,
    ("pulse", "doing_well"): _KEEP_GOING,
    ("stss", "little_or_none"): _KEEP_GOING,
    ("stss", "mild"): _CHECK_IN,
    ("stss", "moderate"): (
        "What you have been exposed to is showing. Talk it through in supervision soon, and "
        "consider your employee assistance service."
    ),
    ("stss", "high"): _REACH_OUT,
    ("stss", "severe"): _REACH_OUT,
    ("proqol5", "low"): _KEEP_GOING,
    ("proqol5", "moderate"): _CHECK_IN,
    ("proqol5", "high"): _REACH_OUT,
    ("cbi", "low"): _KEEP_GOING,
    ("cbi", "moderate"): _CHECK_IN,
    ("cbi", "high"): _REACH_OUT,
    ("cbi", "severe"): _REACH_OUT,
}
_FALLBACK = _CHECK_IN


def primary_bands(instrument_key: str) -> list[str]:
    """The band labels of an instrument's primary measure (its check-ins' `band`)."""
    instrument = latest(instrument_key)
    if instrument is None:
        return []
    primary = instrument.subscale(instrument.primary)
    return [b.label for b in primary.bands] if primary is not None else []


def _public(instrument: str, band: str, row: SupportText | None) -> SupportTextPublic:
    if row is None:
        return SupportTextPublic(
            instrument=instrument,
            band=band,
            text=DEFAULT_TEXTS.get((instrument, band), _FALLBACK),
            default=True,
            version=DEFAULT_VERSION,
        )
    return SupportTextPublic(
        instrument=instrument, band=band, text=row.text, default=False, version=row.version
    )


async def _rows(session: AsyncSession, actor: Actor) -> dict[tuple[str, str], SupportText]:
    rows = await session.exec(
        select(SupportText).where(col(SupportText.organisation_id) == actor.organisation_id)
    )
    return {(r.instrument, r.band): r for r in rows.all()}


async def support_texts(session: AsyncSession, actor: Actor) -> Page[SupportTextPublic]:
    """Every band of every instrument with the text its owner is told (one page)."""
    rows = await _rows(session, actor)
    return Page(
        data=[
            _public(i.key, band, rows.get((i.key, band)))
            for i in current_instruments()
            for band in primary_bands(i.key)
        ],
        next_cursor=None,
    )


def _check_band(instrument: str, band: str) -> None:
    if band not in primary_bands(instrument):
        raise NotFound(f"{instrument!r} has no band {band!r}.")


async def support_text(
    session: AsyncSession, actor: Actor, instrument: str, band: str
) -> Tagged[SupportTextPublic]:
    _check_band(instrument, band)
    view = _public(instrument, band, (await _rows(session, actor)).get((instrument, band)))
    return Tagged(view, etag_for(view.version))


async def update_support_text(
    session: AsyncSession,
    actor: Actor,
    instrument: str,
    band: str,
    data: SupportTextUpdate,
    if_match: str | None,
    now: datetime,
) -> Tagged[SupportTextPublic]:
    """Rewrite the text for one band (admins; If-Match with the ETag last read)."""
    _check_band(instrument, band)
    stmt = select(SupportText).where(
        col(SupportText.organisation_id) == actor.organisation_id,
        col(SupportText.instrument) == instrument,
        col(SupportText.band) == band,
    )
    row = (await session.exec(stmt.with_for_update())).first()
    require_match(if_match, DEFAULT_VERSION if row is None else row.version)
    if row is None:
        row = SupportText(
            organisation_id=actor.organisation_id,
            instrument=instrument,
            band=band,
            text=data.text,
            version=DEFAULT_VERSION + 1,
            updated_at=now,
        )
    else:
        row.text = data.text
        row.version += 1
        row.updated_at = now
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent first change of this band won
        raise PreconditionFailed("The text changed since you read it; read it again.") from exc
    view = _public(instrument, band, row)
    return Tagged(view, etag_for(view.version))


# The organisation's texts for a page's bands (built once: every check-in reads it).
_TEXTS = per_database(
    lambda in_list: sa.select(
        col(SupportText.instrument), col(SupportText.band), col(SupportText.text)
    ).where(
        col(SupportText.organisation_id) == sa.bindparam("org"),
        in_list(col(SupportText.band), "bands"),
    )
)


async def support_texts_for(
    session: AsyncSession, actor: Actor, pairs: Iterable[tuple[str, str | None]]
) -> dict[tuple[str, str | None], str | None]:
    """The text a check-in's owner is told for its band (None without a band), for each
    (instrument, band) at once: one statement for all the bands of a page of check-ins."""
    wanted = set(pairs)
    out: dict[tuple[str, str | None], str | None] = {p: None for p in wanted if p[1] is None}
    banded = {(i, b) for i, b in wanted if b is not None}
    if not banded:
        return out
    params = {"org": actor.organisation_id, "bands": sorted({b for _, b in banded})}
    connection = await session.connection()
    rows = await connection.execute(_TEXTS[dialect_name(session)], params)
    stored = {(i, b): t for i, b, t in rows.all()}
    for instrument, band in banded:
        out[(instrument, band)] = text_or_default(instrument, band, stored.get((instrument, band)))
    return out


def text_or_default(instrument: str, band: str | None, stored: str | None) -> str | None:
    """What the owner of a check-in in `band` is told: the organisation's `stored` text, or
    the shipped default (None without a band)."""
    if band is None:
        return None
    if stored is not None:
        return stored
    return DEFAULT_TEXTS.get((instrument, band), _FALLBACK)
