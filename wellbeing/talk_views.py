"""Talk requests as each reader sees them: the owner (who was told, when it was seen, who
else they could ask) and the person asked (who, when; a check-in only while it is shared
with them). Every talk-request route makes one call here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.changes import tombstone_unreadable
from models.directory.staff import Staff
from models.etag import Tagged, etag_for
from models.schemas import Page
from models.wellbeing import CheckInRow, CheckInShare, TalkOutcome, TalkRequest
from wellbeing.checkins import shared_with, signposting
from wellbeing.schemas import (
    MyTalkRequestPublic,
    Signpost,
    TalkOption,
    TalkOptionsPublic,
    TalkRequestCreate,
    TalkRequestPublic,
    TalkStatus,
)
from wellbeing.talk import (
    RESOURCE,
    acknowledge,
    addressed_to,
    close,
    export_my_requests,
    list_addressed_to_me,
    list_mine,
    load_visible,
    raise_talk_request,
    readable_ids,
    seen_by_recipient,
    status_of,
    talk_options,
)


async def _names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.exec(
        select(col(Staff.id), col(Staff.display_name)).where(col(Staff.id).in_(ids))
    )
    return dict(rows.all())


async def owner_views(
    session: AsyncSession, actor: Actor, rows: Sequence[TalkRequest], now: datetime
) -> list[MyTalkRequestPublic]:
    """The owner's view of their requests (one look at who is at work today for all)."""
    if not rows:
        return []
    options = await talk_options(session, actor, now)
    signs = [Signpost(name=n, contact=c) for n, c in await signposting(session, actor)]
    names = await _names(session, {r.recipient_id for r in rows})
    by_person = {o.staff_id: o for o in options}
    views = []
    for row in rows:
        here = by_person.get(row.recipient_id)
        views.append(
            MyTalkRequestPublic(
                id=row.id,
                to=row.to,
                recipient_id=row.recipient_id,
                recipient_name=names.get(row.recipient_id, ""),
                recipient_available=here.available if here is not None else True,
                recipient_away_until=here.away_until if here is not None else None,
                checkin_id=row.checkin_id,
                status=status_of(row),
                raised_at=row.raised_at,
                notified_at=row.notified_at,
                seen_at=row.seen_at,
                acknowledged_at=row.acknowledged_at,
                closed_at=row.closed_at,
                outcome=row.outcome,
                alternatives=[o for o in options if o.staff_id != row.recipient_id],
                signposting=signs,
            )
        )
    return views


async def recipient_views(
    session: AsyncSession, actor: Actor, rows: Sequence[TalkRequest], now: datetime
) -> list[TalkRequestPublic]:
    """The asked person's view: no answers, no scores; the check-in's id only while that
    check-in is shared with them too."""
    names = await _names(session, {r.owner_id for r in rows})
    checkins = [r.checkin_id for r in rows if r.checkin_id is not None]
    shared: set[uuid.UUID] = set()
    if checkins:
        stmt = shared_with(actor, now).where(col(CheckInShare.checkin_id).in_(checkins))
        shared = {s.checkin_id for s in (await session.exec(stmt)).all()}
    return [
        TalkRequestPublic(
            id=r.id,
            staff_id=r.owner_id,
            display_name=names.get(r.owner_id, ""),
            to=r.to,
            checkin_id=r.checkin_id if r.checkin_id in shared else None,
            status=status_of(r),
            raised_at=r.raised_at,
            seen_at=r.seen_at,
            acknowledged_at=r.acknowledged_at,
            closed_at=r.closed_at,
            outcome=r.outcome,
        )
        for r in rows
    ]


async def options_view(session: AsyncSession, actor: Actor, now: datetime) -> TalkOptionsPublic:
    """Whom the caller can ask to talk to (and whether they are at work), and signposting."""
    return TalkOptionsPublic(
        options=await talk_options(session, actor, now),
        signposting=[Signpost(name=n, contact=c) for n, c in await signposting(session, actor)],
    )


async def raise_view(
    session: AsyncSession, actor: Actor, data: TalkRequestCreate, now: datetime
) -> tuple[MyTalkRequestPublic, bool]:
    """Raise a talk request (offline-create protocol); the owner's view of it."""
    row, created = await raise_talk_request(session, actor, data, now)
    return (await owner_views(session, actor, [row], now))[0], created


