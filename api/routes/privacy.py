"""What Harbour holds about me, and who has read it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import CurrentActor, Cursor, KeyRingDep, Limit, Now, SessionDep
from api.problems import problems
from models.access_log import access_log_about, access_log_by, my_access_log
from models.directory.schemas import StaffPublic
from models.directory.service import get_staff
from models.export import ReadByMe
from models.notifications.outbox import export_my_notifications
from models.notifications.preferences import get_preferences
from models.notifications.schemas import DevicePublic, NotificationPublic, PreferencesPublic
from models.pagination import DEFAULT_LIMIT
from models.schemas import AccessLogEntry, Page
from models.supervision import FeedbackPublic
from supervision.agreements import export_my_agreements
from supervision.feedback import export_feedback
from supervision.group_views import export_my_group_sessions
from supervision.personal_export import export_my_absences, export_my_sessions
from supervision.reflections.notes import export_reflections
from supervision.reflections.schemas import ReflectionExport
from supervision.schemas import AbsencePublic, SessionPublic
from supervision.schemas_agreement import AgreementPublic
from supervision.schemas_group import GroupSessionPublic
from wellbeing.checkin_views import export_my_checkins
from wellbeing.incident_views import export_my_incidents
from wellbeing.schemas import CheckInPublic, IncidentPublic, MyTalkRequestPublic
from wellbeing.talk_views import export_my_talk_requests

router = APIRouter(prefix="/me", tags=["privacy"])


class PersonalExport(BaseModel):
    """Everything Harbour holds about one person (`GET /me/export`)."""

    generated_at: datetime
    profile: StaffPublic
    reflections: list[ReflectionExport]
    supervision_sessions: list[SessionPublic]
    supervision_agreements: list[AgreementPublic]
    group_supervision: list[GroupSessionPublic]
    absences: list[AbsencePublic]
    checkins: list[CheckInPublic]
    talk_requests: list[MyTalkRequestPublic]
    incidents: list[IncidentPublic]
    session_feedback: list[FeedbackPublic]
    notifications: list[NotificationPublic]
    devices: list[DevicePublic]
    preferences: PreferencesPublic
    reads_of_my_data: list[AccessLogEntry]
    my_reads_of_others: list[ReadByMe]


@router.get(
    "/access-log",
    name="get_my_access_log",
    response_model=Page[AccessLogEntry],
    responses=problems(),
)
async def get_my_access_log(
    actor: CurrentActor, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[AccessLogEntry]:
    """Who read my records, when, and why (newest first)."""
    rows, next_cursor = await my_access_log(session, actor, limit=limit, cursor=cursor)
    return Page(
        data=[AccessLogEntry.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/export", name="export_my_data", response_model=PersonalExport, responses=problems())
async def export_my_data(
    actor: CurrentActor, session: SessionDep, ring: KeyRingDep, now: Now, response: Response
) -> PersonalExport:
    """Everything Harbour holds about me, as one JSON document."""
    notifications, devices = await export_my_notifications(session, actor)
    response.headers["Content-Disposition"] = 'attachment; filename="harbour-export.json"'
    response.headers["Cache-Control"] = "no-store"
    return PersonalExport(
        generated_at=now,
        profile=StaffPublic.model_validate(
            await get_staff(session, actor, actor.id), from_attributes=True
        ),
        reflections=await export_reflections(session, ring, actor),
        supervision_sessions=await export_my_sessions(session, ring, actor),
        supervision_agreements=await export_my_agreements(session, ring, actor, now),
        group_supervision=await export_my_group_sessions(session, ring, actor),
        absences=await export_my_absences(session, actor),
        checkins=await export_my_checkins(session, actor, now),
        talk_requests=await export_my_talk_requests(session, actor, now),
        incidents=await export_my_incidents(session, ring, actor),
        session_feedback=await export_feedback(session, ring, actor),
        notifications=[
            NotificationPublic.model_validate(n, from_attributes=True) for n in notifications
        ],
        devices=[DevicePublic.model_validate(d, from_attributes=True) for d in devices],
        preferences=PreferencesPublic(**asdict(await get_preferences(session, actor))),
        reads_of_my_data=[
            AccessLogEntry.model_validate(r, from_attributes=True)
            for r in await access_log_about(session, actor)
        ],
        my_reads_of_others=[
            ReadByMe.model_validate(r, from_attributes=True)
            for r in await access_log_by(session, actor)
        ],
    )
