"""Reading the published release: stored figures only, with today's k display rule.

Shared by wellbeing (the analytics and oversight wellbeing reads) and supervision (the report
card), so it lives in `models`. Nothing here adds noise or decides anything: a period's
figures were decided once by the publisher (`wellbeing/publish.py`) and are only read here.

The k display rule is applied at read time to the stored noisy count and its standard
deviation. Both are published figures already (post-processing of a differentially private
release costs no privacy), so applying today's k instead of the k in force at publication
reveals nothing new; it only shows or hides the same stored numbers. See docs/privacy.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.analytics.mechanism import Z_INTERVAL, NoisyNode, displayable
from models.analytics.periods import ReleaseKind
from models.analytics.tables import PrivacySpend, PublishedFigure
from models.wellbeing import DEFAULT_K, MIN_K, WellbeingSettings

# The measures the publisher releases (names in the budget ledger and the figures table).
WELLBEING = "wellbeing"  # the pulse's primary measure; its count is participation too
FEEDBACK_HELPFUL = "feedback_helpful"
FEEDBACK_FELT_SAFE = "feedback_felt_safe"
INCIDENTS = "incidents"  # critical incidents per person (count of people: the population)

ROOT = "org"  # the root node of every tree: the whole organisation
DIRECT = ":direct"  # suffix of the leaf holding the people directly in a unit with sub-units

# Plain words for a figure that is not shown.
NOT_PUBLISHED = "not published yet: a period is published a few days after it ends"
TOO_FEW = "too few people to show: fewer than k, allowing for the noise"
NO_ONE = "no one was in this group in this period"


async def display_k(session: AsyncSession, organisation_id: uuid.UUID) -> int:
    """The organisation's k for the display rule (default 10, never below 5): the one reader
    of k, used by the wellbeing reads, the report card and the publisher."""
    found = (
        await session.exec(
            select(col(WellbeingSettings.k_threshold)).where(
                col(WellbeingSettings.organisation_id) == organisation_id
            )
        )
    ).first()
    return max(int(found), MIN_K) if found is not None else DEFAULT_K


@dataclass(frozen=True, slots=True)
class Shown:
    """One published figure as a reader sees it under today's k: numbers only when shown."""

    period: date
    node: str
    parent: str | None
    label: str
    n: int | None
    n_low: int | None  # the count's 95% interval
    n_high: int | None
    mean: float | None
    low: float | None
    high: float | None
    population: int | None
    suppressed: bool
    reason: str | None


def is_shown(row: PublishedFigure, k: int) -> bool:
    node = NoisyNode(
        tree=row.tree,
        node=row.node,
        count=row.count,
        count_sd=row.count_sd,
        total=None,
        total_sd=None,
    )
    return displayable(node, k)


def shown(row: PublishedFigure, k: int) -> Shown:
    """The stored figure under the k display rule; rounding is for display only."""
    if not is_shown(row, k):
        return Shown(
            row.period_start,
            row.node,
            row.parent,
            row.label,
            None,
            None,
            None,
            None,
            None,
            None,
            row.population,
            True,
            TOO_FEW,
        )
    return Shown(
        row.period_start,
        row.node,
        row.parent,
        row.label,
        round(row.count),
        max(0, round(row.count - Z_INTERVAL * row.count_sd)),
        round(row.count + Z_INTERVAL * row.count_sd),
        None if row.mean is None else round(row.mean, 2),
        None if row.low is None else round(row.low, 2),
        None if row.high is None else round(row.high, 2),
        row.population,
        False,
        None,
    )


def unpublished(period: date, node: str, label: str) -> Shown:
    return Shown(
        period, node, None, label, None, None, None, None, None, None, None, True, NOT_PUBLISHED
    )


async def published_rows(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    measure: str,
    kind: ReleaseKind,
    tree: str,
    scope: str,
    starts: Sequence[date],
) -> tuple[list[PublishedFigure], set[date]]:
    """The stored figures of one node of a tree (`scope`) and of its children for the given
    periods (index order; `ix_analytics_figures_parent`), and which of those periods are
    published (in the ledger: a published period may hold no one under `scope`). Only the
    slice asked for is read, never the whole tree (5,000 staff: about 700 unit nodes a
    period)."""
    if not starts:
        return [], set()
    figure = PublishedFigure
    stmt = (
        select(figure)
        .where(
            col(figure.organisation_id) == organisation_id,
            col(figure.measure) == measure,
            col(figure.period_kind) == kind.value,
            col(figure.period_start).in_(list(starts)),
            col(figure.tree) == tree,
            or_(col(figure.node) == scope, col(figure.parent) == scope),
        )
        .order_by(col(figure.period_start), col(figure.depth), col(figure.label), col(figure.node))
    )
    rows = list((await session.exec(stmt)).all())
    return rows, await decided_periods(session, organisation_id, measure, kind, starts)


async def decided_periods(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    measure: str,
    kind: ReleaseKind,
    starts: Sequence[date],
) -> set[date]:
    """Which of the given periods of a measure are published (their ledger row exists: the
    figures and the ledger row are stored in one transaction)."""
    return set(
        (
            await session.exec(
                select(col(PrivacySpend.period_start)).where(
                    col(PrivacySpend.organisation_id) == organisation_id,
                    col(PrivacySpend.measure) == measure,
                    col(PrivacySpend.period_kind) == kind.value,
                    col(PrivacySpend.period_start).in_(list(starts)),
                )
            )
        ).all()
    )


async def node_figures(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    measure: str,
    kind: ReleaseKind,
    node: str,
    starts: Sequence[date],
    k: int,
) -> dict[date, Shown]:
    """One unit-tree node's figure for each period (unpublished periods answer so)."""
    rows = await session.exec(
        select(PublishedFigure).where(
            col(PublishedFigure.organisation_id) == organisation_id,
            col(PublishedFigure.measure) == measure,
            col(PublishedFigure.period_kind) == kind.value,
            col(PublishedFigure.period_start).in_(list(starts)),
            col(PublishedFigure.tree) == "unit",
            col(PublishedFigure.node) == node,
        )
    )
    found = {r.period_start: shown(r, k) for r in rows.all()}
    decided = await decided_periods(session, organisation_id, measure, kind, starts)
    answer: dict[date, Shown] = {}
    for start in starts:
        if start in found:
            answer[start] = found[start]
        elif start in decided:  # published, but the unit held no one then
            answer[start] = Shown(
                start, node, None, "", None, None, None, None, None, None, 0, True, NO_ONE
            )
        else:
            answer[start] = unpublished(start, node, "")
    return answer
