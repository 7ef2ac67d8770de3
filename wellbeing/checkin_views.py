"""Check-ins as each reader sees them: the owner (answers, scores, the share's state and
signposting) and the supervisor a check-in is shared with. Every wellbeing route that shows
check-ins makes one call here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.etag import Tagged, content_etag
from models.schemas import Page
from models.wellbeing import CheckIn, CheckInRow, ShareRow, TalkTo
from wellbeing.checkins import (
    get_checkin,
    list_my_checkins,
    list_shared_with_me,
    own_checkins,
    record,
    share_active,
    share_checkin,
    shares_for,
    signposting,
)
from wellbeing.schemas import (
    CheckInCreate,
    CheckInPublic,
    MyTalkRequestPublic,
    ShareCreate,
    SharedCheckInPublic,
    Signpost,
    TalkOption,
)
from wellbeing.support import support_texts_for
from wellbeing.talk_views import checkin_talk_options, checkin_talk_request


async def owner_views(
    session: AsyncSession,
    actor: Actor,
    rows: Sequence[CheckIn],
    now: datetime,
    *,
    shares: Mapping[uuid.UUID, ShareRow] | None = None,
    signs: Sequence[tuple[str, str]] | None = None,
    texts: Mapping[tuple[str, str | None], str | None] | None = None,
) -> list[CheckInPublic]:
    """The owner's view of their check-ins: share state, signposting, the support text for
    each band, and for those that say "I'd like to talk" who was told and who else could be.
    `shares`, `signs` (signposting) and `texts` (support texts by (instrument, band)), when
    the caller has read them already, are not read again."""
    fields = await owner_fields(session, actor, rows, now, shares=shares, signs=signs, texts=texts)
    return [CheckInPublic(**f) for f in fields]


async def owner_fields(
    session: AsyncSession,
    actor: Actor,
    rows: Sequence[CheckInRow],
    now: datetime,
    *,
    shares: Mapping[uuid.UUID, ShareRow] | None = None,
    signs: Sequence[tuple[str, str]] | None = None,
    texts: Mapping[tuple[str, str | None], str | None] | None = None,
) -> list[dict[str, Any]]:
    """`owner_views` as the view's fields, ready to serialise (the sync feed writes them
    straight to its answer; `CheckInPublic(**fields)` is the same view). `rows` may be ORM
    check-ins or column rows of the check-in table."""
    if not rows:
        return []
    if shares is None:
        shares = await shares_for(session, rows)
    signposts = [
        Signpost(name=n, contact=c)
        for n, c in (signs if signs is not None else await signposting(session, actor))
    ]
    talk = await checkin_talk_request(session, actor, rows, now)
    options = await checkin_talk_options(session, actor, rows, now)
    pairs = {(c.instrument, c.band) for c in rows}
    if texts is None or not pairs <= texts.keys():
        texts = await support_texts_for(session, actor, pairs)
    return [
        checkin_fields(
            c,
            shares.get(c.id),
            share_active(shares.get(c.id), now, actor.supervisor_id),
            signposts,
            support=texts[(c.instrument, c.band)],
            talk=talk.get(c.id),
            options=options if c.wants_to_talk else [],
        )
        for c in rows
    ]


async def record_checkin(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    staff_id: uuid.UUID,
    data: CheckInCreate,
    now: datetime,
) -> tuple[CheckInPublic, bool] | None:
    """Create a check-in for the person a valid token names (offline-create protocol) and
    show it to them; None, with nothing written, if they are not active there (`record`
    reads them with the check-in's context)."""
    done = await record(session, organisation_id, staff_id, data, now)
    if done is None:
        return None
    # What `record` read already: the new check-in's share (none unless it made one), the
    # signposting and the band's support text; the rest of the view as for any check-in.
    shares = {done.checkin.id: done.share} if done.share is not None else {}
    views = await owner_views(
        session,
        done.actor,
        [done.checkin],
        now,
        shares=shares,
        signs=done.signs,
        texts=done.texts,
    )
    return views[0], done.created


async def my_checkins(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> Page[CheckInPublic]:
    """The caller's check-ins, newest first."""
    rows, next_cursor = await list_my_checkins(session, actor, limit=limit, cursor=cursor)
    return Page(data=await owner_views(session, actor, list(rows), now), next_cursor=next_cursor)


async def checkin_view(
    session: AsyncSession, actor: Actor, checkin_id: uuid.UUID, now: datetime
) -> Tagged[CheckInPublic | SharedCheckInPublic]:
    """One check-in: the owner's view, or the supervisor's while shared. Answers never
    change; the share's state does, so the ETag covers the whole view."""
    checkin, share = await get_checkin(session, actor, checkin_id, now)
    view: CheckInPublic | SharedCheckInPublic
    if checkin.staff_id == actor.id:
        view = (await owner_views(session, actor, [checkin], now))[0]
    else:
        assert share is not None  # get_checkin only lets a live share through
        view = shared_public(checkin, share)
    return Tagged(view, content_etag(view.model_dump(mode="json")))


async def share_checkin_view(
    session: AsyncSession, actor: Actor, checkin_id: uuid.UUID, data: ShareCreate, now: datetime
) -> CheckInPublic:
    """Share one of the caller's check-ins with their supervisor; the owner's view of it."""
    await share_checkin(session, actor, checkin_id, data, now)
    checkin = await session.get(CheckIn, checkin_id)  # loaded by share_checkin: no query
    assert checkin is not None
    return (await owner_views(session, actor, [checkin], now))[0]


async def shared_with_me(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> Page[SharedCheckInPublic]:
    """Check-ins the caller's supervisees share with them now (each read is logged)."""
    rows, next_cursor = await list_shared_with_me(session, actor, now, limit=limit, cursor=cursor)
    return Page(data=[shared_public(c, s) for c, s in rows], next_cursor=next_cursor)


def checkin_fields(
    checkin: CheckInRow,
    share: ShareRow | None,
    now_ok: bool,
    signs: list[Signpost],
    *,
    support: str | None,
    talk: MyTalkRequestPublic | None,
    options: list[TalkOption],
) -> dict[str, Any]:
    """`CheckInPublic`'s fields in its order, each already of its field's type (scores as
    floats), so serialising the dict writes exactly the model's JSON."""
    return {
        "id": checkin.id,
        "instrument": checkin.instrument,
        "instrument_version": checkin.instrument_version,
        "content_hash": checkin.content_hash,
        "answers": {k: int(v) for k, v in checkin.answers.items()},
        "scores": {k: float(v) for k, v in checkin.scores.items()},
        "bands": checkin.bands,
        "band": checkin.band,
        "wants_to_talk": checkin.wants_to_talk,
        "supervisor_told": talk is not None and talk.to is TalkTo.supervisor,
        "shared_with_supervisor": now_ok,
        "share_expires_at": share.expires_at if now_ok and share is not None else None,
        "taken_at": checkin.taken_at,
        "incident_id": checkin.incident_id,
        "signposting": signs,
        "support": support,
        "talk_request": talk,
        "talk_options": options,
    }


def shared_public(checkin: CheckInRow, share: ShareRow) -> SharedCheckInPublic:
    """A check-in as the supervisor it is shared with sees it."""
    return SharedCheckInPublic(
        id=checkin.id,
        owner_id=checkin.staff_id,
        instrument=checkin.instrument,
        instrument_version=checkin.instrument_version,
        answers=checkin.answers,
        scores=checkin.scores,
        bands=checkin.bands,
        band=checkin.band,
        taken_at=checkin.taken_at,
        shared_until=share.expires_at,
    )


async def export_my_checkins(
    session: AsyncSession, actor: Actor, now: datetime
) -> list[CheckInPublic]:
    """Every check-in of the caller's, answers and scores included, oldest first."""
    rows = (
        await session.exec(own_checkins(actor).order_by(col(CheckIn.taken_at), col(CheckIn.id)))
    ).all()
    return await owner_views(session, actor, rows, now)
