"""The demo council's people, as the history seeders need them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.directory.organisation import Unit
from models.directory.staff import Staff

LONDON = ZoneInfo("Europe/London")
# How far back the history goes.
HISTORY_DAYS = 182


@dataclass(frozen=True)
class Team:
    index: int  # 0-3 Children's Social Care (Assessment first), 4-6 Early Help
    unit: Unit
    manager: Staff
    members: list[Staff]  # ASYE (new), qualified, ASYE (mid-year), student, three qualified


@dataclass(frozen=True)
class Council:
    organisation_id: uuid.UUID
    admin: Staff
    director: Staff
    hr: Staff
    chief_executive: Staff  # supervises the director; in no unit
    heads: list[Staff]
    teams: list[Team]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """`day` at `hour`:`minute` in London (every demo person's time zone), as UTC."""
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


def weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def demo_id(organisation_id: uuid.UUID, *parts: object) -> uuid.UUID:
    """A client-style id for a demo row, the same on every run for the same organisation."""
    return uuid.uuid5(organisation_id, "harbour-demo/" + "/".join(str(p) for p in parts))
