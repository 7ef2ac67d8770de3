"""Critical incidents: the table, and what supervision may read of it (the agenda item).

The table lives here because both domains need it: wellbeing owns the incident (record,
follow-up check-ins, signposting; `wellbeing/incidents.py`), and supervision shows "talk
about the incident" on the next agenda when the practitioner asked for that. Supervision
reads it only through `agenda_incidents`, which returns no note.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import TenantTable, utc_column
from models.crypto import register_sealed_column
from models.supervision import SessionStatus, SupervisionSession

TABLE = "wellbeing_incidents"
RESOURCE = "wellbeing_incident"
NOTE_MAX = 500


class IncidentCategory(StrEnum):
    distressing_visit = "distressing_visit"
    disclosure = "disclosure"
    serious_incident = "serious_incident"
    threat_or_assault = "threat_or_assault"
    death_of_a_child_or_adult = "death_of_a_child_or_adult"
    other = "other"


class Incident(TenantTable, table=True):
    """That something hard happened to a practitioner at work: when and what kind, never
    the case. `id` is the client's UUID (offline-creatable)."""

    __tablename__ = TABLE
    __table_args__ = (
        sa.Index(
            "ix_wellbeing_incidents_org_staff_on", "organisation_id", "staff_id", "occurred_on"
        ),
        sa.Index("ix_wellbeing_incidents_org_follow_up", "organisation_id", "follow_up_at"),
        sa.Index("ix_wellbeing_incidents_org_supervisor", "organisation_id", "supervisor_id"),
    )

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    # The practitioner, or their supervisor recording it for them.
    recorded_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    occurred_on: date
    category: IncidentCategory = Field(sa_type=sa.String(40))
    # The practitioner's own short note, sealed (models.crypto); only they read it.
    note: str | None = Field(default=None, sa_type=sa.Text(), nullable=True)
    # The supervisor the practitioner chose to tell (or who recorded it), while they still
    # supervise them; None: nobody else knows.
    supervisor_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    bring_to_supervision: bool = Field(default=False)
    # When the first follow-up check-in is offered; the second comes the organisation's
    # `incident_follow_up_days` later.
    follow_up_at: datetime = utc_column()
    follow_up_instrument: str = Field(max_length=40)
    request_hash: str = Field(max_length=64)
    recorded_at: datetime = utc_column()
    # Snapshots for the anonymised counts (like a check-in's).
    unit_path: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    role_group: str = Field(max_length=20)
    tenure_band: str = Field(max_length=20)
    version: int = Field(default=1)
    updated_at: datetime = utc_column()


register_sealed_column(TABLE, "note")


@dataclass(frozen=True)
class AgendaIncident:
    """ "Talk about the incident": what the agenda shows (no note, no case)."""

    id: uuid.UUID
    occurred_on: date
    category: IncidentCategory


async def agenda_incidents(session: AsyncSession, row: SupervisionSession) -> list[AgendaIncident]:
    """Incidents the supervisee asked to bring to supervision with this supervisor, on the
    agenda of the first session of theirs after the incident was recorded (a later session
    does not repeat it once one was held)."""
    incidents = (
        await session.exec(
            select(Incident).where(
                col(Incident.organisation_id) == row.organisation_id,
                col(Incident.staff_id) == row.supervisee_id,
                col(Incident.supervisor_id) == row.supervisor_id,
                col(Incident.bring_to_supervision).is_(True),
                col(Incident.recorded_at) <= row.scheduled_for,
            )
        )
    ).all()
    if not incidents:
        return []
    held = (
        await session.exec(
            select(col(SupervisionSession.scheduled_for)).where(
                col(SupervisionSession.organisation_id) == row.organisation_id,
                col(SupervisionSession.supervisee_id) == row.supervisee_id,
                col(SupervisionSession.status).in_(
                    [SessionStatus.recorded.value, SessionStatus.signed_off.value]
                ),
                col(SupervisionSession.id) != row.id,
                col(SupervisionSession.scheduled_for) < row.scheduled_for,
            )
        )
    ).all()
    shown = [
        i for i in incidents if not any(i.recorded_at <= at < row.scheduled_for for at in held)
    ]
    shown.sort(key=lambda i: (i.occurred_on, i.id))
    return [AgendaIncident(i.id, i.occurred_on, i.category) for i in shown]
