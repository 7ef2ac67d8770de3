"""Periods and the fixed groupings of the anonymised release: pure, no database.

Moved here from the old release engine (models/disclosure.py) when issue 14 replaced it:
the role group and tenure band a person is counted in, and period arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum


class PeriodKind(StrEnum):
    """Any period a personal trend may use (a person's own figures are not released)."""

    week = "week"
    month = "month"
    quarter = "quarter"


class ReleaseKind(StrEnum):
    """The periods the anonymised release publishes: weeks are not published (issue 14)."""

    month = "month"
    quarter = "quarter"


class Breakdown(StrEnum):
    unit = "unit"
    role = "role"
    tenure_band = "tenure_band"


ROLE_GROUPS = ("manager", "supervisor", "practitioner", "other")
TENURE_BANDS = ("under_1_year", "1_to_2_years", "2_to_5_years", "5_years_plus")


def role_group(roles: Iterable[str]) -> str:
    """One group per person so that the role breakdown is a partition: the most senior of
    manager, supervisor, practitioner; `other` for anyone else (hr or admin only)."""
    held = set(roles)
    return next((r for r in ROLE_GROUPS[:-1] if r in held), "other")


def tenure_band(started_on: date, on: date) -> str:
    """Whole years of service on `on`: under 1, 1 to 2, 2 to 5, 5 or more."""
    years = on.year - started_on.year - ((on.month, on.day) < (started_on.month, started_on.day))
    if years < 1:
        return TENURE_BANDS[0]
    if years < 2:
        return TENURE_BANDS[1]
    if years < 5:
        return TENURE_BANDS[2]
    return TENURE_BANDS[3]


def period_start(kind: PeriodKind | ReleaseKind, day: date) -> date:
    if kind == PeriodKind.week:
        return day - timedelta(days=day.weekday())
    if kind == PeriodKind.month:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_end(kind: PeriodKind | ReleaseKind, start: date) -> date:
    """The first day after the period."""
    if kind == PeriodKind.week:
        return start + timedelta(days=7)
    months = 1 if kind == PeriodKind.month else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def periods(kind: PeriodKind | ReleaseKind, first: date, last: date) -> list[date]:
    """Starts of the periods of `kind` that touch [first, last]."""
    found: list[date] = []
    start = period_start(kind, first)
    while start <= last:
        found.append(start)
        start = period_end(kind, start)
    return found


def previous_period(kind: PeriodKind | ReleaseKind, start: date) -> date:
    return period_start(kind, start - timedelta(days=1))
