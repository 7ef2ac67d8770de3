"""The privacy budget of the anonymised release (issue 14): pure, no database.

Every published period spends some rho (zero-concentrated differential privacy) for every
person, whether or not they took part: zCDP composes by addition, so the privacy loss of a
calendar year is the sum of the rho of every (measure, period) published in it. The ledger
(a list of Spends) is kept by the caller; `check` refuses a spend that would take a year
past its budget, or that would publish a period twice.

The guarantee does not depend on k, on the unit tree or on who asks: k only decides what is
displayed (post-processing), and a restructure changes nothing already published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from models.analytics.mechanism import Measure
from models.errors import Conflict, Invalid

DEFAULT_YEAR_RHO: float = 0.75
"""The default budget per person per calendar year, for all measures together: rho = 0.75
(zCDP), which implies (epsilon = 6.6, delta = 1e-6)-differential privacy. The smallest round
budget that meets issue 14's accuracy targets on a 2,000-staff council with a margin
(bench/bench_dp.py); docs/dp-mechanism.md says what it means in plain words."""

YEAR_RHO_MIN: float = 0.05
YEAR_RHO_MAX: float = 10.0
"""The range an organisation may set its own budget in (the settings API): from about a
fifteenth of the default (wide intervals, little shown) to about 13 times it (the demo's)."""

PERIOD_KINDS = ("month", "quarter")
QUARTER_WEIGHT = 6.0
"""A quarter gets QUARTER_WEIGHT times a month's rho: with 6, a measure's year is spent one third
on its 12 months and two thirds on its 4 quarters (quarterly figures are the ones that reach
down to directorates, role groups and tenure bands; monthly ones mostly serve the organisation)."""

PLAN_SLACK = 1e-12  # plan() rounds each period's rho down by this much, so float sums fit


class BudgetExhausted(Conflict):
    title = "Privacy budget exhausted"


class AlreadyPublished(Conflict):
    title = "Period already published"


@dataclass(frozen=True)
class Spend:
    measure: str
    period_kind: str  # "month" | "quarter"
    period_start: date
    rho: float


def plan(year_rho: float, measures: Sequence[Measure]) -> Mapping[tuple[str, str], float]:
    """rho for one period of each (measure, period_kind) so that 12 months + 4 quarters of every
    measure spend at most year_rho per person per calendar year.

    Measures share the year equally; within a measure a quarter gets QUARTER_WEIGHT times a
    month's rho."""
    if not year_rho > 0:
        raise Invalid("the yearly privacy budget must be positive")
    names = {m.name for m in measures}
    if len(names) != len(measures) or not names:
        raise Invalid("measures must be named once each")
    month = year_rho / len(names) / (12.0 + 4.0 * QUARTER_WEIGHT) * (1.0 - PLAN_SLACK)
    out: dict[tuple[str, str], float] = {}
    for name in sorted(names):
        out[(name, "month")] = month
        out[(name, "quarter")] = month * QUARTER_WEIGHT
    return out


def _valid(spend: Spend) -> None:
    if spend.period_kind not in PERIOD_KINDS:
        raise Invalid(f"unknown period kind {spend.period_kind!r}")
    start = spend.period_start
    if start.day != 1 or (spend.period_kind == "quarter" and start.month % 3 != 1):
        raise Invalid(f"{start} does not start a {spend.period_kind}")
    if not spend.rho > 0:
        raise Invalid("a spend's rho must be positive")


def spent_in(spent: Sequence[Spend], year: int) -> float:
    """rho per person spent on periods of one calendar year (a period's year is its start's)."""
    return sum(s.rho for s in spent if s.period_start.year == year)


def remaining(year_rho: float, spent: Sequence[Spend], year: int) -> float:
    return max(0.0, year_rho - spent_in(spent, year))


def check(year_rho: float, spent: Sequence[Spend], new: Spend) -> None:
    """Raises BudgetExhausted if `new` would take its year past year_rho, AlreadyPublished if
    its (measure, period) was spent before, Invalid if it is not a month or quarter."""
    _valid(new)
    key = (new.measure, new.period_kind, new.period_start)
    if any((s.measure, s.period_kind, s.period_start) == key for s in spent):
        raise AlreadyPublished(
            f"{new.measure} for the {new.period_kind} of {new.period_start} is already published"
        )
    total = spent_in(spent, new.period_start.year) + new.rho
    if total > year_rho:
        raise BudgetExhausted(
            f"publishing {new.measure} for the {new.period_kind} of {new.period_start} would "
            f"spend rho {total:.4g} in {new.period_start.year}, over the budget of {year_rho:.4g}"
        )
