"""The change log behind `GET /sync`: one server-assigned sequence per organisation.

How a domain plugs in (reflections do; sessions, actions, notifications, check-ins will):

1. In the transaction that changes an entity, once every row lock it needs is taken, call
   `record_change(session, organisation_id, "<type>", entity_id, ChangeOp.upsert|delete,
   audience, now, owners=...)`, where `audience` is every staff member whose feed should carry
   the change (the author; a supervisor it is shared with; ...) and `owners` those of them
   who can never lose sight of the entity while it exists (its author, its owner: people
   named in columns that never change). Someone who just lost sight of the entity (a note
   un-shared from a supervisor) gets `ChangeOp.delete`: their tombstone. An entity made by
   `create_once` may pass `logs=NewEntity(...)` for its owner's change instead: on
   PostgreSQL the INSERT writes it (`logs_with_insert`), and the rest of the audience, if
   any, is recorded as above.
2. Provide a renderer `async (session, actor, ids, now) -> {id: data}` giving the current
   JSON of the ids the actor may *still* see (missing ids are sent as tombstones), and
   record access for anything that is someone else's data.
3. Add `"<type>": renderer` to the feed's renderers in `api/routes/sync.py`.
4. If a reader can lose sight of an entity without the entity changing (someone else's
   supervisor changes), add a reconciler there too (see `Reconciler`). Reconcilers only
   ever look at rows not marked `owned`, and a feed read runs none of them when the reader
   has no such row (a practitioner's feed is nearly all their own entities).

Sequencing. A change's number comes from the organisation's row in `change_counters`,
incremented with an UPDATE whose row lock is held until the transaction commits or rolls
back. A second writer in the same organisation waits on the lock, so sequence numbers are
handed out and committed in the same order, with no gaps (a rolled-back increment is undone).
A reader that sees sequence n therefore already sees everything below n: a cursor `seq > n`
never skips a change that commits later. The log keeps one row per (reader, entity), moved
to the newest sequence on every change, so a page never repeats an entity unless it changed
again.

When the increment happens: on SQLite (which serialises writers anyway) `record_change`
takes the number itself, so it is called last in a transaction. On PostgreSQL it writes the
rows with seq 0 (`UNASSIGNED`) and a deferred constraint trigger (migration 0014) takes the
number at COMMIT: the counter's lock is held for the commit alone, not from the write
through the rest of the request and the round trip to commit, which made every write in an
organisation queue behind the slowest (docs/PERFORMANCE.md). Code that must see the numbers
inside its own transaction calls `assign_now`. See docs/reflections-and-sync.md.
"""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.base import TenantTable, new_id, utc_column
from models.db import (
    ReadMostly,
    insert_for,
    is_postgresql,
    named_rows,
    per_database,
    read_keeping,
    read_mostly,
    read_once,
)
from models.directory.caller import ACTOR_COLUMNS, CALLER_IS_ACTIVE, actor_of
from models.errors import Invalid
from models.pagination import decode_cursor

# The seq of a change row whose number its commit will assign (PostgreSQL; see above).
UNASSIGNED = 0


class ChangeOp(StrEnum):
    upsert = "upsert"
    delete = "delete"


class ChangeCounter(SQLModel, table=True):
    """The last change sequence handed out in an organisation (its lock orders commits)."""

    __tablename__ = "change_counters"

    organisation_id: uuid.UUID = Field(
        primary_key=True, foreign_key="organisations.id", ondelete="CASCADE"
    )
    last_seq: int = Field(default=0, sa_type=sa.BigInteger())


