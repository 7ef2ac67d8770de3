"""A harness for tests that need real commits (concurrency, several connections).

Apps and sessions over the real test database: every request commits for real, and the
organisations a test tracks are deleted at the end."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from api.settings import Settings
from models.db import create_session_factory, session_scope
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from models.group_supervision import GroupSession
from models.supervision import SupervisionSession
from tests.factories.directory import make_org, make_staff

if TYPE_CHECKING:
    from tests.conftest import FrozenClock


@dataclass
class Committed:
    """Apps and sessions over the real test database: every request commits for real."""

    engine: AsyncEngine
    settings: Settings
    clock: FrozenClock
    organisations: list[uuid.UUID] = field(default_factory=list)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return create_session_factory(self.engine)

    def app(self) -> FastAPI:
        return create_app(
            self.settings, session_factory=self.sessions, clock=self.clock, scheduler=False
        )

    def track(self, organisation: Organisation) -> None:
        self.organisations.append(organisation.id)

    async def cleanup(self) -> None:
        """Delete the tracked organisations and everything under them. Two foreign keys
        restrict what the cascade would otherwise reach in its own order (a session's
        supervisor, a group's facilitator, a unit's parent), so those rows are cleared
        first."""
        tracked = self.organisations
        async with session_scope(self.sessions) as session:
            await session.exec(
                sa.delete(SupervisionSession).where(
                    col(SupervisionSession.organisation_id).in_(tracked)
                )
            )
            await session.exec(
                sa.delete(GroupSession).where(col(GroupSession.organisation_id).in_(tracked))
            )
            await session.exec(
                sa.update(Unit).where(col(Unit.organisation_id).in_(tracked)).values(parent_id=None)
            )
            await session.exec(sa.delete(Organisation).where(col(Organisation.id).in_(tracked)))


async def committed_harness(
    engine: AsyncEngine, settings: Settings, clock: FrozenClock
) -> AsyncIterator[Committed]:
    harness = Committed(engine, settings, clock)
    try:
        yield harness
    finally:
        await harness.cleanup()


async def supervised_pair(committed: Committed) -> tuple[Organisation, Staff, Staff]:
    """A new organisation with a supervisor and a practitioner they supervise, committed
    (and deleted with the harness): (organisation, supervisor, supervisee)."""
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        supervisor = await make_staff(db, org, Role.supervisor, now=now)
        supervisee = await make_staff(db, org, supervisor=supervisor, now=now)
    return org, supervisor, supervisee
