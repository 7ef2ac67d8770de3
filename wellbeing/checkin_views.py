"""Check-ins as each reader sees them: the owner (answers, scores, the share's state and
signposting) and the supervisor a check-in is shared with. Every wellbeing route that shows
check-ins makes one call here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.etag import Tagged, content_etag
from models.schemas import Page
from models.wellbeing import CheckIn, CheckInShare, TalkTo
from wellbeing.checkins import (
    create_checkin,
    get_checkin,
    list_my_checkins,
    list_shared_with_me,
    own_checkins,
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
from wellbeing.support import support_for
from wellbeing.talk_views import checkin_talk_options, checkin_talk_request


async def owner_views(
    session: AsyncSession, actor: Actor, rows: Sequence[CheckIn], now: datetime
) -> list[CheckInPublic]:
    """The owner's view of their check-ins: share state, signposting, the support text for
    each band, and for those that say "I'd like to talk" who was told and who else could be."""
    if not rows:
        return []
    shares = await shares_for(session, rows)
    signs = await signposting(session, actor)
    talk = await checkin_talk_request(session, actor, rows, now)
    options = await checkin_talk_options(session, actor, rows, now)
    texts: dict[tuple[str, str | None], str | None] = {}
    for c in rows:
        if (c.instrument, c.band) not in texts:
            texts[(c.instrument, c.band)] = await support_for(session, actor, c.instrument, c.band)
    return [
        checkin_public(
            c,
            shares.get(c.id),
            share_active(shares.get(c.id), now, actor.supervisor_id),
            signs,
            support=texts[(c.instrument, c.band)],
            talk=talk.get(c.id),
            options=options if c.wants_to_talk else [],
        )
        for c in rows
    ]


async def record_checkin(
    session: AsyncSession, actor: Actor, data: CheckInCreate, now: datetime
) -> tuple[CheckInPublic, bool]:
    """Create a check-in (offline-create protocol) and show it to its owner."""
    checkin, created = await create_checkin(session, actor, data, now)
    return (await owner_views(session, actor, [checkin], now))[0], created


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


def checkin_public(
    checkin: CheckIn,
    share: CheckInShare | None,
    now_ok: bool,
    signs: list[tuple[str, str]],
    *,
    support: str | None,
    talk: MyTalkRequestPublic | None,
    options: list[TalkOption],
) -> CheckInPublic:
    """A check-in as its owner sees it (`now_ok`: the share is live)."""
    return CheckInPublic(
        id=checkin.id,
        instrument=checkin.instrument,
        instrument_version=checkin.instrument_version,
        content_hash=checkin.content_hash,
        answers=checkin.answers,
        scores=checkin.scores,
        bands=checkin.bands,
        band=checkin.band,
        wants_to_talk=checkin.wants_to_talk,
        supervisor_told=talk is not None and talk.to is TalkTo.supervisor,
        shared_with_supervisor=now_ok,
        share_expires_at=share.expires_at if now_ok and share is not None else None,
        taken_at=checkin.taken_at,
        incident_id=checkin.incident_id,
        signposting=[Signpost(name=n, contact=c) for n, c in signs],
        support=support,
        talk_request=talk,
        talk_options=options,
    )


def shared_public(checkin: CheckIn, share: CheckInShare) -> SharedCheckInPublic:
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