class Change(TenantTable, table=True):
    """The newest change to one entity as one reader's feed sees it."""

    __tablename__ = "changes"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "staff_id", "entity_type", "entity_id"),
        sa.Index("ix_changes_org_staff_seq", "organisation_id", "staff_id", "seq"),
        # The rows reconcilers look at: a feed read asks whether the reader has any.
        sa.Index(
            "ix_changes_org_staff_unowned",
            "organisation_id",
            "staff_id",
            postgresql_where=sa.text("NOT owned"),
            sqlite_where=sa.text("NOT owned"),
        ),
    )

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    entity_type: str = Field(max_length=40)
    entity_id: uuid.UUID
    op: ChangeOp = Field(sa_type=sa.String(10))
    seq: int = Field(sa_type=sa.BigInteger())
    at: datetime = utc_column()
    # The reader can never lose sight of the entity while it exists (its author or owner):
    # reconcilers skip the row. Rows from before this column are False (reconciled).
    owned: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


_CHANGES: sa.Table = Change.__table__  # type: ignore[attr-defined]

# A feed page: plain columns (no ORM objects), built once with its parameters bound late.
_PAGE = (
    sa.select(
        col(Change.id),
        col(Change.entity_type),
        col(Change.entity_id),
        col(Change.op),
        col(Change.seq),
    )
    .where(
        col(Change.organisation_id) == sa.bindparam("organisation_id", type_=sa.Uuid()),
        col(Change.staff_id) == sa.bindparam("staff_id", type_=sa.Uuid()),
        col(Change.seq) > sa.bindparam("after", type_=sa.BigInteger()),
    )
    .order_by(col(Change.seq))
    .limit(sa.bindparam("rows", type_=sa.Integer()))
)

# Whether the reader's feed holds a row a reconciler could act on: an upsert they do not own.
_UNOWNED = sa.exists().where(
    col(Change.organisation_id) == sa.bindparam("organisation_id", type_=sa.Uuid()),
    col(Change.staff_id) == sa.bindparam("staff_id", type_=sa.Uuid()),
    sa.not_(col(Change.owned)),
    col(Change.op) == ChangeOp.upsert.value,
)

# The caller, the page and that question in one statement (an up-to-date phone's only
# read): rows in seq order, the caller's own row first (seq -2: the columns an `Actor` is
# made of, if they are still an active member of the organisation; no such row if not),
# then, when the reader has a row a reconciler could act on, a row saying so (seq -1: one
# probe of `ix_changes_org_staff_unowned`), then the page's rows. Each branch is scoped by
# organisation and reader; the page's branch comes first, so its columns give the result
# its types.
_CALLER_MARK = -2
_RECONCILE_MARK = -1
_PAGE_ROWS = _PAGE.subquery("page")
_CALLER_COLUMNS = [
    sa.type_coerce(sa.null(), column.type).label(f"caller_{column.name}")
    for column in ACTOR_COLUMNS[1:]
]
_CALLER_AND_PAGE: sa.CompoundSelect[*tuple[Any, ...]] = sa.union_all(
    sa.select(
        _PAGE_ROWS.c.id,
        _PAGE_ROWS.c.entity_type,
        _PAGE_ROWS.c.entity_id,
        _PAGE_ROWS.c.op,
        _PAGE_ROWS.c.seq,
        *_CALLER_COLUMNS,
    ),
    sa.select(
        ACTOR_COLUMNS[0],
        sa.null(),
        sa.null(),
        sa.null(),
        sa.literal(_CALLER_MARK, sa.BigInteger()),
        *ACTOR_COLUMNS[1:],
    ).where(CALLER_IS_ACTIVE),
    sa.select(
        sa.null(),
        sa.null(),
        sa.null(),
        sa.null(),
        sa.literal(_RECONCILE_MARK, sa.BigInteger()),
        *(sa.null() for _ in ACTOR_COLUMNS[1:]),
    ).where(_UNOWNED),
).order_by(sa.literal_column("seq"))


# Those of a page's rows that moved to a later change since the page was read (built once;
# see `_moved_since`).
_MOVED = per_database(
    lambda in_list: sa.select(col(Change.id)).where(
        col(Change.organisation_id) == sa.bindparam("organisation_id", type_=sa.Uuid()),
        col(Change.staff_id) == sa.bindparam("staff_id", type_=sa.Uuid()),
        in_list(col(Change.id), "ids"),
        col(Change.seq) > sa.bindparam("last", type_=sa.BigInteger()),
    )
)


