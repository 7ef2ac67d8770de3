"""Factories for the published release: privacy settings, a publisher run, the stored rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.analytics.tables import PrivacySpend, PublishedFigure
from models.directory.organisation import Organisation
from models.wellbeing import WellbeingSettings
from tests.factories.directory import now_of
from wellbeing.publish import Decided, publish_due

# A budget so large the noise is negligible: for tests about the plumbing, not the privacy.
PLAIN_RHO = 1e7


async def set_privacy(
    db: AsyncSession, org: Organisation, app: FastAPI, *, k: int = 5, year_rho: float | None = None
) -> None:
    db.add(
        WellbeingSettings(
            organisation_id=org.id, k_threshold=k, year_rho=year_rho, updated_at=now_of(app)
        )
    )
    await db.flush()


async def publish(
    db: AsyncSession, org: Organisation, app: FastAPI, since: date | None = None
) -> Decided:
    """What the worker does after a period ends (or `harbour publish --backfill-from`)."""
    return await publish_due(db, org.id, now_of(app), since=since)


async def stored(db: AsyncSession, org: Organisation) -> list[tuple[Any, ...]]:
    """Every published figure of `org`, every column, in a fixed order: to compare exactly."""
    rows = (
        await db.exec(
            select(PublishedFigure)
            .where(col(PublishedFigure.organisation_id) == org.id)
            .order_by(
                col(PublishedFigure.measure),
                col(PublishedFigure.period_kind),
                col(PublishedFigure.period_start),
                col(PublishedFigure.tree),
                col(PublishedFigure.node),
            )
        )
    ).all()
    return [tuple(r.model_dump().items()) for r in rows]


async def ledger(db: AsyncSession, org: Organisation) -> list[PrivacySpend]:
    return list(
        (
            await db.exec(select(PrivacySpend).where(col(PrivacySpend.organisation_id) == org.id))
        ).all()
    )


async def figure(
    db: AsyncSession, org: Organisation, measure: str, start: date, node: str, tree: str = "unit"
) -> PublishedFigure:
    found = (
        await db.exec(
            select(PublishedFigure).where(
                col(PublishedFigure.organisation_id) == org.id,
                col(PublishedFigure.measure) == measure,
                col(PublishedFigure.period_kind) == "month",
                col(PublishedFigure.period_start) == start,
                col(PublishedFigure.tree) == tree,
                col(PublishedFigure.node) == node,
            )
        )
    ).one()
    return found
