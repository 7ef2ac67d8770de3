"""`models.idempotent.create_once_as` when `build` refuses: the caller's refusal (None)
comes before the body's, and a repeat of a row already made still answers it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from models.changes import NewEntity
from models.errors import Conflict, Invalid
from models.idempotent import create_once_as
from models.reflection import RESOURCE_TYPE, Reflection, ReflectionTemplate
from tests.factories.directory import make_org, make_staff

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


async def _refused() -> Reflection:
    raise Invalid("The body no longer passes.")


async def test_a_refused_build_answers_the_caller_first_then_the_row(db: AsyncSession) -> None:
    org = await make_org(db, f"Council {uuid.uuid4()}", now=NOW)
    me = await make_staff(db, org, now=NOW)
    mine = Reflection(
        id=uuid.uuid4(),
        organisation_id=org.id,
        author_id=me.id,
        template=ReflectionTemplate.gibbs,
        created_at=NOW,
        updated_at=NOW,
    )
    db.add(mine)
    await db.flush()

    async def attempt(row_id: uuid.UUID, same: bool = True) -> tuple[Reflection, bool] | None:
        return await create_once_as(
            db,
            Reflection,
            row_id,
            (org.id, me.id),
            build=_refused,
            same=lambda _row: same,
            conflict="taken",
            logs=NewEntity(RESOURCE_TYPE, me.id, NOW),
        )

    assert await attempt(mine.id) == (mine, False)  # a repeat: the row it made
    with pytest.raises(Conflict):
        await attempt(mine.id, same=False)
    with pytest.raises(Invalid):  # no such row: the body's refusal
        await attempt(uuid.uuid4())
    me.active = False
    await db.flush()
    assert await attempt(mine.id) is None  # not active: refused before anything else
    assert await attempt(uuid.uuid4()) is None
