"""Reflective notes: private to their author, shared with their supervisor only by choice.

Who sees a note: its author, always; the person it was shared with, while it is shared and
while they are still the author's line supervisor (`staff.supervisor_id` at read time).
Nobody else: not managers, not HR, not admins (they get 404 like for a note that does not
exist). Every read by the supervisor is written to the author's access log.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.changes import ChangeOp, NewEntity, logs_with_insert, record_change
from models.crypto import KeyRing, open_json, seal_json
from models.db import in_transaction
from models.directory.service import load_active_actor
from models.directory.staff import Staff
from models.errors import Invalid, NotFound
from models.etag import require_match
from models.idempotent import create_once, create_once_as, new_row
from models.pagination import Keyset, keyset_page
from models.reflection import CONTENT_COLUMN, REFLECTIONS_TABLE, RESOURCE_TYPE, Reflection
from models.scope import supervisees
from supervision.reflections.schemas import (
    AgendaReflection,
    PromptPublic,
    ReflectionCreate,
    ReflectionExport,
    ReflectionPublic,
    ReflectionShare,
    ReflectionUpdate,
    TagPublic,
    TemplateCatalogue,
    TemplatePublic,
    public_body,
)
from supervision.reflections.templates import TAG_LABELS, TEMPLATES, ReflectionTag


def template_catalogue() -> TemplateCatalogue:
    return TemplateCatalogue(
        templates=[
            TemplatePublic(
                id=template,
                name=name,
                prompts=[PromptPublic(key=k, label=label) for k, label in prompts],
            )
            for template, (name, prompts) in TEMPLATES.items()
        ],
        tags=[
            TagPublic(id=tag, group=group, label=label)
            for tag, (group, label) in TAG_LABELS.items()
        ],
    )


# --- scoped statements --------------------------------------------------------------------


def _live(organisation_id: uuid.UUID) -> SelectOfScalar[Reflection]:
    return select(Reflection).where(
        col(Reflection.organisation_id) == organisation_id, col(Reflection.deleted_at).is_(None)
    )


def _shared_with(actor: Actor) -> sa.ColumnElement[bool]:
    """Shared with `actor`, who is still the author's line supervisor."""
    return sa.and_(
        col(Reflection.shared_with_id) == actor.id,
        col(Reflection.shared_at).is_not(None),
        col(Reflection.author_id).in_(supervisees(actor)),
    )


def readable_reflections(actor: Actor) -> SelectOfScalar[Reflection]:
    """Live notes the caller may read: their own, and those shared with them as supervisor."""
    return _live(actor.organisation_id).where(
        sa.or_(col(Reflection.author_id) == actor.id, _shared_with(actor))
    )


def own_reflections(actor: Actor) -> SelectOfScalar[Reflection]:
    """Live notes the caller may change: only their own."""
    return _live(actor.organisation_id).where(col(Reflection.author_id) == actor.id)


# --- sealing ------------------------------------------------------------------------------


def _seal(ring: KeyRing, note: Reflection, content: dict[str, Any]) -> str:
    return seal_json(ring, content, REFLECTIONS_TABLE, note.id, CONTENT_COLUMN)


def content_of(ring: KeyRing, note: Reflection | sa.Row[Any]) -> dict[str, Any] | None:
    if note.content is None:
        return None
    value: dict[str, Any] = open_json(
        ring, note.content, REFLECTIONS_TABLE, note.id, CONTENT_COLUMN
    )
    return value


def to_public(ring: KeyRing, note: Reflection) -> ReflectionPublic:
    return ReflectionPublic(**public_fields(ring, note))


# A stored note's tags are checked against these and written as they are (the values of
# `ReflectionTag`, as the template is its stored value): converting each to the enum, which
# the page's serialiser then turns back into its value, was a tenth of rendering a note.
_TAG_VALUES = frozenset(tag.value for tag in ReflectionTag)


def _stored_tags(tags: list[str]) -> list[str]:
    if not _TAG_VALUES.issuperset(tags):
        raise ValueError(f"a stored note has a tag that is not a ReflectionTag: {tags!r}")
    return tags


