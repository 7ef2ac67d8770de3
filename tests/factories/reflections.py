"""Factories for reflective notes."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.crypto import KeyRing
from models.directory.service import actor_for
from models.directory.staff import Staff
from models.reflection import Reflection
from supervision.reflections.notes import create_reflection
from supervision.reflections.schemas import ReflectionCreate

if TYPE_CHECKING:
    pass


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
