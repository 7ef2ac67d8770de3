"""Check-ins as each reader sees them: the owner (answers, scores, the share's state and
signposting) and the supervisor a check-in is shared with. Every wellbeing route that shows
check-ins makes one call here."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.etag import Tagged, content_etag
from models.schemas import Page
from models.wellbeing import CheckIn, CheckInShare
from wellbeing.checkins import (
    create_checkin,
    get_checkin,
    list_my_checkins,
    list_shared_with_me,
    own_checkins,
    share_active,
    share_checkin,
    share_of,
    shares_for,
    signposting,
    talk_requests,
)
from wellbeing.schemas import (
    CheckInCreate,
    CheckInPublic,
    ShareCreate,
    SharedCheckInPublic,
    Signpost,
    TalkRequestPublic,
)


async def _owner_views(
    session: AsyncSession, actor: Actor, rows: list[CheckIn], now: datetime
) -> list[CheckInPublic]:
    shares = await shares_for(session, rows)
    signs = await signposting(session, actor)
    return [
        checkin_public(
            c, shares.get(c.id), share_active(shares.get(c.id), now, actor.supervisor_id), signs
        )
        for c in rows
    ]


async def record_checkin(
    session: AsyncSession, actor: Actor, data: CheckInCreate, now: datetime
) -> tuple[CheckInPublic, bool]:
    """Create a check-in (offline-create protocol) and show it to its owner."""
    checkin, created = await create_checkin(session, actor, data, now)
    return (await _owner_views(session, actor, [checkin], now))[0], created


async def my_checkins(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> Page[CheckInPublic]:
    """The caller's check-ins, newest first."""
    rows, next_cursor = await list_my_checkins(session, actor, limit=limit, cursor=cursor)
    return Page(data=await _owner_views(session, actor, list(rows), now), next_cursor=next_cursor)


async def checkin_view(
    session: AsyncSession, actor: Actor, checkin_id: uuid.UUID, now: datetime
) -> Tagged[CheckInPublic | SharedCheckInPublic]:
    """One check-in: the owner's view, or the supervisor's while shared. Answers never
    change; the share's state does, so the ETag covers the whole view."""
    checkin, share = await get_checkin(session, actor, checkin_id, now)
    view: CheckInPublic | SharedCheckInPublic
    if checkin.staff_id == actor.id:
        signs = await signposting(session, actor)
        view = checkin_public(checkin, share, share_active(share, now, actor.supervisor_id), signs)
    else:
        assert share is not None  # get_checkin only lets a live share through
        view = shared_public(checkin, share)
    return Tagged(view, content_etag(view.model_dump(mode="json")))


async def share_checkin_view(
    session: AsyncSession, actor: Actor, checkin_id: uuid.UUID, data: ShareCreate, now: datetime
) -> CheckInPublic:
    """Share one of the caller's check-ins with their supervisor; the owner's view of it."""
    share = await share_checkin(session, actor, checkin_id, data, now)
    checkin = await session.get(CheckIn, checkin_id)  # loaded by share_checkin: no query
    assert checkin is not None
    return checkin_public(checkin, share, True, await signposting(session, actor))


async def shared_with_me(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> Page[SharedCheckInPublic]:
    """Check-ins the caller's supervisees share with them now (each read is logged)."""
    rows, next_cursor = await list_shared_with_me(session, actor, now, limit=limit, cursor=cursor)
    return Page(data=[shared_public(c, s) for c, s in rows], next_cursor=next_cursor)


async def talk_request_page(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> Page[TalkRequestPublic]:
    """Supervisees who would like to talk and agreed the caller be told (each logged)."""
    rows, next_cursor = await talk_requests(session, actor, now, limit=limit, cursor=cursor)
    return Page(
        data=[
            TalkRequestPublic(
                checkin_id=c.id, staff_id=s.id, display_name=s.display_name, raised_at=c.taken_at
            )
            for c, s in rows
        ],
        next_cursor=next_cursor,
    )


def checkin_public(
    checkin: CheckIn, share: CheckInShare | None, now_ok: bool, signs: list[tuple[str, str]]
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
        supervisor_told=checkin.talk_supervisor_id is not None,
        shared_with_supervisor=now_ok,
        share_expires_at=share.expires_at if now_ok and share is not None else None,
        taken_at=checkin.taken_at,
        signposting=[Signpost(name=n, contact=c) for n, c in signs],
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
    signs = await signposting(session, actor)
    exported = []
    for checkin in rows:
        share = await share_of(session, checkin)
        live = share_active(share, now, actor.supervisor_id)
        exported.append(checkin_public(checkin, share, live, signs))
    return exported
