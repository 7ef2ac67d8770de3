"""Check-ins on the phone's sync feed: the owner's own, and those shared with a supervisor
while the share is live (an expired or revoked share becomes a tombstone)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.changes import Shown, text_ids, tombstone_unreadable
from models.db import InList, dialect_name, named_rows, per_database
from models.scope import BOUND_CALLER
from models.wellbeing import (
    CHECKINS_TABLE,
    CheckIn,
    CheckInShare,
    ShareRow,
    ShareTerms,
    SupportText,
    WellbeingSettings,
)
from wellbeing.checkin_views import owner_fields, shared_public
from wellbeing.checkins import RESOURCE, shared_with, signposts
from wellbeing.support import text_or_default

# The typed sync change of an owner's check-in (api/routes/sync.py's SyncCheckIn).
CHANGE_TYPE = "wellbeing_checkin"


def _readable_ids(actor: Actor, now: datetime) -> sa.Select[Any]:
    """Ids of the caller's own check-ins and of those shared with them right now."""
    shared = shared_with(actor, now).with_only_columns(col(CheckInShare.checkin_id))
    return select(col(CheckIn.id)).where(
        col(CheckIn.organisation_id) == actor.organisation_id,
        sa.or_(col(CheckIn.staff_id) == actor.id, col(CheckIn.id).in_(shared)),
    )


# The caller and the clock as late-bound parameters, so the page's statement (and its
# permission clauses, `_readable_ids`) is built once, not on every read. Each check-in's
# share (at most one) comes with it: the terms the views need, joined in the same
# organisation.
_SHARES: sa.Table = CheckInShare.__table__  # type: ignore[attr-defined]


# The columns the views show (not the analytics' unit path, role group and tenure band, nor
# the request's hash): a JSON column fewer to decode for each check-in on a page.
_VIEW_COLUMNS = [
    CHECKINS_TABLE.c[name]
    for name in (
        "id",
        "organisation_id",
        "staff_id",
        "instrument",
        "instrument_version",
        "content_hash",
        "answers",
        "scores",
        "bands",
        "band",
        "wants_to_talk",
        "taken_at",
        "incident_id",
    )
]


_TEXTS: sa.Table = SupportText.__table__  # type: ignore[attr-defined]
_SETTINGS: sa.Table = WellbeingSettings.__table__  # type: ignore[attr-defined]


def _page(in_list: InList) -> sa.Select[Any]:
    # The owner's view also needs the organisation's text for the check-in's band (at most
    # one: unique by organisation, instrument and band) and its employee assistance contact
    # (at most one settings row an organisation): joined here, a statement fewer a page.
    return (
        sa.select(
            *_VIEW_COLUMNS,
            _SHARES.c.supervisor_id.label("share_supervisor_id"),
            _SHARES.c.expires_at.label("share_expires_at"),
            _SHARES.c.revoked_at.label("share_revoked_at"),
            _TEXTS.c.text.label("support_text"),
            _SETTINGS.c.employee_assistance.label("employee_assistance"),
        )
        .select_from(
            CHECKINS_TABLE.outerjoin(
                _SHARES,
                sa.and_(
                    _SHARES.c.organisation_id == CHECKINS_TABLE.c.organisation_id,
                    _SHARES.c.checkin_id == CHECKINS_TABLE.c.id,
                ),
            )
            .outerjoin(
                _TEXTS,
                sa.and_(
                    _TEXTS.c.organisation_id == sa.bindparam("org"),
                    _TEXTS.c.instrument == CHECKINS_TABLE.c.instrument,
                    _TEXTS.c.band == CHECKINS_TABLE.c.band,
                ),
            )
            .outerjoin(_SETTINGS, _SETTINGS.c.organisation_id == sa.bindparam("org"))
        )
        .where(
            in_list(col(CheckIn.id), "ids"),
            col(CheckIn.id).in_(_readable_ids(BOUND_CALLER, cast(datetime, sa.bindparam("now")))),
        )
    )


_PAGE = per_database(_page)


async def render_checkins_for_sync(
    session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
) -> Mapping[uuid.UUID, BaseModel | Shown]:
    """The owner's view of their own check-ins; the shared view (logged) for a supervisor.

    Read as plain columns with their shares and the organisation's texts and contact, in
    one statement (nothing here is changed: no ORM objects, no identity map; named tuples,
    not `Row`s: `named_rows`), and the
    owner's views go to the feed as their fields (`Shown`), serialised once with the
    page."""
    params = {"ids": list(ids), "org": actor.organisation_id, "me": actor.id, "now": now}
    connection = await session.connection()
    found = named_rows(await connection.execute(_PAGE[dialect_name(session)], params))
    shares: dict[uuid.UUID, ShareRow] = {
        c.id: ShareTerms(c.share_supervisor_id, c.share_expires_at, c.share_revoked_at)
        for c in found
        if c.share_expires_at is not None
    }
    mine = [c for c in found if c.staff_id == actor.id]
    rendered: dict[uuid.UUID, BaseModel | Shown] = {}
    if mine:
        contact = mine[0].employee_assistance
        texts = {
            (c.instrument, c.band): text_or_default(c.instrument, c.band, c.support_text)
            for c in mine
        }
        signs = signposts(contact)
        views = await owner_fields(
            session, actor, mine, now, shares=shares, signs=signs, texts=texts
        )
        # The signposting as the fields its `Signpost`s write, one list for the page: a
        # model in a dict is serialised through its own serialiser, twice a check-in.
        shown_signs = [{"name": name, "contact": reach} for name, reach in signs]
        for checkin, fields in zip(mine, views, strict=True):
            fields["signposting"] = shown_signs
            rendered[checkin.id] = Shown(CHANGE_TYPE, text_ids(fields, "id", "incident_id"))
    for checkin in found:
        share = shares.get(checkin.id)
        if checkin.staff_id != actor.id and share is not None:
            await record_access(
                session,
                actor,
                checkin.staff_id,
                RESOURCE,
                checkin.id,
                AccessReason.shared_with_me,
                now,
            )
            rendered[checkin.id] = shared_public(checkin, share)
    return rendered


async def revoke_lost_checkins(session: AsyncSession, actor: Actor, now: datetime) -> bool:
    """Tombstones for check-ins a supervisor synced whose share has since expired or ended."""
    return await tombstone_unreadable(session, actor, RESOURCE, _readable_ids(actor, now), now)
