"""Per-organisation wellbeing settings: the k of the k-rule, share expiry, EAP contact, the
wellbeing contact people may ask to talk to, and the second incident follow-up's delay."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.analytics.budget import DEFAULT_YEAR_RHO
from models.directory.staff import Staff
from models.errors import Invalid
from models.etag import Tagged, content_etag, require_tag
from models.wellbeing import (
    DEFAULT_ANSWERS_RETENTION_DAYS,
    DEFAULT_INCIDENT_FOLLOW_UP_DAYS,
    DEFAULT_K,
    DEFAULT_SHARE_DAYS,
    MIN_K,
    WellbeingSettings,
)
from wellbeing.schemas import WellbeingSettingsPublic, WellbeingSettingsUpdate

# Built once: every check-in and every page of check-ins reads the settings.
_SETTINGS = select(WellbeingSettings).where(
    col(WellbeingSettings.organisation_id) == sa.bindparam("org")
)


async def settings_for(session: AsyncSession, organisation_id: uuid.UUID) -> WellbeingSettings:
    """The organisation's settings (defaults when it has never changed them)."""
    found = (await session.exec(_SETTINGS, params={"org": organisation_id})).first()
    if found is not None:
        if found.k_threshold < MIN_K:  # (never assign an unchanged value: it dirties the
            found.k_threshold = MIN_K  # row, and every later statement then flushes)
        return found
    return WellbeingSettings(
        organisation_id=organisation_id,
        k_threshold=DEFAULT_K,
        share_days=DEFAULT_SHARE_DAYS,
        answers_retention_days=DEFAULT_ANSWERS_RETENTION_DAYS,
        employee_assistance=None,
        wellbeing_contact_id=None,
        incident_follow_up_days=DEFAULT_INCIDENT_FOLLOW_UP_DAYS,
        updated_at=datetime.min,
    )


def settings_public(row: WellbeingSettings) -> WellbeingSettingsPublic:
    return WellbeingSettingsPublic(
        k=row.k_threshold,
        share_days=row.share_days,
        answers_retention_days=row.answers_retention_days,
        employee_assistance=row.employee_assistance,
        wellbeing_contact_id=row.wellbeing_contact_id,
        incident_follow_up_days=row.incident_follow_up_days,
        year_rho=row.year_rho,
        year_rho_in_force=DEFAULT_YEAR_RHO if row.year_rho is None else row.year_rho,
    )


async def read_settings(session: AsyncSession, actor: Actor) -> Tagged[WellbeingSettingsPublic]:
    """The organisation's settings as its admins see them, with their ETag."""
    row = await settings_for(session, actor.organisation_id)
    return Tagged(settings_public(row), settings_etag(row))


def settings_etag(row: WellbeingSettings) -> str:
    return content_etag(
        row.k_threshold,
        row.share_days,
        row.answers_retention_days,
        row.employee_assistance,
        row.wellbeing_contact_id,
        row.incident_follow_up_days,
        row.year_rho,
        row.updated_at,
    )


async def update_settings(
    session: AsyncSession,
    actor: Actor,
    data: WellbeingSettingsUpdate,
    if_match: str | None,
    now: datetime,
) -> Tagged[WellbeingSettingsPublic]:
    """Change the organisation's wellbeing settings (If-Match with the ETag last read)."""
    current = await settings_for(session, actor.organisation_id)
    require_tag(if_match, settings_etag(current))
    changes = data.model_dump(exclude_unset=True)
    if changes.get("k") is not None:
        current.k_threshold = max(int(changes["k"]), MIN_K)
    if changes.get("share_days") is not None:
        current.share_days = int(changes["share_days"])
    if changes.get("answers_retention_days") is not None:
        current.answers_retention_days = int(changes["answers_retention_days"])
    if "employee_assistance" in changes:
        current.employee_assistance = changes["employee_assistance"]
    if "wellbeing_contact_id" in changes:
        contact = changes["wellbeing_contact_id"]
        if contact is not None:
            found = await session.get(Staff, contact)
            if found is None or found.organisation_id != actor.organisation_id or not found.active:
                raise Invalid(
                    "wellbeing_contact_id does not name an active member of staff here.",
                    errors=[
                        {
                            "loc": ["body", "wellbeing_contact_id"],
                            "msg": "unknown staff member",
                            "type": "value_error",
                        }
                    ],
                )
        current.wellbeing_contact_id = contact
    if changes.get("incident_follow_up_days") is not None:
        current.incident_follow_up_days = int(changes["incident_follow_up_days"])
    if "year_rho" in changes:
        # Applies to periods not yet published: what is published keeps its figures and its
        # ledger rows; budget.check refuses any later period that would take its year past
        # the new budget (docs/wellbeing.md, "Budget").
        current.year_rho = changes["year_rho"]
    current.updated_at = now
    session.add(current)
    await session.flush()
    return Tagged(settings_public(current), settings_etag(current))