# The same question asked inside a renderer's own statement, as one more column of it
# (PostgreSQL): the ids of those rows, as an array (NULL when none), every row of the
# render carrying the same answer. The statement reads its snapshot once, so when the last
# render of a page carries it, the answer covers everything rendered before it too: a
# statement fewer a page (see `MovedSince`). Its parameters are `MovedSince.params`.
MOVED_SINCE: sa.Label[Any] = per_database(
    lambda in_list: (
        sa.select(sa.func.array_agg(col(Change.id)))
        .where(
            col(Change.organisation_id) == sa.bindparam("moved_org", type_=sa.Uuid()),
            col(Change.staff_id) == sa.bindparam("moved_staff", type_=sa.Uuid()),
            in_list(col(Change.id), "moved_ids"),
            col(Change.seq) > sa.bindparam("moved_last", type_=sa.BigInteger()),
        )
        .scalar_subquery()
        .label("moved_since")
    )
)["postgresql"]


async def next_seq(session: AsyncSession, organisation_id: uuid.UUID, count: int = 1) -> int:
    """Take the organisation's next `count` sequence numbers (returns the last of them); the
    counter's lock is held until commit."""
    bump = (
        sa.update(ChangeCounter)
        .where(col(ChangeCounter.organisation_id) == organisation_id)
        .values(last_seq=col(ChangeCounter.last_seq) + count)
        .returning(col(ChangeCounter.last_seq))
    )
    seq = (await session.exec(bump)).scalar_one_or_none()
    if seq is None:
        await _create_counter(session, organisation_id)
        seq = (await session.exec(bump)).scalar_one()
    return int(seq)


async def record_change(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    op: ChangeOp,
    audience_staff_ids: Iterable[uuid.UUID],
    now: datetime,
    *,
    owners: Iterable[uuid.UUID] = (),
) -> int | None:
    """Put a change to `entity_id` on each audience member's feed; returns its sequence on
    SQLite, None on PostgreSQL (numbered at commit).

    `owners`: the audience members who always see the entity (their rows are `owned`).
    Call it after the transaction's other row locks are taken (see the module docstring).
    """
    audience = list(dict.fromkeys(audience_staff_ids))
    owning = set(owners)
    if not audience:
        return None
    rows = [
        {"id": new_id(), "staff_id": staff_id, "owned": staff_id in owning} for staff_id in audience
    ]
    common = {
        "organisation_id": organisation_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "op": op.value,
        "at": now,
    }
    if is_postgresql(session):
        # One statement; the number is taken at commit (the deferred trigger).
        params = [{**common, **row, "seq": UNASSIGNED} for row in rows]
        await session.exec(_UPSERT["postgresql"], params=params)
        return None
    seq = await next_seq(session, organisation_id)
    params = [{**common, **row, "seq": seq} for row in rows]
    await session.exec(_UPSERT["sqlite"], params=params)
    return seq


def _upsert(stmt: Any) -> Any:
    """Move an existing (reader, entity) row to the new change rather than add one."""
    return stmt.on_conflict_do_update(
        index_elements=["organisation_id", "staff_id", "entity_type", "entity_id"],
        set_={
            "op": stmt.excluded.op,
            "seq": stmt.excluded.seq,
            "at": stmt.excluded.at,
            "owned": stmt.excluded.owned,
        },
    )


# Built once per dialect and run with one parameter set per reader: a multi-row VALUES
# statement has no SQLAlchemy cache key, so it was compiled anew on every change.
_UPSERT = {
    "postgresql": _upsert(postgresql.insert(_CHANGES)),
    "sqlite": _upsert(sqlite.insert(_CHANGES)),
}


