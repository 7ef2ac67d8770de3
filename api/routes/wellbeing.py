"""Wellbeing: instruments, the practitioner's own check-ins and trend, and sharing."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import (
    AdminActor,
    BearerClaims,
    CurrentActor,
    Cursor,
    IfMatchRequired,
    Limit,
    Now,
    SessionDep,
    SupervisorActor,
    invalid_token,
    one_write,
)
from api.problems import etag_declared, problems
from models.analytics.periods import PeriodKind
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from wellbeing.catalogue import instruments_public
from wellbeing.checkin_views import (
    checkin_view,
    my_checkins,
    record_checkin,
    share_checkin_view,
    shared_with_me,
)
from wellbeing.checkins import revoke_share
from wellbeing.schemas import (
    CheckInCreate,
    CheckInPublic,
    InstrumentPublic,
    ShareCreate,
    SharedCheckInPublic,
    SupportTextPublic,
    SupportTextUpdate,
    TrendPublic,
    WellbeingSettingsPublic,
    WellbeingSettingsUpdate,
)
from wellbeing.settings import read_settings, update_settings
from wellbeing.support import support_text, support_texts, update_support_text
from wellbeing.trends import my_trend

router = APIRouter(prefix="/wellbeing", tags=["wellbeing"])


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
    return Page(data=await instruments_public(session, actor.organisation_id), next_cursor=None)


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
    body: CheckInCreate,
    claims: BearerClaims,
    request: Request,
    now: Now,
    response: Response,
) -> CheckInPublic:
    """Record a check-in (client UUID; a repeat answers 200 with the same body)."""
    # The token is checked by a dependency (401 before anything else); whether its person is
    # still active is read with the check-in's context (`record`), as `GET /sync` reads
    # them with its page: a round trip fewer on the phone's most frequent write. A plain
    # check-in's one write needs no transaction block (`one_write`).
    async with one_write(request) as session:
        done = await record_checkin(session, claims.organisation_id, claims.staff_id, body, now)
        if done is None:
            raise invalid_token()
    view, created = done
    if not created:
        response.status_code = 200
    return view


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
    return await my_checkins(session, actor, now, limit=limit, cursor=cursor)


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
    return await shared_with_me(session, actor, now, limit=limit, cursor=cursor)


@router.get(
    "/checkins/{checkin_id}",
    name="get_checkin",
    response_model=CheckInPublic | SharedCheckInPublic,
    responses={**problems(404), **etag_declared()},
)
async def get_checkin_route(
    checkin_id: uuid.UUID, actor: CurrentActor, session: SessionDep, now: Now, response: Response
) -> CheckInPublic | SharedCheckInPublic:
    """One check-in: yours, or one shared with you while shared."""
    tagged = await checkin_view(session, actor, checkin_id, now)
    response.headers["ETag"] = tagged.etag
    return tagged.view


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
    return await share_checkin_view(session, actor, checkin_id, body, now)


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
    "/trends/me", name="my_wellbeing_trend", response_model=TrendPublic, responses=problems()
)
async def my_trend_route(
    actor: CurrentActor,
    session: SessionDep,
    instrument: Annotated[str, Query(max_length=40)] = "pulse",
    period: Annotated[Literal["week", "month"], Query()] = "week",
) -> TrendPublic:
    """My mean scores per week or month (periods in UTC)."""
    return await my_trend(session, actor, instrument, PeriodKind(period))


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
    tagged = await read_settings(session, actor)
    response.headers["ETag"] = tagged.etag
    return tagged.view


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
    if_match: IfMatchRequired,
) -> WellbeingSettingsPublic:
    """Change k (never below 5), share expiry days or the employee assistance contact
    (If-Match required)."""
    tagged = await update_settings(session, actor, body, if_match, now)
    response.headers["ETag"] = tagged.etag
    return tagged.view


InstrumentKey = Annotated[str, Path(min_length=1, max_length=40)]
BandKey = Annotated[str, Path(min_length=1, max_length=40)]


@router.get(
    "/support-texts",
    name="list_support_texts",
    response_model=Page[SupportTextPublic],
    responses=problems(403),
)
async def support_texts_route(actor: AdminActor, session: SessionDep) -> Page[SupportTextPublic]:
    """What a check-in's owner is told in each band of each instrument (one page)."""
    return await support_texts(session, actor)


@router.get(
    "/support-texts/{instrument}/{band}",
    name="get_support_text",
    response_model=SupportTextPublic,
    responses=problems(403, 404),
)
async def support_text_route(
    instrument: InstrumentKey,
    band: BandKey,
    actor: AdminActor,
    session: SessionDep,
    response: Response,
) -> SupportTextPublic:
    """The text for one band, with its ETag."""
    tagged = await support_text(session, actor, instrument, band)
    response.headers["ETag"] = tagged.etag
    return tagged.view


@router.put(
    "/support-texts/{instrument}/{band}",
    name="update_support_text",
    response_model=SupportTextPublic,
    responses=problems(403, 404, 412, 428),
)
async def put_support_text_route(
    instrument: InstrumentKey,
    band: BandKey,
    body: SupportTextUpdate,
    actor: AdminActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> SupportTextPublic:
    """Rewrite what the owner of a check-in in this band is told (admins; If-Match)."""
    tagged = await update_support_text(session, actor, instrument, band, body, if_match, now)
    response.headers["ETag"] = tagged.etag
    return tagged.view
