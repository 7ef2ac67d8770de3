"""Org-tree scope queries: which units a manager oversees, who a supervisor supervises.

Each builds a statement already filtered by organisation, so callers compose it into their
own query (`Staff.unit_id.in_(managed_units(actor))`) and can never forget the tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from types import SimpleNamespace
from typing import cast

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.actor import Actor
from models.directory.organisation import Unit
from models.directory.staff import Staff


def subtree_units(
    organisation_id: uuid.UUID, roots: SelectOfScalar[uuid.UUID], name: str = "subtree"
) -> sa.CTE:
    """Recursive CTE of the unit ids at and below `roots`, inside one organisation (`name`
    tells two of them in one statement apart)."""
    units: sa.Table = Unit.__table__  # type: ignore[attr-defined]  # typed columns bind UUIDs
    base = (
        sa.select(units.c.id)
        .where(units.c.organisation_id == organisation_id, units.c.id.in_(roots))
        .cte(name, recursive=True)
    )
    step = sa.select(units.c.id).where(
        units.c.organisation_id == organisation_id, units.c.parent_id == base.c.id
    )
    return base.union(step)


def managed_units(actor: Actor) -> SelectOfScalar[uuid.UUID]:
    """Ids of every unit in the subtrees of the units `actor` manages."""
    roots = select(col(Unit.id)).where(
        col(Unit.organisation_id) == actor.organisation_id, col(Unit.manager_id) == actor.id
    )
    tree = subtree_units(actor.organisation_id, roots)
    return select(tree.c.id)


def unit_subtree(organisation_id: uuid.UUID, unit_id: uuid.UUID) -> SelectOfScalar[uuid.UUID]:
    """Ids of `unit_id` and every unit below it."""
    roots = select(col(Unit.id)).where(
        col(Unit.organisation_id) == organisation_id, col(Unit.id) == unit_id
    )
    tree = subtree_units(organisation_id, roots)
    return select(tree.c.id)


# The caller as the late-bound parameters `org` and `me`: permission clauses built with it
# go into statements built once, for hot paths (run them with {"org": ..., "me": ...}).
BOUND_CALLER = cast(
    Actor, SimpleNamespace(organisation_id=sa.bindparam("org"), id=sa.bindparam("me"))
)


def supervisees(actor: Actor) -> SelectOfScalar[uuid.UUID]:
    """Ids of the staff whose line supervisor is `actor`."""
    return select(col(Staff.id)).where(
        col(Staff.organisation_id) == actor.organisation_id, col(Staff.supervisor_id) == actor.id
    )


def managed_staff(actor: Actor) -> SelectOfScalar[uuid.UUID]:
    """Ids of the staff in units `actor` manages (whole subtrees)."""
    return select(col(Staff.id)).where(
        col(Staff.organisation_id) == actor.organisation_id,
        col(Staff.unit_id).in_(managed_units(actor)),
    )


# Deeper than any real organisation's tree; bounds the walk if a cycle were ever stored.
MAX_TREE_DEPTH = 64


def path_up(start: sa.ColumnElement[uuid.UUID] | None = None) -> sa.CTE:
    """Recursive CTE `up(id, parent_id, depth)`: the units from `:unit_id` (or `start`, an
    expression giving the unit) up to the root, `depth` 0 nearest (`:organisation_id`,
    `:unit_id` bound late; none for a null unit)."""
    units: sa.Table = Unit.__table__  # type: ignore[attr-defined]
    org = sa.bindparam("organisation_id", type_=sa.Uuid())
    if start is None:
        start = sa.bindparam("unit_id", type_=sa.Uuid())
    up = (
        sa.select(units.c.id, units.c.parent_id, sa.literal(0).label("depth"))
        .where(units.c.organisation_id == org, units.c.id == start)
        .cte("up", recursive=True)
    )
    return up.union_all(
        sa.select(units.c.id, units.c.parent_id, up.c.depth + 1).where(
            units.c.organisation_id == org,
            units.c.id == up.c.parent_id,
            up.c.depth < MAX_TREE_DEPTH,
        )
    )


def _path_up() -> SelectOfScalar[uuid.UUID]:
    """Unit ids from `:unit_id` up to the root, nearest first (one recursive statement)."""
    up = path_up()
    return select(up.c.id).order_by(up.c.depth)


# Built once: a statement reused keeps its compiled form and cache key.
_PATH_UP = _path_up()


def top_down(nearest_first: Iterable[uuid.UUID]) -> list[str]:
    """The path `path_up` walked (nearest first) as unit ids from the top of the tree down,
    stopping where a cycle would first repeat."""
    path: list[str] = []
    for row_id in nearest_first:
        if str(row_id) in path:  # a cycle: stop where the walk first repeats
            break
        path.append(str(row_id))
    return list(reversed(path))


async def unit_path(
    session: AsyncSession, organisation_id: uuid.UUID, unit_id: uuid.UUID | None
) -> list[str]:
    """Unit ids from the top of the tree down to `unit_id` (for snapshots on a row).

    One recursive statement walks up from `unit_id` (it used to read the whole tree).
    """
    if unit_id is None:
        return []
    params = {"organisation_id": organisation_id, "unit_id": unit_id}
    return top_down((await session.exec(_PATH_UP, params=params)).all())
