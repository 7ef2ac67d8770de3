"""The privacy budget's accounting (issue 14): pure unit tests, no database."""

from __future__ import annotations

from datetime import date

import pytest

from models.analytics.budget import (
    DEFAULT_YEAR_RHO,
    AlreadyPublished,
    BudgetExhausted,
    Spend,
    check,
    plan,
    remaining,
)
from models.analytics.mechanism import Measure
from models.errors import DomainError, Invalid

MEASURES = [
    Measure("wellbeing", 5.0, 25.0),
    Measure("feedback_helpful", 1.0, 5.0),
    Measure("incidents", 0.0, 1.0, has_value=False),
]


def a_year(year: int, year_rho: float) -> list[Spend]:
    rhos = plan(year_rho, MEASURES)
    spends = []
    for m in MEASURES:
        for month in range(1, 13):
            spends.append(Spend(m.name, "month", date(year, month, 1), rhos[(m.name, "month")]))
        for month in (1, 4, 7, 10):
            spends.append(Spend(m.name, "quarter", date(year, month, 1), rhos[(m.name, "quarter")]))
    return spends


def test_a_planned_year_fits_its_budget_exactly() -> None:
    spent: list[Spend] = []
    for spend in a_year(2026, DEFAULT_YEAR_RHO):
        check(DEFAULT_YEAR_RHO, spent, spend)
        spent.append(spend)
    assert remaining(DEFAULT_YEAR_RHO, spent, 2026) == pytest.approx(0.0, abs=1e-9)
    assert remaining(DEFAULT_YEAR_RHO, spent, 2027) == DEFAULT_YEAR_RHO


def test_a_spend_past_the_budget_is_refused() -> None:
    spent = a_year(2026, 1.0)
    extra = Spend("another", "month", date(2026, 3, 1), 1e-6)
    with pytest.raises(BudgetExhausted) as caught:
        check(1.0, spent, extra)
    assert isinstance(caught.value, DomainError)
    check(1.0, spent, Spend("another", "month", date(2027, 3, 1), 0.5))  # next year is fresh


def test_a_period_is_published_once() -> None:
    spent = [Spend("wellbeing", "month", date(2026, 3, 1), 0.01)]
    with pytest.raises(AlreadyPublished):
        check(1.0, spent, Spend("wellbeing", "month", date(2026, 3, 1), 0.01))
    check(1.0, spent, Spend("wellbeing", "quarter", date(2026, 1, 1), 0.01))


@pytest.mark.parametrize(
    "spend",
    [
        Spend("wellbeing", "week", date(2026, 3, 2), 0.01),
        Spend("wellbeing", "month", date(2026, 3, 2), 0.01),
        Spend("wellbeing", "quarter", date(2026, 2, 1), 0.01),
        Spend("wellbeing", "month", date(2026, 3, 1), 0.0),
    ],
)
def test_malformed_spends_are_invalid(spend: Spend) -> None:
    with pytest.raises(Invalid):
        check(1.0, [], spend)


def test_plan_shares_the_year_between_measures_and_periods() -> None:
    rhos = plan(3.0, MEASURES)
    assert set(rhos) == {(m.name, k) for m in MEASURES for k in ("month", "quarter")}
    for m in MEASURES:
        per_measure = 12 * rhos[(m.name, "month")] + 4 * rhos[(m.name, "quarter")]
        assert per_measure == pytest.approx(1.0)
    with pytest.raises(Invalid):
        plan(0.0, MEASURES)
    with pytest.raises(Invalid):
        plan(1.0, [MEASURES[0], MEASURES[0]])
