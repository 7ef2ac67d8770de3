"""The demo council's practice standards: a talk request that reached someone and was
acknowledged, a critical incident with its follow-up check-in, and a closure day that the
write-up deadlines skip (as they skip the bank holidays of England and Wales).

Everything goes through the domain functions the API calls, given past `now`s. The follow-up
check-in falls in the current week and month, so no completed period of the anonymised
series changes because of it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.demo.checkins import ASKS_TO_TALK
from api.demo.people import Council, demo_id, weekday_on_or_after
from models.crypto import KeyRing
from models.directory.service import actor_for
from models.incidents import IncidentCategory
from models.notifications.outbox import enqueue, schedule
from models.supervision import SessionStatus, SupervisionSession
from models.wellbeing import TalkRequest, WellbeingSettings
from supervision.closure_days import add_closure_day
from supervision.schemas import ClosureDayCreate
from wellbeing.checkins import create_checkin
from wellbeing.incidents import create_incident
from wellbeing.schemas import CheckInCreate, IncidentCreate
from wellbeing.talk import acknowledge, due_talk_notifications, note_notified

# The "practitioner" login: Assessment Team, second member.
INCIDENT_OWNER = 1


# The anonymised release on a council of about 60: k at its floor, and a yearly budget of
# rho = 10 (about 13 times the default of 0.75) so that HR sees the organisation's figures in
# most months and the organisation's and the directorate's every quarter, with 95% intervals
# of a few points either side on a council this small; teams of seven stay hidden. Which
# months clear the display margin differs from one seeding to the next (the noise is drawn
# afresh). docs/wellbeing.md says so.
DEMO_K = 5
DEMO_YEAR_RHO = 10.0


async def seed_practice(
    session: AsyncSession, ring: KeyRing, council: Council, now: datetime
) -> None:
    org = council.organisation_id
    # The Early Help head of service is the council's named wellbeing contact.
    session.add(
        WellbeingSettings(
            organisation_id=org,
            wellbeing_contact_id=council.heads[1].id,
            k_threshold=DEMO_K,
            year_rho=DEMO_YEAR_RHO,
            updated_at=now,
        )
    )
    await session.flush()
    await _talk_request(session, council, now)
    await _incident(session, ring, council, now)
    await add_closure_day(
        session,
        actor_for(council.admin),
        ClosureDayCreate(day=await _closure_day(session, council, now), name="Staff conference"),
        now,
    )


async def _closure_day(session: AsyncSession, council: Council, now: datetime) -> date:
    """The weekday after the "ASYE practitioner" login's next session, so that its write-up
    deadline visibly skips the closure day."""
    asye = council.teams[0].members[0]
    upcoming = (
        await session.exec(
            select(col(SupervisionSession.scheduled_for))
            .where(
                col(SupervisionSession.supervisee_id) == asye.id,
                col(SupervisionSession.status) == SessionStatus.scheduled.value,
                col(SupervisionSession.scheduled_for) > now,
            )
            .order_by(col(SupervisionSession.scheduled_for))
        )
    ).first()
    after = upcoming.date() if upcoming is not None else now.date()
    return weekday_on_or_after(after + timedelta(days=1))


async def _talk_request(session: AsyncSession, council: Council, now: datetime) -> None:
    """The Assessment Team member who asked to talk: the supervisor was notified and
    acknowledged it the next working hour."""
    team = council.teams[0]
    asker = team.members[ASKS_TO_TALK]
    request = (
        await session.exec(
            select(TalkRequest)
            .where(col(TalkRequest.owner_id) == asker.id)
            .order_by(col(TalkRequest.raised_at).desc())
        )
    ).first()
    if request is None:  # pragma: no cover - the check-in seeding raised it
        return
    told_at = request.raised_at + timedelta(minutes=5)
    reminders = await due_talk_notifications(session, council.organisation_id, told_at)
    created = await enqueue(session, await schedule(session, reminders, told_at), told_at)
    await note_notified(session, created, told_at)
    seen_at = min(told_at + timedelta(hours=2), now - timedelta(minutes=1))
    await acknowledge(session, actor_for(team.manager), request.id, f'"{request.version}"', seen_at)


async def _incident(session: AsyncSession, ring: KeyRing, council: Council, now: datetime) -> None:
    """A distressing visit today, told to the supervisor and brought to supervision, with
    the first follow-up check-in answered and the second to come (minutes apart, so the
    follow-up lands in the current week and month)."""
    person = council.teams[0].members[INCIDENT_OWNER]
    actor = actor_for(person)
    recorded = now - timedelta(minutes=3)
    incident, _ = await create_incident(
        session,
        ring,
        actor,
        IncidentCreate(
            id=demo_id(council.organisation_id, "incident", 0, INCIDENT_OWNER),
            occurred_on=recorded.date(),
            category=IncidentCategory.distressing_visit,
            note="Home visit with the police present; I keep thinking about the baby's room.",
            share_with_supervisor=True,
            bring_to_supervision=True,
            follow_up_at=now - timedelta(minutes=2),
            follow_up_instrument="pulse",
        ),
        recorded,
    )
    await create_checkin(
        session,
        actor,
        CheckInCreate(
            id=demo_id(council.organisation_id, "incident-checkin", 0, INCIDENT_OWNER),
            instrument="pulse",
            answers={"mood": 2, "stress": 4, "exposure": 5, "supported": 3, "sleep": 2},
            incident_id=incident.id,
        ),
        now - timedelta(minutes=1),
    )
