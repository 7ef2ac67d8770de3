"""The supervision part of a person's own data export (`GET /me/export`)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.absence import Absence
from models.actor import Actor
from models.crypto import KeyRing
from models.supervision import SupervisionSession
from supervision.schemas import AbsencePublic, Audience, SessionPublic
from supervision.session_views import session_public


async def export_my_sessions(
    session: AsyncSession, ring: KeyRing, actor: Actor
) -> list[SessionPublic]:
    """Every session in which the caller was supervised, in full (records, actions, addenda),
    oldest first. Their own feedback ratings travel separately."""
    rows = (
        await session.exec(
            select(SupervisionSession)
            .where(
                col(SupervisionSession.organisation_id) == actor.organisation_id,
                col(SupervisionSession.supervisee_id) == actor.id,
            )
            .order_by(col(SupervisionSession.scheduled_for), col(SupervisionSession.id))
        )
    ).all()
    return [await session_public(session, ring, row, Audience.full) for row in rows]


async def export_my_absences(session: AsyncSession, actor: Actor) -> list[AbsencePublic]:
    rows = (
        await session.exec(
            select(Absence)
            .where(
                col(Absence.organisation_id) == actor.organisation_id,
                col(Absence.staff_id) == actor.id,
            )
            .order_by(col(Absence.starts_on), col(Absence.id))
        )
    ).all()
    return [AbsencePublic.model_validate(a, from_attributes=True) for a in rows]
