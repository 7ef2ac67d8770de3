"""Wellbeing: instruments, the practitioner's own check-ins and trend, and sharing."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import (
    AdminActor,
    CurrentActor,
    Cursor,
    IfMatch,
    Limit,
    Now,
    SessionDep,
    SupervisorActor,
)
from api.problems import problems
from models.disclosure import PeriodKind
from models.etag import content_etag
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from models.wellbeing import InstrumentText, WellbeingSettings
from wellbeing.catalogue import catalogue, is_available
from wellbeing.checkins import (
    checkin_public,
    create_checkin,
    get_checkin,
    list_my_checkins,
    list_shared_with_me,
    revoke_share,
    share_active,
    share_checkin,
    shared_public,
    shares_for,
    signposting,
    talk_requests,
)
from wellbeing.instruments import Instrument
from wellbeing.schemas import (
    BandPublic,
    CheckInCreate,
    CheckInPublic,
    InstrumentPublic,
    ItemPublic,
    ScalePublic,
    ShareCreate,
    SharedCheckInPublic,
    SubscalePublic,
    TalkRequestPublic,
    TrendPoint,
    TrendPublic,
    WellbeingSettingsPublic,
    WellbeingSettingsUpdate,
)
from wellbeing.settings import settings_etag, settings_for, update_settings
from wellbeing.trends import my_trend

router = APIRouter(prefix="/wellbeing", tags=["wellbeing"])


def _instrument(instrument: Instrument, text: InstrumentText | None) -> InstrumentPublic:
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


def _settings(row: WellbeingSettings) -> WellbeingSettingsPublic:
    return WellbeingSettingsPublic(
        k=row.k_threshold,
        share_days=row.share_days,
        answers_retention_days=row.answers_retention_days,
        employee_assistance=row.employee_assistance,
    )


@router.get(
    "/instruments",
    name="list_instruments",
    response_model=Page[InstrumentPublic],
    responses=problems(),
)
async def list_instruments_route(
    actor: CurrentActor, session: SessionDep
) -> Page[InstrumentPublic]:
    """Instruments (newest versions, one page); licensed ones carry wording once imported."""
    rows = await catalogue(session, actor.organisation_id)
    return Page(data=[_instrument(i, t) for i, t in rows], next_cursor=None)


@router.post(
    "/checkins",
    name="create_checkin",
    status_code=201,
    response_model=CheckInPublic,
    responses={
        200: {"description": "Repeat of an earlier create", "model": CheckInPublic},
        **problems(409),
    },
)
async def create_checkin_route(
    body: CheckInCreate, actor: CurrentActor, session: SessionDep, now: Now, response: Response
) -> CheckInPublic:
    """Record a check-in (client UUID; a repeat answers 200 with the same body)."""
    checkin, created = await create_checkin(session, actor, body, now)
    if not created:
        response.status_code = 200
    share = (await shares_for(session, [checkin])).get(checkin.id)
    return checkin_public(
        checkin,
        share,
        share_active(share, now, actor.supervisor_id),
        await signposting(session, actor),
    )


@router.get(
    "/checkins", name="list_my_checkins", response_model=Page[CheckInPublic], responses=problems()
)
async def list_my_checkins_route(
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[CheckInPublic]:
    """My check-ins, newest first."""
    rows, next_cursor = await list_my_checkins(session, actor, limit=limit, cursor=cursor)
    shares = await shares_for(session, rows)
    signs = await signposting(session, actor)
    data = [
        checkin_public(
            c, shares.get(c.id), share_active(shares.get(c.id), now, actor.supervisor_id), signs
        )
        for c in rows
    ]
    return Page(data=data, next_cursor=next_cursor)


@router.get(
    "/checkins/shared-with-me",
    name="list_checkins_shared_with_me",
    response_model=Page[SharedCheckInPublic],
    responses=problems(403),
)
async def shared_with_me_route(
    actor: SupervisorActor,
    session: SessionDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SharedCheckInPublic]:
    """Check-ins your supervisees shared with you, while shared (each read is logged)."""
    rows, next_cursor = await list_shared_with_me(session, actor, now, limit=limit, cursor=cursor)
    return Page(data=[shared_public(c, s) for c, s in rows], next_cursor=next_cursor)


@router.get(
    "/checkins/{checkin_id}",
    name="get_checkin",
    response_model=CheckInPublic | SharedCheckInPublic,
    responses=problems(404),
)
async def get_checkin_route(
    checkin_id: uuid.UUID, actor: CurrentActor, session: SessionDep, now: Now, response: Response
) -> CheckInPublic | SharedCheckInPublic:
    """One check-in: yours, or one shared with you while shared."""
    checkin, share = await get_checkin(session, actor, checkin_id, now)
    view: CheckInPublic | SharedCheckInPublic
    if checkin.staff_id == actor.id:
        signs = await signposting(session, actor)
        view = checkin_public(checkin, share, share_active(share, now, actor.supervisor_id), signs)
    else:
        assert share is not None  # get_checkin only lets a live share through
        view = shared_public(checkin, share)
    # Answers never change; the share's state does, so the tag covers the whole view.
    response.headers["ETag"] = content_etag(view.model_dump(mode="json"))
    return view


@router.post(
    "/checkins/{checkin_id}/share",
    name="share_checkin",
    response_model=CheckInPublic,
    responses=problems(404),
)
async def share_checkin_route(
    checkin_id: uuid.UUID, body: ShareCreate, actor: CurrentActor, session: SessionDep, now: Now
) -> CheckInPublic:
    """Share one of your check-ins with your supervisor (default 14 days; renews a share)."""
    share = await share_checkin(session, actor, checkin_id, body, now)
    checkin, _ = await get_checkin(session, actor, checkin_id, now)
    return checkin_public(checkin, share, True, await signposting(session, actor))


@router.delete(
    "/checkins/{checkin_id}/share",
    name="unshare_checkin",
    status_code=204,
    responses=problems(404),
)
async def unshare_checkin_route(
    checkin_id: uuid.UUID, actor: CurrentActor, session: SessionDep, now: Now
) -> Response:
    """Stop sharing a check-in, at once."""
    await revoke_share(session, actor, checkin_id, now)
    return Response(status_code=204)


@router.get(
    "/talk-requests",
    name="list_talk_requests",
    response_model=Page[TalkRequestPublic],
    responses=problems(403),
)
async def talk_requests_route(
    actor: SupervisorActor,
    session: SessionDep,
    now: Now,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TalkRequestPublic]:
    """Supervisees who said they would like to talk and agreed that you be told (30 days)."""
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


@router.get(
    "/trends/me", name="my_wellbeing_trend", response_model=TrendPublic, responses=problems()
)
async def my_trend_route(
    actor: CurrentActor,
    session: SessionDep,
    instrument: Annotated[str, Query(max_length=40)] = "pulse",
    period: Annotated[Literal["week", "month"], Query()] = "week",
) -> TrendPublic:
    """My mean scores per week or month (periods in UTC)."""
    points = await my_trend(session, actor, instrument, PeriodKind(period))
    return TrendPublic(
        instrument=instrument,
        period=period,
        points=[TrendPoint(period_start=s, checkins=n, scores=m) for s, n, m in points],
    )


@router.get(
    "/settings",
    name="get_wellbeing_settings",
    response_model=WellbeingSettingsPublic,
    responses=problems(403),
)
async def get_settings_route(
    actor: AdminActor, session: SessionDep, response: Response
) -> WellbeingSettingsPublic:
    """The organisation's k, share expiry and employee assistance contact."""
    row = await settings_for(session, actor.organisation_id)
    response.headers["ETag"] = settings_etag(row)
    return _settings(row)


@router.put(
    "/settings",
    name="update_wellbeing_settings",
    response_model=WellbeingSettingsPublic,
    responses=problems(403, 412, 428),
)
async def put_settings_route(
    body: WellbeingSettingsUpdate,
    actor: AdminActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> WellbeingSettingsPublic:
    """Change k (never below 5), share expiry days or the employee assistance contact
    (If-Match required)."""
    row = await update_settings(session, actor, body, if_match, now)
    response.headers["ETag"] = settings_etag(row)
    return _settings(row)
