"""Working days: the bank holidays of each UK nation, and an organisation's own closure days.

Bank holidays are data, not code: the table `bank_holidays` is filled from the GOV.UK
bank-holidays JSON shipped in `models/data/bank-holidays.json` when the database is migrated,
and `harbour bank-holidays import <file>` replaces a nation's days from a newer copy of that
file (https://www.gov.uk/bank-holidays.json, Open Government Licence v3.0) without a
release. Closure days (an office closed for a local reason) belong to one organisation.

`non_working_days` answers the set the cadence engine (`supervision/policy.py`, pure) takes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import TenantTable, utc_column
from models.errors import Invalid


class Nation(StrEnum):
    england_and_wales = "england_and_wales"
    scotland = "scotland"
    northern_ireland = "northern_ireland"


DEFAULT_NATION = Nation.england_and_wales
# GOV.UK's division names, as they appear in the JSON.
DIVISIONS: Mapping[str, Nation] = {
    "england-and-wales": Nation.england_and_wales,
    "scotland": Nation.scotland,
    "northern-ireland": Nation.northern_ireland,
}


class BankHoliday(SQLModel, table=True):
    """One bank holiday of one nation (shared by every organisation: public data)."""

    __tablename__ = "bank_holidays"

    nation: str = Field(primary_key=True, max_length=20)
    day: date = Field(primary_key=True)
    title: str = Field(max_length=200)


class ClosureDay(TenantTable, table=True):
    """A day an organisation's offices are closed (not a working day for its deadlines)."""

    __tablename__ = "closure_days"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "day", name="uq_closure_days_day"),)

    day: date
    name: str = Field(max_length=200)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    created_at: datetime = utc_column()


@dataclass(frozen=True)
class Holiday:
    nation: Nation
    day: date
    title: str


def parse_govuk(data: Any) -> list[Holiday]:
    """The holidays in a GOV.UK bank-holidays document; Invalid (with every problem found) if
    it is not one. Unknown divisions are an error, so a wrong file is never half-read."""
    errors: list[dict[str, Any]] = []
    found: list[Holiday] = []
    if not isinstance(data, dict) or not data:
        raise Invalid("Not a GOV.UK bank-holidays document (an object keyed by division).")
    for key, division in data.items():
        nation = DIVISIONS.get(str(key))
        events = division.get("events") if isinstance(division, dict) else None
        if nation is None or not isinstance(events, list):
            errors.append(
                {"loc": [str(key)[:40]], "msg": "unknown division", "type": "value_error"}
            )
            continue
        for index, event in enumerate(events):
            try:
                day = date.fromisoformat(str(event["date"]))
                title = str(event["title"]).strip()[:200]
            except (KeyError, TypeError, ValueError):
                errors.append(
                    {
                        "loc": [key, "events", index],
                        "msg": "needs a date and a title",
                        "type": "value_error",
                    }
                )
                continue
            found.append(Holiday(nation, day, title or "Bank holiday"))
    if errors:
        raise Invalid(f"{len(errors)} problem(s) in the file; nothing was imported.", errors=errors)
    return found


def shipped_holidays() -> list[Holiday]:
    """The bank holidays shipped with this release (GOV.UK's file, 2024 onwards)."""
    text = resources.files("models").joinpath("data/bank-holidays.json").read_text("utf-8")
    return parse_govuk(json.loads(text))


async def replace_bank_holidays(session: AsyncSession, holidays: list[Holiday]) -> dict[str, int]:
    """Replace every day of each nation named in `holidays` (other nations are kept).
    Answers how many days each replaced nation now has."""
    counts: dict[str, int] = {}
    for nation in sorted({h.nation for h in holidays}):
        await session.exec(sa.delete(BankHoliday).where(col(BankHoliday.nation) == nation.value))
        days = {h.day: h.title for h in holidays if h.nation is nation}
        session.add_all(BankHoliday(nation=nation.value, day=d, title=t) for d, t in days.items())
        counts[nation.value] = len(days)
    await session.flush()
    return counts


async def non_working_days(
    session: AsyncSession, organisation_id: uuid.UUID, nation: Nation
) -> frozenset[date]:
    """The nation's bank holidays and the organisation's closure days (weekends are the
    engine's own rule), in one statement: every oversight view, report card and sweep loads
    them with the policy (`supervision.policy_store.load_policy`)."""
    days = sa.union_all(
        sa.select(col(BankHoliday.day)).where(col(BankHoliday.nation) == nation.value),
        sa.select(col(ClosureDay.day)).where(col(ClosureDay.organisation_id) == organisation_id),
    )
    connection = await session.connection()
    return frozenset((await connection.execute(days)).scalars())
