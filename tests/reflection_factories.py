"""Factories for reflective notes and a harness for tests that need real commits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from api.settings import Settings
from models.crypto import KeyRing
from models.db import create_session_factory, session_scope
from models.directory import actor_for
from models.organisation import Organisation, Unit
from models.reflection import Reflection, ReflectionCreate
from models.staff import Staff
from models.supervision import SupervisionSession
from supervision.reflections import create_reflection

if TYPE_CHECKING:
    from tests.conftest import FrozenClock


def note_body(
    *, id: uuid.UUID | None = None, title: str = "A hard visit", **overrides: Any
) -> dict[str, Any]:
    """A create body as the phone sends it (gibbs template)."""
    body: dict[str, Any] = {
        "id": str(id or uuid.uuid4()),
        "template": "gibbs",
        "title": title,
        "body": {
            "description": "The home visit to the family on Elm Street went badly.",
            "feelings": "I felt anxious and unheard.",
        },
        "tags": ["compassion", "voice_of_the_child"],
        "mood": 2,
    }
    body.update(overrides)
    return body


async def make_reflection(
    db: AsyncSession, ring: KeyRing, author: Staff, now: Any, **overrides: Any
) -> Reflection:
    data = ReflectionCreate.model_validate(note_body(**overrides))
    note, _ = await create_reflection(db, ring, actor_for(author), data, now)
    return note


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
        supervisor, a unit's parent), so those rows are cleared first."""
        tracked = self.organisations
        async with session_scope(self.sessions) as session:
            await session.exec(
                sa.delete(SupervisionSession).where(
                    col(SupervisionSession.organisation_id).in_(tracked)
                )
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
