"""`organisation_preferences`, what a sweep reads once for its nudges, quiet hours and push:
every active member of the organisation with their saved preferences or the defaults, and
nobody else, exactly as `preferences_for` answers for the same people."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time

from sqlmodel.ext.asyncio.session import AsyncSession

from models.notifications.preferences import (
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    NotificationPreferences,
    organisation_preferences,
    preferences_for,
)
from tests.factories.directory import make_org, make_staff

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def test_everyone_active_in_the_organisation_with_saved_values_or_the_defaults(
    db: AsyncSession,
) -> None:
    org = await make_org(db, f"Council {uuid.uuid4()}", now=NOW)
    other = await make_org(db, f"Council {uuid.uuid4()}", now=NOW)
    ann = await make_staff(db, org, now=NOW)
    bob = await make_staff(db, org, now=NOW)
    bob.timezone = "Europe/Dublin"
    leaver = await make_staff(db, org, active=False, now=NOW)
    stranger = await make_staff(db, other, now=NOW)
    for person in (bob, leaver, stranger):
        db.add(
            NotificationPreferences(
                organisation_id=person.organisation_id,
                staff_id=person.id,
                quiet_hours_start=time(20, 0),
                quiet_hours_end=time(7, 0),
                push_enabled=False,
                updated_at=NOW,
            )
        )
    await db.flush()

    found = await organisation_preferences(db, org.id)

    assert set(found) == {ann.id, bob.id}  # not the leaver, not another council's
    assert (found[ann.id].quiet_hours_start, found[ann.id].quiet_hours_end) == (
        DEFAULT_QUIET_START,
        DEFAULT_QUIET_END,
    )
    assert found[ann.id].push_enabled
    assert found[bob.id].timezone == "Europe/Dublin"
    assert (found[bob.id].quiet_hours_start, found[bob.id].push_enabled) == (time(20, 0), False)
    asked = await preferences_for(db, org.id, [ann.id, bob.id, leaver.id, stranger.id])
    assert asked == found