@dataclass(frozen=True, slots=True)
class NewEntity:
    """A new entity's change on its owner's feed (upsert, `owned`), for the statement that
    inserts the entity to log (`create_once`; see `logs_with_insert`)."""

    entity_type: str
    owner_id: uuid.UUID
    at: datetime


def logs_with_insert(session: AsyncSession) -> bool:
    """Whether `create_once` logs a `NewEntity`'s change in its INSERT (PostgreSQL: a
    data-modifying CTE, one statement and round trip fewer for every offline create). On
    SQLite, whose change takes the counter first (`next_seq`), the caller records it with
    `record_change` as for any change."""
    return is_postgresql(session)


_LOGGED_COLUMNS = ("id", "organisation_id", "staff_id", "entity_type", "entity_id", "op", "seq")


@functools.cache
def logged_insert(table: sa.Table, only_if: sa.ColumnElement[bool] | None = None) -> Any:
    """PostgreSQL: `INSERT .. ON CONFLICT (id) DO NOTHING` of a new entity into `table`, and
    the `NewEntity` change for its owner, in one statement; a row comes back only when the
    entity was inserted. Parameters: the entity's columns, each as `v_<key>`, and
    `change_id`, `change_owner`, `change_type`, `change_at`. The change row takes the
    entity's id and organisation from what the insert returns (numbered at commit by the
    deferred trigger, as `record_change`'s are). Built once per table (and condition).

    `only_if`: a condition the same statement checks (`INSERT .. SELECT .. WHERE`, with
    its own parameters): when false nothing is written, as on a conflict."""
    values = {c: sa.bindparam(f"v_{c.key}", type_=c.type) for c in table.c}
    entity = postgresql.insert(table)
    if only_if is None:
        entity = entity.values(values)
    else:
        entity = entity.from_select(list(values), sa.select(*values.values()).where(only_if))
    created = (
        entity.on_conflict_do_nothing(index_elements=["id"])
        .returning(table.c.id, table.c.organisation_id)
        .cte(f"created_{table.name}")
    )
    change = sa.select(
        sa.bindparam("change_id", type_=_CHANGES.c.id.type),
        created.c.organisation_id,
        sa.bindparam("change_owner", type_=_CHANGES.c.staff_id.type),
        sa.bindparam("change_type", type_=_CHANGES.c.entity_type.type),
        created.c.id,
        sa.literal(ChangeOp.upsert.value, type_=_CHANGES.c.op.type),
        sa.literal(UNASSIGNED, type_=_CHANGES.c.seq.type),
        sa.bindparam("change_at", type_=_CHANGES.c.at.type),
        sa.true(),
    ).select_from(created)
    insert = postgresql.insert(_CHANGES).from_select([*_LOGGED_COLUMNS, "at", "owned"], change)
    return _upsert(insert).returning(_CHANGES.c.entity_id)


def logged_params(values: Mapping[str, Any], entity: NewEntity) -> dict[str, Any]:
    """`logged_insert`'s parameters for an entity of these column values."""
    params = {f"v_{key}": value for key, value in values.items()}
    params["change_id"] = new_id()
    params["change_owner"] = entity.owner_id
    params["change_type"] = entity.entity_type
    params["change_at"] = entity.at
    return params


async def assign_now(session: AsyncSession) -> None:
    """Number this transaction's change rows now, and any it writes later as it writes
    them, rather than at commit (PostgreSQL: the deferred trigger's pending work runs here;
    from here to commit the counter is held, as it was before migration 0014)."""
    if is_postgresql(session):
        connection = await session.connection()
        await connection.exec_driver_sql("SET CONSTRAINTS changes_assign_seq IMMEDIATE")


async def _create_counter(session: AsyncSession, organisation_id: uuid.UUID) -> None:
    create = (
        insert_for(session, ChangeCounter)
        .values(organisation_id=organisation_id, last_seq=0)
        .on_conflict_do_nothing(index_elements=["organisation_id"])
    )
    await session.exec(create)


