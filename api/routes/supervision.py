"""Supervision: cadence policy and status, the session lifecycle, records and actions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import (
    AdminActor,
    CurrentActor,
    Cursor,
    IfMatch,
    IfMatchRequired,
    KeyRingDep,
    Limit,
    Now,
    SessionDep,
    SupervisorOrManager,
)
from api.problems import problems
from api.responses import with_etag
from models.directory.staff import Cohort
from models.etag import etag_for
from models.pagination import DEFAULT_LIMIT
from models.schemas import Page
from models.supervision import ActionStatus, SessionStatus
from supervision.actions import get_action, list_actions, update_action_status
from supervision.agenda import session_agenda
from supervision.export import export_case, export_csv
from supervision.feedback import give_feedback, my_feedback
from supervision.policy_store import get_policy, policy_public, put_policy
from supervision.records import write_record
from supervision.schemas import (
    ActionPublic,
    ActionUpdate,
    AddendumCreate,
    AgendaPublic,
    CancelRequest,
    FeedbackCreate,
    FeedbackReceipt,
    PolicyPublic,
    PolicyUpdate,
    RecordPut,
    SessionCreate,
    SessionPublic,
    SessionSummary,
    SignOffRequest,
    StatusPublic,
)
from supervision.schemas_export import CaseExport
from supervision.session_views import action_public
from supervision.sessions import (
    add_addendum,
    cancel_session,
    list_sessions,
    read_session,
    schedule_session,
    sign_off_session,
)
from supervision.status import get_status

router = APIRouter(prefix="/supervision", tags=["supervision"])

CaseReference = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]


# --- policy and status ---------------------------------------------------------------------


@router.get("/policy", name="get_supervision_policy", response_model=PolicyPublic)
async def get_policy_route(
    actor: CurrentActor, session: SessionDep, response: Response
) -> PolicyPublic:
    """The organisation's supervision cadence policy (Standard 5 defaults until changed)."""
    policy, version = await get_policy(session, actor)
    response.headers["ETag"] = etag_for(version)
    return policy_public(policy)


