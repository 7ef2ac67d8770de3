"""The one protocol for resources a phone creates offline under its own UUID.

The same id with the same body answers the existing resource (the route says 200), also
while the first create is still in flight on another connection; the same id with another
body (or someone else's row under that id) is a 409. Every offline-creatable resource
(reflections, check-ins, supervision sessions) goes through `create_once`.

How the race is closed: the row is written with `INSERT .. ON CONFLICT (id) DO NOTHING`.
On PostgreSQL a second insert of an id whose first insert is not yet committed waits for
that transaction; when it commits, the second does nothing and then reads the committed
row (each statement sees what was committed before it began). SQLite serialises writers.

The insert comes first and the existing row is read only when it conflicts: a first create
(nearly every create) costs one statement here, not a lookup and an insert. A repeat whose
body no longer passes `build` (the supervisor has changed since, say) still answers the
row it made: a domain error from `build` is raised only when no row has the id.

`create_once_as` also checks, in the INSERT itself, that the caller is still an active
member of their organisation (PostgreSQL): a new row from an active person is one
statement, with no read of the caller before it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic.fields import FieldInfo
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.changes import NewEntity, logged_insert, logged_params, logs_with_insert
from models.db import dialect_name
from models.directory.caller import CALLER_ACTIVE
from models.errors import Conflict, DomainError

T = TypeVar("T", bound=SQLModel)


async def create_once(
    session: AsyncSession,
    table: type[T],
    row_id: Any,  # the client's id; None when the server makes one (nothing to look up)
    *,
    build: Callable[[], Awaitable[T]],
    same: Callable[[T], bool],
    conflict: str,
    logs: NewEntity | None = None,
    attach: bool = True,
) -> tuple[T, bool]:
    """`(row, True)` when this call created it (`build` made it), `(existing, False)` when
    the id already names a row `same` accepts; Conflict(`conflict`) otherwise.

    `logs`: the new row's change on its owner's feed, written by the INSERT itself where
    `logs_with_insert` (PostgreSQL); elsewhere the caller records it. `attach=False`: a new
    row is answered as built (every column set) but not added to the session, for a
    caller that only reads it afterwards (adding it, as a persistent row, was 3-5% of a
    create's CPU); it must not be changed then, nor related to a row added later."""
    try:
        row = await build()
    except DomainError:
        existing = await session.get(table, row_id) if row_id is not None else None
        if existing is None:
            raise
        return _same_or_conflict(existing, same, conflict), False
    local_table, keys = _columns(table)
    values = {key: getattr(row, key) for key in keys}
    # A Core INSERT on the table (an ORM-enabled one runs the bulk-persistence machinery),
    # built once per table and database, the row's values passed as parameters.
    if logs is not None and logs_with_insert(session):
        stmt, params = logged_insert(local_table), logged_params(values, logs)
    else:
        stmt, params = _insert(local_table, dialect_name(session)), values
    if (await session.exec(stmt, params=params)).first() is not None:
        return _attached(session, row, keys, values, attach), True
    raced = await session.get(table, values["id"], populate_existing=True)
    if raced is None:  # pragma: no cover - a conflict on `id` means the row exists
        raise Conflict(conflict, kind="duplicate-id")
    return _same_or_conflict(raced, same, conflict), False


async def create_once_as(
    session: AsyncSession,
    table: type[T],
    row_id: uuid.UUID,
    caller: tuple[uuid.UUID, uuid.UUID],
    *,
    build: Callable[[], Awaitable[T]],
    same: Callable[[T], bool],
    conflict: str,
    logs: NewEntity,
    attach: bool = True,
) -> tuple[T, bool] | None:
    """`create_once` for `caller` (organisation id, staff id: a verified token's person),
    None when they are not an active member of that organisation, and then nothing is
    written. The INSERT (with its change, `logged_insert`) checks it itself, so a new row
    from an active person is one statement; only when nothing is written does a read tell
    "not active" from "the id is taken". PostgreSQL only (`logs_with_insert`); elsewhere
    read the caller first and call `create_once`."""
    who = {"organisation_id": caller[0], "staff_id": caller[1]}
    try:
        row = await build()
    except DomainError:
        existing = await _read_as(session, table, row_id, who)
        if existing is not None:
            return _same_or_conflict(existing, same, conflict), False
        if not (await session.exec(_IS_ACTIVE, params=who)).one():
            return None  # the caller's refusal comes first, as with a read before
        raise
    local_table, keys = _columns(table)
    values = {key: getattr(row, key) for key in keys}
    params = logged_params(values, logs) | who
    stmt = logged_insert(local_table, CALLER_ACTIVE)
    if (await session.exec(stmt, params=params)).first() is not None:
        return _attached(session, row, keys, values, attach), True
    # Nothing written: the caller is not active, or the id is taken. The row, read only
    # while the caller is active, tells which (were they active at the INSERT and the id
    # taken, but deactivated since, they are refused: they are gone now).
    existing = await _read_as(session, table, values["id"], who)
    if existing is None:
        return None
    return _same_or_conflict(existing, same, conflict), False


_IS_ACTIVE = select(CALLER_ACTIVE)


async def _read_as(
    session: AsyncSession, table: type[T], row_id: uuid.UUID, who: dict[str, uuid.UUID]
) -> T | None:
    """The row `row_id` (as committed now), if the caller in `who` is active."""
    local_table, _keys = _columns(table)
    stmt = select(table).where(local_table.c.id == row_id, CALLER_ACTIVE)
    return (await session.exec(stmt.execution_options(populate_existing=True), params=who)).first()


def _attached(
    session: AsyncSession, row: T, keys: tuple[str, ...], values: dict[str, Any], attach: bool
) -> T:
    """The row is in the database as written: every column set as loaded, without a re-read
    (what `build` set is committed as it stands; a column it never set, as None), and, if
    `attach`, in the session as a persistent row."""
    loaded = sa.inspect(row).dict
    for key in keys:
        if key not in loaded:
            set_committed_value(row, key, values[key])
    if attach:
        make_transient_to_detached(row)
        session.add(row)
    return row


def new_row(table: type[T], values: dict[str, Any]) -> T:
    """`table(**values)` for `create_once`'s `build`, made as the ORM makes a row it loads:
    the instance without `__init__`, its fields written to its `__dict__` (the values
    given; for the others, each field's default, as SQLModel's constructor sets them).
    SQLModel's constructor sets each attribute through SQLAlchemy's instrumented setter,
    recording history that `create_once` then commits away: about 6% of a check-in's CPU.
    Table models are not validated by their constructor either."""
    row: T = sa.inspect(table).class_manager.new_instance()
    fields = row.__dict__
    fields.update(values)
    for name, field in _defaulted(table):
        if name not in values:
            fields[name] = field.get_default(call_default_factory=True)
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row


@functools.cache
def _defaulted(table: type[SQLModel]) -> tuple[tuple[str, FieldInfo], ...]:
    """The table's fields that have a default (SQLModel's constructor sets these)."""
    return tuple((n, f) for n, f in table.model_fields.items() if not f.is_required())


@functools.cache
def _columns(table: type[SQLModel]) -> tuple[sa.Table, tuple[str, ...]]:
    """The table's Core table and the keys of its column attributes (read once)."""
    mapper = sa.inspect(table)
    return mapper.local_table, tuple(c.key for c in mapper.column_attrs)


@functools.cache
def _insert(table: sa.Table, dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)


def _same_or_conflict(existing: T, same: Callable[[T], bool], conflict: str) -> T:
    if not same(existing):
        raise Conflict(conflict, kind="duplicate-id")
    return existing