def public_fields(ring: KeyRing, note: Reflection | sa.Row[Any]) -> dict[str, Any]:
    """`ReflectionPublic`'s fields in its order, each of its field's type or the stored
    value it validates from (the template and tags: their enums' values), so the sync feed
    serialises them as they are and `to_public` builds the model from them. `note` may be
    the ORM row or a column row of the reflections table."""
    content = content_of(ring, note) or {}
    return {
        "id": note.id,
        "author_id": note.author_id,
        "template": note.template,
        "title": content.get("title", ""),
        "body": public_body(content.get("body", {})),
        "tags": _stored_tags(content.get("tags", [])),
        "mood": content.get("mood"),
        "shared": note.shared_at is not None,
        "bring_to_supervision": note.bring_to_supervision,
        "shared_at": note.shared_at,
        "version": note.version,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


# --- sync audience ------------------------------------------------------------------------


async def _current_supervisor(session: AsyncSession, note: Reflection) -> uuid.UUID | None:
    stmt = select(col(Staff.supervisor_id)).where(
        col(Staff.organisation_id) == note.organisation_id, col(Staff.id) == note.author_id
    )
    return (await session.exec(stmt)).first()


async def _audience(session: AsyncSession, note: Reflection) -> list[uuid.UUID]:
    audience = [note.author_id]
    if note.shared_at is not None and note.shared_with_id is not None:
        if await _current_supervisor(session, note) == note.shared_with_id:
            audience.append(note.shared_with_id)
    return audience


async def _changed(
    session: AsyncSession, note: Reflection, now: datetime, *, new: bool = False
) -> None:
    """Record the note's change for its readers' feeds. A `new` note was written by
    create_once (nothing to flush) and is shared with no one yet: its author alone."""
    if new:
        audience = [note.author_id]
    else:
        await session.flush()
        audience = await _audience(session, note)
    await record_change(
        session,
        note.organisation_id,
        RESOURCE_TYPE,
        note.id,
        ChangeOp.upsert,
        audience,
        now,
        owners=[note.author_id],
    )


# --- reads --------------------------------------------------------------------------------


async def log_if_not_mine(
    session: AsyncSession, actor: Actor, notes: Sequence[Reflection | sa.Row[Any]], now: datetime
) -> None:
    for note in notes:
        await record_access(
            session,
            actor,
            note.author_id,
            RESOURCE_TYPE,
            note.id,
            AccessReason.shared_with_me,
            now,
        )


async def get_reflection(
    session: AsyncSession, actor: Actor, reflection_id: uuid.UUID, now: datetime
) -> Reflection:
    """One note, if the caller may read it; a supervisor's read is logged for the author."""
    stmt = readable_reflections(actor).where(col(Reflection.id) == reflection_id)
    note = (await session.exec(stmt)).first()
    if note is None:
        raise NotFound("No such reflection.")
    await log_if_not_mine(session, actor, [note], now)
    return note


_NEWEST = Keyset[Reflection](
    col(Reflection.created_at), col(Reflection.id), lambda r: (r.created_at, r.id)
)


async def _page(
    session: AsyncSession, stmt: SelectOfScalar[Reflection], limit: int, cursor: str | None
) -> tuple[list[Reflection], str | None]:
    """Newest first by (created_at, id)."""
    return await keyset_page(session, stmt, _NEWEST, limit=limit, cursor=cursor)


async def list_my_reflections(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None
) -> tuple[list[Reflection], str | None]:
    return await _page(session, own_reflections(actor), limit, cursor)


async def list_shared_with_me(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None, now: datetime
) -> tuple[list[Reflection], str | None]:
    """Notes the caller's supervisees share with them now; each read is logged."""
    stmt = _live(actor.organisation_id).where(_shared_with(actor))
    rows, next_cursor = await _page(session, stmt, limit, cursor)
    await log_if_not_mine(session, actor, rows, now)
    return rows, next_cursor


# --- writes -------------------------------------------------------------------------------


async def create_reflection(
    session: AsyncSession, ring: KeyRing, actor: Actor, data: ReflectionCreate, now: datetime
) -> tuple[Reflection, bool]:
    """Create the note under the client's id; `(note, False)` when this exact create was
    already applied (a retry, `models.idempotent`), Conflict when the id is taken otherwise."""
    if not logs_with_insert(session):  # the insert, then its change: two writes
        await in_transaction(session)
    build, same, logs = _creation(ring, actor.organisation_id, actor.id, data, now)
    note, created = await create_once(
        session, Reflection, data.id, build=build, same=same, conflict=_TAKEN, logs=logs
    )
    if created and not logs_with_insert(session):  # else the insert logged it
        await _changed(session, note, now, new=True)
    return note, created


async def create_reflection_as(
    session: AsyncSession,
    ring: KeyRing,
    organisation_id: uuid.UUID,
    staff_id: uuid.UUID,
    data: ReflectionCreate,
    now: datetime,
) -> tuple[Reflection, bool] | None:
    """`create_reflection` by the person a verified token names, None (nothing written) when
    they are not an active member of that organisation. On PostgreSQL the note's INSERT
    checks that itself (`create_once_as`): a new note is one statement, with no read of the
    caller first; elsewhere the caller is read first."""
    if not logs_with_insert(session):
        actor = await load_active_actor(session, organisation_id, staff_id)
        return None if actor is None else await create_reflection(session, ring, actor, data, now)
    build, same, logs = _creation(ring, organisation_id, staff_id, data, now)
    return await create_once_as(
        session,
        Reflection,
        data.id,
        (organisation_id, staff_id),
        build=build,
        same=same,
        conflict=_TAKEN,
        logs=logs,
        attach=False,  # the route only reads it
    )


_TAKEN = "A different reflection already has this id."


def _creation(
    ring: KeyRing,
    organisation_id: uuid.UUID,
    author_id: uuid.UUID,
    data: ReflectionCreate,
    now: datetime,
) -> tuple[Callable[[], Awaitable[Reflection]], Callable[[Reflection], bool], NewEntity]:
    """`create_once`'s `build`, `same` and `logs` for a new note of `author_id`."""

    async def build() -> Reflection:
        content = seal_json(ring, data.content(), REFLECTIONS_TABLE, data.id, CONTENT_COLUMN)
        values = {
            "id": data.id,
            "organisation_id": organisation_id,
            "author_id": author_id,
            "template": data.template,
            "content": content,
            "created_at": now,
            "updated_at": now,
        }
        return new_row(Reflection, values)

    def same(existing: Reflection) -> bool:
        return (
            existing.organisation_id == organisation_id
            and existing.author_id == author_id
            and existing.deleted_at is None
            and existing.template == data.template
            and content_of(ring, existing) == data.content()
        )

    return build, same, NewEntity(RESOURCE_TYPE, author_id, now)


async def _own_locked(session: AsyncSession, actor: Actor, reflection_id: uuid.UUID) -> Reflection:
    stmt = own_reflections(actor).where(col(Reflection.id) == reflection_id).with_for_update()
    note = (await session.exec(stmt.execution_options(populate_existing=True))).first()
    if note is None:
        raise NotFound("No such reflection.")
    return note


async def update_reflection(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    reflection_id: uuid.UUID,
    data: ReflectionUpdate,
    if_match: str | None,
    now: datetime,
) -> Reflection:
    """Replace the note's content (author only, If-Match required)."""
    note = await _own_locked(session, actor, reflection_id)
    require_match(if_match, note.version)
    note.template = data.template
    note.content = _seal(ring, note, data.content())
    note.version += 1
    note.updated_at = now
    await _changed(session, note, now)
    return note


async def delete_reflection(
    session: AsyncSession,
    actor: Actor,
    reflection_id: uuid.UUID,
    if_match: str | None,
    now: datetime,
) -> None:
    """Leave a tombstone: the id, author and time stay, the content goes. Repeats succeed."""
    stmt = (
        select(Reflection)
        .where(
            col(Reflection.organisation_id) == actor.organisation_id,
            col(Reflection.author_id) == actor.id,
            col(Reflection.id) == reflection_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    note = (await session.exec(stmt)).first()
    if note is None:
        raise NotFound("No such reflection.")
    if note.deleted_at is not None:
        return
    if if_match is not None:
        require_match(if_match, note.version)
    audience = await _audience(session, note)
    note.content = None
    note.shared_with_id = None
    note.shared_at = None
    note.bring_to_supervision = False
    note.deleted_at = now
    note.updated_at = now
    note.version += 1
    await session.flush()
    await record_change(
        session,
        note.organisation_id,
        RESOURCE_TYPE,
        note.id,
        ChangeOp.delete,
        audience,
        now,
        owners=[note.author_id],
    )


async def share_reflection(
    session: AsyncSession,
    actor: Actor,
    reflection_id: uuid.UUID,
    data: ReflectionShare,
    now: datetime,
) -> Reflection:
    """Share the note with the author's current supervisor (repeat to change the flag)."""
    note = await _own_locked(session, actor, reflection_id)
    supervisor_id = await _current_supervisor(session, note)
    if supervisor_id is None:
        raise Invalid("You have no supervisor to share this reflection with.")
    previous = note.shared_with_id if note.shared_at is not None else None
    if previous != supervisor_id or note.shared_at is None:
        note.shared_at = now
    note.shared_with_id = supervisor_id
    note.bring_to_supervision = data.bring_to_supervision
    note.updated_at = now
    if previous is not None and previous != supervisor_id:
        await session.flush()
        await record_change(
            session, note.organisation_id, RESOURCE_TYPE, note.id, ChangeOp.delete, [previous], now
        )
    await _changed(session, note, now)
    return note


async def unshare_reflection(
    session: AsyncSession, actor: Actor, reflection_id: uuid.UUID, now: datetime
) -> Reflection:
    """Stop sharing; the supervisor's feed gets a tombstone. Unsharing twice is harmless."""
    note = await _own_locked(session, actor, reflection_id)
    if note.shared_at is None:
        return note
    previous = note.shared_with_id
    note.shared_with_id = None
    note.shared_at = None
    note.bring_to_supervision = False
    note.updated_at = now
    await _changed(session, note, now)
    if previous is not None:
        await record_change(
            session, note.organisation_id, RESOURCE_TYPE, note.id, ChangeOp.delete, [previous], now
        )
    return note


# --- for other parts of the product -------------------------------------------------------


async def agenda_reflections(
    session: AsyncSession,
    ring: KeyRing,
    reader: Actor,
    supervisee_id: uuid.UUID,
    supervisor_id: uuid.UUID,
    now: datetime,
) -> list[AgendaReflection]:
    """Notes the supervisee shared with `supervisor_id` and asked to bring to supervision,
    oldest first, as ids and titles (never bodies), for a supervision session's agenda.

    Only the supervisee and that supervisor (while still their line supervisor) get any;
    anyone else reading the session (a manager above) gets an empty list. A supervisor's
    read is written to the supervisee's access log.
    """
    if reader.id not in (supervisee_id, supervisor_id):
        return []
    stmt = (
        _live(reader.organisation_id)
        .join(
            Staff,
            sa.and_(
                col(Staff.id) == col(Reflection.author_id),
                col(Staff.organisation_id) == col(Reflection.organisation_id),
            ),
        )
        .where(
            col(Reflection.author_id) == supervisee_id,
            col(Reflection.shared_with_id) == supervisor_id,
            col(Reflection.shared_at).is_not(None),
            col(Reflection.bring_to_supervision).is_(True),
            col(Staff.supervisor_id) == supervisor_id,
        )
        .order_by(col(Reflection.shared_at), col(Reflection.id))
    )
    notes = list((await session.exec(stmt)).all())
    await log_if_not_mine(session, reader, notes, now)
    items = []
    for note in notes:
        content = content_of(ring, note) or {}
        assert note.shared_at is not None
        items.append(
            AgendaReflection(id=note.id, title=content.get("title", ""), shared_at=note.shared_at)
        )
    return items


async def export_reflections(
    session: AsyncSession, ring: KeyRing, actor: Actor
) -> list[ReflectionExport]:
    """Every note the caller wrote, deleted ones as tombstones, oldest first."""
    stmt = (
        select(Reflection)
        .where(
            col(Reflection.organisation_id) == actor.organisation_id,
            col(Reflection.author_id) == actor.id,
        )
        .order_by(col(Reflection.created_at), col(Reflection.id))
    )
    out = []
    for note in (await session.exec(stmt)).all():
        content = content_of(ring, note)
        out.append(
            ReflectionExport(
                id=note.id,
                template=note.template,
                title=content["title"] if content else None,
                body=public_body(content["body"]) if content else None,
                tags=[ReflectionTag(t) for t in content["tags"]] if content else None,
                mood=content["mood"] if content else None,
                shared_with_id=note.shared_with_id,
                shared_at=note.shared_at,
                bring_to_supervision=note.bring_to_supervision,
                created_at=note.created_at,
                updated_at=note.updated_at,
                deleted_at=note.deleted_at,
            )
        )
    return out
