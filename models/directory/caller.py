"""The caller's row: the columns an `Actor` is made of, and the check that they are still an
active member of the organisation their token names (`:organisation_id`, `:staff_id`).

Built once, as Core: every authenticated request reads it (`models.directory.service`),
and the sync feed reads it in the statement that reads the page (`models.changes`)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from models.actor import Actor
from models.directory.staff import Role, Staff

STAFF_TABLE: sa.Table = Staff.__table__  # type: ignore[attr-defined]

# `active` is read each time, so a deactivation is refused at once.
CALLER_IS_ACTIVE = sa.and_(
    STAFF_TABLE.c.organisation_id == sa.bindparam("organisation_id", type_=sa.Uuid()),
    STAFF_TABLE.c.id == sa.bindparam("staff_id", type_=sa.Uuid()),
    STAFF_TABLE.c.active.is_(True),
)
# The same, for a statement that writes only for an active caller (`create_once_as`).
CALLER_ACTIVE = sa.exists().where(CALLER_IS_ACTIVE)

# In the order `actor_of` takes them.
ACTOR_COLUMNS: tuple[sa.Column[Any], ...] = (
    STAFF_TABLE.c.id,
    STAFF_TABLE.c.organisation_id,
    STAFF_TABLE.c.roles,
    STAFF_TABLE.c.unit_id,
    STAFF_TABLE.c.supervisor_id,
)


def actor_of(
    staff_id: uuid.UUID,
    organisation_id: uuid.UUID,
    roles: list[str],
    unit_id: uuid.UUID | None,
    supervisor_id: uuid.UUID | None,
) -> Actor:
    """An Actor from a staff row's columns, in `ACTOR_COLUMNS`' order."""
    return Actor(
        id=staff_id,
        organisation_id=organisation_id,
        roles=frozenset(Role(r) for r in roles),
        unit_id=unit_id,
        supervisor_id=supervisor_id,
    )