async def mine_page(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    *,
    status: TalkStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[MyTalkRequestPublic]:
    rows, next_cursor = await list_mine(session, actor, status=status, limit=limit, cursor=cursor)
    return Page(data=await owner_views(session, actor, rows, now), next_cursor=next_cursor)


async def addressed_page(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    *,
    status: TalkStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[TalkRequestPublic]:
    """Talk requests the caller was asked, newest first (each read logged for its owner)."""
    rows, next_cursor = await list_addressed_to_me(
        session, actor, now, status=status, limit=limit, cursor=cursor
    )
    return Page(data=await recipient_views(session, actor, rows, now), next_cursor=next_cursor)


async def _view(
    session: AsyncSession, actor: Actor, row: TalkRequest, owner: bool, now: datetime
) -> Tagged[MyTalkRequestPublic | TalkRequestPublic]:
    view: MyTalkRequestPublic | TalkRequestPublic
    if owner:
        view = (await owner_views(session, actor, [row], now))[0]
    else:
        view = (await recipient_views(session, actor, [row], now))[0]
    return Tagged(view, etag_for(row.version))


async def talk_request_view(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, now: datetime
) -> Tagged[MyTalkRequestPublic | TalkRequestPublic]:
    """One talk request, for its owner or the person asked (whose read is logged)."""
    row, owner = await load_visible(session, actor, request_id)
    if not owner:
        await seen_by_recipient(session, actor, [row], now)
    return await _view(session, actor, row, owner, now)


async def acknowledge_view(
    session: AsyncSession, actor: Actor, request_id: uuid.UUID, if_match: str | None, now: datetime
) -> Tagged[MyTalkRequestPublic | TalkRequestPublic]:
    row = await acknowledge(session, actor, request_id, if_match, now)
    return await _view(session, actor, row, False, now)


async def close_view(
    session: AsyncSession,
    actor: Actor,
    request_id: uuid.UUID,
    outcome: TalkOutcome,
    if_match: str | None,
    now: datetime,
) -> Tagged[MyTalkRequestPublic | TalkRequestPublic]:
    row = await close(session, actor, request_id, outcome, if_match, now)
    return await _view(session, actor, row, row.owner_id == actor.id, now)


async def checkin_talk_request(
    session: AsyncSession, actor: Actor, checkins: Sequence[CheckInRow], now: datetime
) -> dict[uuid.UUID, MyTalkRequestPublic]:
    """The owner's view of the newest talk request each of these check-ins raised."""
    ids = [c.id for c in checkins if c.wants_to_talk]
    if not ids:
        return {}
    stmt = (
        select(TalkRequest)
        .where(
            col(TalkRequest.organisation_id) == actor.organisation_id,
            col(TalkRequest.owner_id) == actor.id,
            col(TalkRequest.checkin_id).in_(ids),
        )
        .order_by(col(TalkRequest.raised_at), col(TalkRequest.id))
    )
    rows = list((await session.exec(stmt)).all())
    views = await owner_views(session, actor, rows, now)
    return {r.checkin_id: v for r, v in zip(rows, views, strict=True) if r.checkin_id is not None}


async def checkin_talk_options(
    session: AsyncSession, actor: Actor, checkins: Sequence[CheckInRow], now: datetime
) -> list[TalkOption]:
    """Whom the owner could ask, when any of these check-ins says they would like to talk."""
    if not any(c.wants_to_talk for c in checkins):
        return []
    return await talk_options(session, actor, now)


async def render_talk_requests_for_sync(
    session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
) -> Mapping[uuid.UUID, BaseModel]:
    """Talk requests the caller may still see, each as its reader sees it (the asked
    person's reads are logged)."""
    mine = list(
        (
            await session.exec(
                select(TalkRequest).where(
                    col(TalkRequest.id).in_(ids),
                    col(TalkRequest.owner_id) == actor.id,
                    col(TalkRequest.organisation_id) == actor.organisation_id,
                )
            )
        ).all()
    )
    theirs = list(
        (await session.exec(addressed_to(actor).where(col(TalkRequest.id).in_(ids)))).all()
    )
    await seen_by_recipient(session, actor, theirs, now)
    rendered: dict[uuid.UUID, BaseModel] = {}
    for row, view in zip(mine, await owner_views(session, actor, mine, now), strict=True):
        rendered[row.id] = view
    for row, other in zip(theirs, await recipient_views(session, actor, theirs, now), strict=True):
        rendered[row.id] = other
    return rendered


async def revoke_lost_talk_requests(session: AsyncSession, actor: Actor, now: datetime) -> bool:
    """Tombstones for talk requests a former supervisor synced (the relationship ended)."""
    return await tombstone_unreadable(session, actor, RESOURCE, readable_ids(actor), now)


async def export_my_talk_requests(
    session: AsyncSession, actor: Actor, now: datetime
) -> list[MyTalkRequestPublic]:
    """Every talk request the caller raised, oldest first (for `/me/export`)."""
    return await owner_views(session, actor, await export_my_requests(session, actor), now)