async def record_changes(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    entity_type: str,
    entities: Sequence[tuple[uuid.UUID, uuid.UUID]],
    op: ChangeOp,
    now: datetime,
    *,
    owned: bool = False,
) -> None:
    """`record_change` for many new entities, each with one reader: (entity id, staff id);
    `owned` when each reader always sees their entity (a notification's recipient).

    One counter bump takes a sequence number for each (in the order given) and the log rows
    go in as one statement (PostgreSQL, `_bulk_upsert`) or one executemany (SQLite), so a
    sweep that creates a thousand notifications makes a handful of statements rather than
    two thousand. Each (reader, entity) pair must appear once.
    """
    if not entities:
        return
    first = await next_seq(session, organisation_id, len(entities)) - len(entities) + 1
    if is_postgresql(session):
        params = {
            "organisation_id": organisation_id,
            "entity_type": entity_type,
            "op": op.value,
            "first": first,
            "at": now,
            "owned": owned,
            "entity_ids": [entity_id for entity_id, _ in entities],
            "staff_ids": [staff_id for _, staff_id in entities],
        }
        await session.exec(_BULK_UPSERT, params=params)
        return
    rows = [
        {
            "id": new_id(),
            "organisation_id": organisation_id,
            "staff_id": staff_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "op": op.value,
            "seq": first + n,
            "at": now,
            "owned": owned,
        }
        for n, (entity_id, staff_id) in enumerate(entities)
    ]
    # executemany: compiled once, sent in batches by the driver layer.
    await session.exec(_UPSERT["sqlite"], params=rows)


def _bulk_upsert() -> Any:
    """`record_changes` on PostgreSQL: the entities and their readers sent as two arrays
    and unnested in the statement, numbered from `first` in the order given. As an
    executemany of nine parameters a row, the first sweep of a 5,000-person council (9,000
    new notifications) spent 0.5 s on it, now 0.3 s (docs/PERFORMANCE.md)."""
    c = _CHANGES.c

    def param(name: str, column: sa.Column[Any], *, array: bool = False) -> Any:
        return sa.bindparam(name, type_=postgresql.ARRAY(column.type) if array else column.type)

    pairs = (
        sa.func.unnest(
            param("entity_ids", c.entity_id, array=True), param("staff_ids", c.staff_id, array=True)
        )
        .table_valued("entity_id", "staff_id", with_ordinality="position")
        .render_derived(name="pairs")
    )
    rows = sa.select(
        sa.func.gen_random_uuid(),
        param("organisation_id", c.organisation_id),
        pairs.c.staff_id,
        param("entity_type", c.entity_type),
        pairs.c.entity_id,
        param("op", c.op),
        param("first", c.seq) + pairs.c.position - 1,
        param("at", c.at),
        param("owned", c.owned),
    ).order_by(pairs.c.position)
    columns = ["id", "organisation_id", "staff_id", "entity_type", "entity_id", "op", "seq"]
    return _upsert(postgresql.insert(_CHANGES).from_select([*columns, "at", "owned"], rows))


_BULK_UPSERT = _bulk_upsert()


# Shown and FeedItem: about 50 of each a page, so not frozen (a frozen dataclass sets each
# field through `object.__setattr__`, three times the cost of building one); nothing
# changes them once made.
@dataclass(slots=True)
class Shown:
    """A view rendered straight to its fields, for the feed to write to its answer without
    building (and then re-reading) a response model: `type` is the typed sync change's
    `type`, `data` the view's fields in its model's order, each of its field's type or, for
    ids, their text (`text_ids`)."""

    type: str
    data: dict[str, Any]