@router.put(
    "/policy",
    name="put_supervision_policy",
    response_model=PolicyPublic,
    responses=problems(403, 412, 428),
)
async def put_policy_route(
    body: PolicyUpdate,
    actor: AdminActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> PolicyPublic:
    """Replace the policy (admins; If-Match with the ETag you read)."""
    policy, version = await put_policy(session, actor, body, if_match, now)
    response.headers["ETag"] = etag_for(version)
    return policy_public(policy)


@router.get(
    "/status", name="get_supervision_status", response_model=StatusPublic, responses=problems(404)
)
async def get_status_route(
    actor: CurrentActor, session: SessionDep, now: Now, staff_id: uuid.UUID | None = None
) -> StatusPublic:
    """Whether someone (default: you) is supervised as often as the policy requires."""
    staff, cadence = await get_status(session, actor, staff_id, now)
    return StatusPublic(
        staff_id=staff.id,
        cohort=Cohort(staff.cohort),
        interval_days=cadence.interval_days,
        last_held_on=cadence.last_held_on,
        next_due_on=cadence.next_due_on,
        days_overdue=cadence.days_overdue,
        on_leave=cadence.on_leave,
    )


# --- sessions ------------------------------------------------------------------------------


@router.post(
    "/sessions",
    name="schedule_supervision_session",
    status_code=201,
    response_model=SessionPublic,
    responses={
        **problems(403, 404, 409),
        200: {
            "model": SessionPublic,
            "description": "A repeat of an earlier create (same id or token)",
        },
    },
)
async def schedule_session_route(
    body: SessionCreate,
    actor: SupervisorOrManager,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> SessionPublic:
    """Schedule supervision for one of your supervisees or someone you manage."""
    tagged, created = await schedule_session(session, ring, actor, body, now)
    if not created:
        response.status_code = 200
    return with_etag(tagged, response)


@router.get(
    "/sessions",
    name="list_supervision_sessions",
    response_model=Page[SessionSummary],
    responses=problems(),
)
async def list_sessions_route(
    actor: CurrentActor,
    session: SessionDep,
    supervisee_id: uuid.UUID | None = None,
    status: SessionStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SessionSummary]:
    """Sessions you may see (yours, your supervisees', those you manage), latest first."""
    return await list_sessions(
        session, actor, supervisee_id=supervisee_id, status=status, limit=limit, cursor=cursor
    )


@router.get(
    "/sessions/{session_id}",
    name="get_supervision_session",
    response_model=SessionPublic,
    responses=problems(404),
)
async def get_session_route(
    session_id: uuid.UUID,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> SessionPublic:
    """One session with as much of its record as you may see (`access` says how much)."""
    return with_etag(await read_session(session, ring, actor, session_id, now), response)


@router.post(
    "/sessions/{session_id}/cancel",
    name="cancel_supervision_session",
    response_model=SessionPublic,
    responses=problems(403, 404, 409, 412),
)
async def cancel_session_route(
    session_id: uuid.UUID,
    body: CancelRequest,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> SessionPublic:
    """Cancel a scheduled session, with the reason (If-Match optional)."""
    return with_etag(
        await cancel_session(session, ring, actor, session_id, body, if_match, now), response
    )


@router.put(
    "/sessions/{session_id}/record",
    name="record_supervision_session",
    response_model=SessionPublic,
    responses=problems(403, 404, 409, 412, 428),
)
async def record_session_route(
    session_id: uuid.UUID,
    body: RecordPut,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> SessionPublic:
    """Write the record (the session's supervisor; If-Match required; until sign-off)."""
    return with_etag(
        await write_record(session, ring, actor, session_id, body, if_match, now), response
    )


@router.post(
    "/sessions/{session_id}/sign-off",
    name="sign_off_supervision_session",
    response_model=SessionPublic,
    responses=problems(403, 404, 409, 412),
)
async def sign_off_route(
    session_id: uuid.UUID,
    body: SignOffRequest,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> SessionPublic:
    """Sign your supervision record, agreeing or disagreeing with a comment; it then locks."""
    return with_etag(
        await sign_off_session(session, ring, actor, session_id, body, if_match, now), response
    )


@router.post(
    "/sessions/{session_id}/addenda",
    name="add_supervision_addendum",
    status_code=201,
    response_model=SessionPublic,
    responses=problems(403, 404, 409),
)
async def add_addendum_route(
    session_id: uuid.UUID,
    body: AddendumCreate,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
    response: Response,
) -> SessionPublic:
    """Add a dated note to a signed-off record (the supervisee or the supervisor)."""
    return with_etag(await add_addendum(session, ring, actor, session_id, body, now), response)


@router.post(
    "/sessions/{session_id}/feedback",
    name="give_supervision_feedback",
    status_code=201,
    response_model=FeedbackReceipt,
    responses=problems(403, 404, 409),
)
async def feedback_route(
    session_id: uuid.UUID,
    body: FeedbackCreate,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
) -> FeedbackReceipt:
    """Rate a session you were supervised in (private; only ever shown in aggregate)."""
    return await give_feedback(session, ring, actor, session_id, body, now)


@router.get(
    "/sessions/{session_id}/feedback",
    name="get_my_supervision_feedback",
    response_model=FeedbackReceipt,
    responses=problems(404),
)
async def get_feedback_route(
    session_id: uuid.UUID, actor: CurrentActor, session: SessionDep, ring: KeyRingDep
) -> FeedbackReceipt:
    """My own rating of a session (only the supervisee; anyone else 404)."""
    return await my_feedback(session, ring, actor, session_id)


@router.get(
    "/sessions/{session_id}/agenda",
    name="get_supervision_agenda",
    response_model=AgendaPublic,
    responses=problems(404),
)
async def agenda_route(
    session_id: uuid.UUID, actor: CurrentActor, session: SessionDep, ring: KeyRingDep, now: Now
) -> AgendaPublic:
    """Open actions carried over from earlier sessions, and reflections brought to this one."""
    return await session_agenda(session, actor, session_id, ring, now)


# --- actions -------------------------------------------------------------------------------


@router.get(
    "/actions",
    name="list_supervision_actions",
    response_model=Page[ActionPublic],
    responses=problems(),
)
async def list_actions_route(
    actor: CurrentActor,
    session: SessionDep,
    status: ActionStatus | None = None,
    supervisee_id: uuid.UUID | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ActionPublic]:
    """Actions you may see (yours, your supervisees', those of staff you manage)."""
    rows, next_cursor = await list_actions(
        session, actor, status=status, supervisee_id=supervisee_id, limit=limit, cursor=cursor
    )
    return Page(data=[action_public(a) for a in rows], next_cursor=next_cursor)


@router.get(
    "/actions/{action_id}",
    name="get_supervision_action",
    response_model=ActionPublic,
    responses=problems(404),
)
async def get_action_route(
    action_id: uuid.UUID, actor: CurrentActor, session: SessionDep, response: Response
) -> ActionPublic:
    """One action, with its ETag."""
    action = await get_action(session, actor, action_id)
    response.headers["ETag"] = etag_for(action.version)
    return action_public(action)


@router.patch(
    "/actions/{action_id}",
    name="update_supervision_action",
    response_model=ActionPublic,
    responses=problems(403, 404, 412, 428),
)
async def update_action_route(
    action_id: uuid.UUID,
    body: ActionUpdate,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatchRequired,
) -> ActionPublic:
    """Mark an action done, dropped or open (If-Match required)."""
    action = await update_action_status(session, actor, action_id, body.status, if_match, now)
    response.headers["ETag"] = etag_for(action.version)
    return action_public(action)


# --- case decision export ------------------------------------------------------------------


@router.get(
    "/cases/{case_reference}/decisions",
    name="export_case_decisions",
    response_model=CaseExport,
    responses=problems(),
)
async def export_case_route(
    case_reference: CaseReference,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
) -> CaseExport:
    """Decisions, rationale and actions about a case, for the child's record (no reflective
    or support text), from records you may read."""
    return await export_case(session, ring, actor, case_reference, now)


@router.get(
    "/cases/{case_reference}/decisions.csv",
    name="export_case_decisions_csv",
    response_class=Response,
    responses={**problems(), 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_case_csv_route(
    case_reference: CaseReference,
    actor: CurrentActor,
    session: SessionDep,
    ring: KeyRingDep,
    now: Now,
) -> Response:
    """The same export as CSV (one row per decision, then per action)."""
    export = await export_case(session, ring, actor, case_reference, now)
    return Response(
        export_csv(export),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="case-decisions.csv"'},
    )
