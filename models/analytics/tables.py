"""The published anonymised release (issue 14): figures decided once, the privacy budget spent
on them, and the membership snapshot they were decided over.

Nothing here is ever updated: a period is decided once by the worker (or `harbour publish`)
and its rows are only read afterwards. See docs/wellbeing.md.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from models.base import TenantTable, utc_column


class PublishedFigure(TenantTable, table=True):
    """One node of one breakdown tree for one measure and period, with its noise.

    `count` and `mean`/`low`/`high` are the differentially private estimates (made consistent
    down the tree); `count_sd` is the count's noise after that post-processing, so the k
    display rule can be applied to any k later without new noise. `shown` and `k` record the
    decision under the k in force at publication; reads apply today's k to the same numbers
    (post-processing of public figures, which costs no privacy). `population` is the exact
    number of people in the membership snapshot under this node (staff, not check-ins; it is
    what participation divides by) and is null where a figure has no such denominator."""

    __tablename__ = "analytics_figures"
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id",
            "measure",
            "period_kind",
            "period_start",
            "tree",
            "node",
            name="uq_analytics_figures_cell",
        ),
        # The reads ask for one node's children (`parent`) of one measure, kind and tree
        # over a few periods (models/analytics/published.py); the unique key finds the node.
        sa.Index(
            "ix_analytics_figures_parent",
            "organisation_id",
            "measure",
            "period_kind",
            "tree",
            "parent",
            "period_start",
        ),
    )

    measure: str = Field(max_length=40)
    period_kind: str = Field(max_length=10)
    period_start: date
    tree: str = Field(max_length=20)  # unit | role | tenure_band
    node: str = Field(max_length=80)  # "org", a unit id, "<unit id>:direct", a group name
    parent: str | None = Field(default=None, max_length=80)
    label: str = Field(max_length=200)  # the node's name when it was published
    depth: int = Field(default=0)
    count: float
    count_sd: float
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    population: int | None = None
    shown: bool
    k: int
    published_at: datetime = utc_column()


class PrivacySpend(TenantTable, table=True):
    """The budget ledger: one row per measure and period, so no period is published twice."""

    __tablename__ = "analytics_budget_ledger"
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id",
            "measure",
            "period_kind",
            "period_start",
            name="uq_analytics_budget_ledger_period",
        ),
    )

    measure: str = Field(max_length=40)
    period_kind: str = Field(max_length=10)
    period_start: date
    rho: float
    spent_at: datetime = utc_column()


class MembershipSnapshot(TenantTable, table=True):
    """Who was in which group for one period, taken once when the period is first decided;
    every measure of that period (participation included) is grouped by it."""

    __tablename__ = "analytics_memberships"
    __table_args__ = (
        sa.UniqueConstraint(
            "organisation_id",
            "period_kind",
            "period_start",
            "staff_id",
            name="uq_analytics_memberships_person",
        ),
    )

    period_kind: str = Field(max_length=10)
    period_start: date
    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    unit_path: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    role_group: str = Field(max_length=20)
    tenure_band: str = Field(max_length=20)
    taken_at: datetime = utc_column()
