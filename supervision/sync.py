"""Reflective notes on the sync feed: how a note looks to each reader, and tombstones for
notes a reader lost sight of without the note changing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.changes import Change, ChangeOp, record_change
from models.crypto import KeyRing
from models.reflection import RESOURCE_TYPE, Reflection
from supervision.reflections import log_if_not_mine, readable_reflections, to_public


async def render_for_sync(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    ids: Sequence[uuid.UUID],
    now: datetime,
) -> Mapping[uuid.UUID, dict[str, Any]]:
    """The sync feed's view of these notes: those the caller may still read, as JSON."""
    stmt = readable_reflections(actor).where(col(Reflection.id).in_(ids))
    notes = list((await session.exec(stmt)).all())
    await log_if_not_mine(session, actor, [n for n in notes if n.author_id != actor.id], now)
    return {n.id: to_public(ring, n).model_dump(mode="json") for n in notes}


async def revoke_lost_shares(session: AsyncSession, actor: Actor, now: datetime) -> None:
    """Tombstone, on the caller's feed, shared notes they synced but may no longer read.

    Unsharing and deleting send tombstones themselves; this catches the rest, such as the
    author moving to another supervisor (a staff change this module never sees). It runs
    before each feed read and normally finds nothing.
    """
    readable = readable_reflections(actor).with_only_columns(col(Reflection.id))
    stmt = select(col(Change.entity_id)).where(
        col(Change.organisation_id) == actor.organisation_id,
        col(Change.staff_id) == actor.id,
        col(Change.entity_type) == RESOURCE_TYPE,
        col(Change.op) == ChangeOp.upsert.value,
        col(Change.entity_id).not_in(readable),
    )
    for entity_id in (await session.exec(stmt)).all():
        await record_change(
            session,
            actor.organisation_id,
            RESOURCE_TYPE,
            entity_id,
            ChangeOp.delete,
            [actor.id],
            now,
        )
