"""Supervision on the sync feed: how notes, sessions and actions look to each reader, and
tombstones for what a reader lost sight of without the entity itself changing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.changes import MOVED_SINCE, MovedSince, Shown, text_ids, tombstone_unreadable
from models.crypto import KeyRing
from models.db import dialect_name, named_rows, per_database
from models.reflection import RESOURCE_TYPE, Reflection
from models.scope import BOUND_CALLER
from models.supervision import SupervisionAction, SupervisionSession
from supervision.access import readable_sessions
from supervision.actions import readable_actions
from supervision.changes import ACTION, SESSION
from supervision.reflections.notes import log_if_not_mine, public_fields, readable_reflections
from supervision.session_views import action_public, session_public
from supervision.sessions import open_session

_REFLECTIONS: sa.Table = Reflection.__table__  # type: ignore[attr-defined]
# A page's notes, built once (the caller bound late): plain columns, no ORM objects.
_PAGE = per_database(
    lambda in_list: (
        readable_reflections(BOUND_CALLER)
        .with_only_columns(*_REFLECTIONS.c)
        .where(in_list(col(Reflection.id), "ids"))
    )
)


# The same, answering the feed's "moved since read" too (PostgreSQL; `MovedSince`).
_PAGE_AND_MOVED = _PAGE["postgresql"].add_columns(MOVED_SINCE)


async def render_for_sync(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    ids: Sequence[uuid.UUID],
    now: datetime,
    moved: MovedSince | None = None,
) -> Mapping[uuid.UUID, BaseModel | Shown]:
    """The sync feed's view of these notes: those the caller may still read, read as plain
    columns (no ORM objects, and named tuples, not `Row`s: `named_rows`) and shown as their
    fields (`Shown`, serialised with the page).
    Given `moved`, the same statement answers it (a note's view is all in that statement)."""
    params = {"ids": list(ids), "org": actor.organisation_id, "me": actor.id}
    connection = await session.connection()
    if moved is not None:
        stmt = _PAGE_AND_MOVED
        params |= moved.params
    else:
        stmt = _PAGE[dialect_name(session)]
    notes = named_rows(await connection.execute(stmt, params))
    if moved is not None:
        moved.answer(notes)
    await log_if_not_mine(session, actor, [n for n in notes if n.author_id != actor.id], now)
    return {
        n.id: Shown(RESOURCE_TYPE, text_ids(public_fields(ring, n), "id", "author_id"))
        for n in notes
    }


async def revoke_lost_shares(session: AsyncSession, actor: Actor, now: datetime) -> bool:
    """Tombstone, on the caller's feed, shared notes they synced but may no longer read.

    Unsharing and deleting send tombstones themselves; this catches the rest, such as the
    author moving to another supervisor (a staff change this module never sees). It runs
    before each feed read and normally finds nothing.
    """
    readable = readable_reflections(actor).with_only_columns(col(Reflection.id))
    return await tombstone_unreadable(session, actor, RESOURCE_TYPE, readable, now)


async def render_sessions_for_sync(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    ids: Sequence[uuid.UUID],
    now: datetime,
) -> Mapping[uuid.UUID, BaseModel]:
    """Sessions the caller may still see, each as `GET /supervision/sessions/{id}` shows it
    to them (and logged as that read would be)."""
    stmt = readable_sessions(actor).where(col(SupervisionSession.id).in_(ids))
    rendered: dict[uuid.UUID, BaseModel] = {}
    for row in (await session.exec(stmt)).all():
        visible = await open_session(session, actor, row.id, now)
        public = await session_public(session, ring, visible.row, visible.audience)
        rendered[row.id] = public
    return rendered


async def render_actions_for_sync(
    session: AsyncSession, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
) -> Mapping[uuid.UUID, BaseModel]:
    """Actions the caller may still see."""
    del now
    stmt = readable_actions(actor).where(col(SupervisionAction.id).in_(ids))
    return {a.id: action_public(a) for a in (await session.exec(stmt)).all()}


async def revoke_lost_sessions(session: AsyncSession, actor: Actor, now: datetime) -> bool:
    """Tombstones for sessions and actions the caller synced but may no longer see (a
    supervisee moved to another supervisor, say): the same rule as for notes."""
    recorded = False
    for entity_type, readable in (
        (SESSION, readable_sessions(actor).with_only_columns(col(SupervisionSession.id))),
        (ACTION, readable_actions(actor).with_only_columns(col(SupervisionAction.id))),
    ):
        if await tombstone_unreadable(session, actor, entity_type, readable, now):
            recorded = True
    return recorded