def text_ids(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    """`fields` with the ids `names` (those not None) as their text, the JSON string the
    id's model field writes: pydantic-core writes a UUID without a schema, and asyncpg's
    own UUID class at that, on a slow path (about 2 us each, 150 on a sync page, where
    `str` takes 0.1 us)."""
    for name in names:
        value = fields[name]
        if value is not None:
            fields[name] = str(value)
    return fields


# A renderer answers the current view of those ids the actor may still see: a response
# schema (its class tells the API which typed sync change it is), or its fields as `Shown`.
Renderer = Callable[
    [AsyncSession, Actor, Sequence[uuid.UUID], datetime],
    Awaitable[Mapping[uuid.UUID, BaseModel | Shown]],
]


class MovedSince:
    """ "Moved since the page was read" (`_moved_since`), for the page's last renderer to
    answer from its own statement (PostgreSQL; `AnswersMoved`): it adds `MOVED_SINCE` to
    that statement's columns and `params` to its parameters, and passes the rows it read
    to `answer`. A renderer that reads nothing more for its views after that statement
    answers; one whose statement found no rows, or that reads more after it, leaves the
    question unanswered, and the feed asks it with a statement of its own, as before."""

    __slots__ = ("found", "params")

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.found: set[uuid.UUID] | None = None

    def answer(self, rows: Sequence[Any]) -> None:
        if rows:
            self.found = set(rows[0].moved_since or ())


@dataclass(frozen=True, slots=True)
class AnswersMoved:
    """A renderer (`Renderer`'s arguments, and a `MovedSince` or None) that can answer
    "moved since read" from its own statement, when the feed runs it last on a page."""

    render: Callable[
        [AsyncSession, Actor, Sequence[uuid.UUID], datetime, MovedSince | None],
        Awaitable[Mapping[uuid.UUID, BaseModel | Shown]],
    ]


# A reconciler runs before the feed is read and records tombstones for entities the reader
# lost sight of without a change to the entity itself (a supervisee moved to another
# supervisor): the entity's own writes cannot know to tell that reader. It answers whether
# it recorded any (the feed's page is then read again).
Reconciler = Callable[[AsyncSession, Actor, datetime], Awaitable[bool]]


@dataclass(slots=True)
class FeedItem:
    type: str
    op: ChangeOp
    id: uuid.UUID
    data: BaseModel | Shown | None


@dataclass(frozen=True)
class FeedPage:
    changes: list[FeedItem]
    next_cursor: str
    has_more: bool


def seq_cursor(seq: int) -> str:
    """`encode_cursor({"seq": seq})`, the feed's cursor after `seq`, without `json.dumps`
    (which builds an encoder on each call given its separators): the same text, as an
    int's JSON is its digits. Every page answers one."""
    return base64.urlsafe_b64encode(b'{"seq":%d}' % seq).decode().rstrip("=")


def _cursor_seq(cursor: str | None) -> int:
    position = decode_cursor(cursor)
    if position is None:
        return 0
    seq = position.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise Invalid("The cursor is not one this server issued.")
    return seq


async def _moved_since(
    connection: AsyncConnection, actor: Actor, ids: list[uuid.UUID], last: int
) -> set[uuid.UUID]:
    """Which of a page's rows (its last seq `last`) changed again since it was read. Numbers
    are taken and committed in order (the module docstring), so a change committed after
    the page's read has a seq above every one the read saw: above `last`. Only those rows
    come back (nearly always none)."""
    if not ids:
        return set()
    params = {
        "organisation_id": actor.organisation_id,
        "staff_id": actor.id,
        "ids": ids,
        "last": last,
    }
    rows = await connection.execute(_MOVED[connection.dialect.name], params)
    return set(rows.scalars().all())


def _page_params(
    organisation_id: uuid.UUID, staff_id: uuid.UUID, after: int, rows: int
) -> dict[str, Any]:
    return {"organisation_id": organisation_id, "staff_id": staff_id, "after": after, "rows": rows}


def _read_caller_and_page(connection: sa.Connection, params: dict[str, Any]) -> Sequence[Any]:
    """`_CALLER_AND_PAGE`'s rows, read on SQLAlchemy's sync side (`read_keeping`), as
    named tuples (`named_rows`: the page reads each row's attributes several times)."""
    return named_rows(connection.execute(_CALLER_AND_PAGE, params))


def _caller_of(found: Sequence[Any]) -> tuple[Actor, Sequence[Any], bool] | None:
    """`_CALLER_AND_PAGE`'s rows as the caller (None if not active), the page's rows, and
    whether the reconcilers have anything to look at."""
    if not found or found[0].seq != _CALLER_MARK:
        return None
    me = found[0]
    actor = actor_of(
        me.id,
        me.caller_organisation_id,
        me.caller_roles,
        me.caller_unit_id,
        me.caller_supervisor_id,
    )
    reconcile = len(found) > 1 and found[1].seq == _RECONCILE_MARK
    return actor, found[2 if reconcile else 1 :], reconcile


async def sync_feed(
    factory: async_sessionmaker[AsyncSession],
    organisation_id: uuid.UUID,
    staff_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
    renderers: Mapping[str, Renderer | AnswersMoved],
    reconcilers: Sequence[Reconciler] = (),
    now: datetime,
) -> FeedPage | None:
    """The changes after `cursor` of the caller a verified token names, oldest first;
    `next_cursor` always resumes. None if the caller is not (or no longer) an active member
    of that organisation: nothing of the feed is answered, nothing is written.

    One statement checks the caller and reads the page and whether the reader has a row a
    reconciler could act on, read in one hop into SQLAlchemy's sync side outside any unit
    of work (`read_keeping`): an up-to-date phone with nothing for the reconcilers (the
    phone's most frequent request) is answered from it alone, the connection given back in
    that hop, and no unit is opened (its checkout, autocommit, execute, commit and close
    were five hops). Otherwise the rest runs in a `read_mostly` unit from the rows already
    read: the reconcilers, and only if one of them recorded a tombstone is the page read
    again (now with it); the renders; "moved since read". A practitioner's feed, nearly
    all their own, is read with one statement, and a supervisor's with as many as before.

    On PostgreSQL the unit goes on from the read on the same connection, outside a
    transaction block (one checkout a page, not two one after the other: under load each
    was a wait in the pool's queue); elsewhere (SQLite, the tests' transaction) the page is
    read just before the unit's transaction begins. Either way a change committed after
    the page's read moves its row past the page's last seq, which the "moved since read"
    check finds."""
    try:
        after = _cursor_seq(cursor)
    except Invalid:
        # Who is asking comes first, as it would from an authentication dependency.
        params = _page_params(organisation_id, staff_id, 0, 0)
        if await read_once(factory, _caller_and_page(params)) is None:
            return None
        raise
    params = _page_params(organisation_id, staff_id, after, limit + 1)
    found, kept = await read_keeping(factory, _caller_and_page(params), _goes_on)
    if found is None:
        return None
    actor, rows, reconcile = found
    if not rows and not reconcile:
        # Up to date: the page `_rest_of_feed` would answer for no rows, without a unit.
        return FeedPage(changes=[], next_cursor=seq_cursor(after), has_more=False)
    async with kept or read_mostly(factory) as unit:
        return await _rest_of_feed(
            unit,
            actor,
            rows,
            reconcile,
            after=after,
            limit=limit,
            renderers=renderers,
            reconcilers=reconcilers,
            now=now,
        )


_Found = tuple[Actor, Sequence[Any], bool] | None


def _caller_and_page(params: dict[str, Any]) -> Callable[[sa.Connection], _Found]:
    return lambda connection: _caller_of(_read_caller_and_page(connection, params))


def _goes_on(found: _Found) -> bool:
    """Whether a page needs more than its first statement (rows, or a reader to reconcile)."""
    return found is not None and bool(found[1] or found[2])


async def _rest_of_feed(
    unit: ReadMostly,
    actor: Actor,
    rows: Sequence[Any],
    reconcile: bool,
    *,
    after: int,
    limit: int,
    renderers: Mapping[str, Renderer | AnswersMoved],
    reconcilers: Sequence[Reconciler],
    now: datetime,
) -> FeedPage:
    """The page after its first statement (`_CALLER_AND_PAGE`, its rows `rows`): the
    reconcilers if `reconcile`, the renders, "moved since read"."""
    connection = unit.connection
    if reconcile:
        session = await unit.session()
        recorded = False
        for reconciler in reconcilers:
            recorded = await reconciler(session, actor, now) or recorded
        if recorded:
            params = _page_params(actor.organisation_id, actor.id, after, limit + 1)
            rows = named_rows(await connection.execute(_PAGE, params))
    has_more = len(rows) > limit
    rows = rows[:limit]
    wanted: dict[str, list[uuid.UUID]] = {}
    upsert = ChangeOp.upsert
    for row in rows:
        if row.op == upsert:
            wanted.setdefault(row.entity_type, []).append(row.entity_id)
    last = rows[-1].seq if rows else after
    # "Moved since read" must be asked after every render: the last renderer answers it
    # from its own statement when it can (`MovedSince`), so one that can is run last.
    probe: MovedSince | None = None
    answering = [t for t in wanted if isinstance(renderers.get(t), AnswersMoved)]
    if answering and connection.dialect.name == "postgresql":
        wanted[answering[-1]] = wanted.pop(answering[-1])
        probe = MovedSince(
            {
                "moved_org": actor.organisation_id,
                "moved_staff": actor.id,
                "moved_ids": [row.id for row in rows],
                "moved_last": last,
            }
        )
    rendered: dict[tuple[str, uuid.UUID], BaseModel | Shown] = {}
    for entity_type, ids in wanted.items():
        renderer = renderers.get(entity_type)
        if renderer is None:
            raise RuntimeError(f"no sync renderer registered for {entity_type!r}")
        session = await unit.session()
        if isinstance(renderer, AnswersMoved):
            asked = probe if entity_type == answering[-1] else None
            shown = await renderer.render(session, actor, ids, now, asked)
        else:
            shown = await renderer(session, actor, ids, now)
        for entity_id, view in shown.items():
            rendered[(entity_type, entity_id)] = view
    if probe is not None and probe.found is not None:
        moved = probe.found
    else:
        moved = await _moved_since(connection, actor, [row.id for row in rows], last)
    items: list[FeedItem] = []
    for row in rows:
        if moved and row.id in moved:
            # Changed again after this page was read (commits land between our statements):
            # what we rendered may already be the newer state, which arrives at its new,
            # later sequence. Sending it now as well would repeat it.
            continue
        data = rendered.get((row.entity_type, row.entity_id))
        # An upsert the reader can no longer see (unshared, reassigned, deleted) is a tombstone.
        op = upsert if data is not None else ChangeOp.delete
        items.append(FeedItem(row.entity_type, op, row.entity_id, data))
    return FeedPage(changes=items, next_cursor=seq_cursor(last), has_more=has_more)


async def tombstone_unreadable(
    session: AsyncSession,
    actor: Actor,
    entity_type: str,
    readable_ids: sa.Select[Any],
    now: datetime,
) -> bool:
    """Send the caller a tombstone for every `entity_type` on their feed (as an upsert) whose
    id is no longer in `readable_ids`: the reconciler for access lost without a write.
    Answers whether it recorded any."""
    stmt = select(col(Change.entity_id)).where(
        col(Change.organisation_id) == actor.organisation_id,
        col(Change.staff_id) == actor.id,
        sa.not_(col(Change.owned)),
        col(Change.entity_type) == entity_type,
        col(Change.op) == ChangeOp.upsert.value,
        col(Change.entity_id).not_in(readable_ids),
    )
    lost = (await session.exec(stmt)).all()
    for entity_id in lost:
        await record_change(
            session, actor.organisation_id, entity_type, entity_id, ChangeOp.delete, [actor.id], now
        )
    if lost:
        await assign_now(session)  # the page read next in this transaction must see them
    return bool(lost)
