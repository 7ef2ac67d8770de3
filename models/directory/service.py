"""The organisation directory: organisations, units and staff, read through scoped statements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.actor import Actor
from models.db import read_once
from models.directory.caller import ACTOR_COLUMNS, CALLER_IS_ACTIVE, STAFF_TABLE, actor_of
from models.directory.leavers import end_access, end_sessions
from models.directory.organisation import Organisation, Unit
from models.directory.schemas import MePublic, StaffCreate, StaffUpdate, UnitCreate, UnitUpdate
from models.directory.staff import Role, Staff
from models.errors import Conflict, Invalid, NotFound
from models.etag import require_match
from models.pagination import Keyset, keyset_page
from models.scope import managed_units, unit_subtree

_Row = TypeVar("_Row", Unit, Staff)


async def get_or_create_organisation(
    session: AsyncSession, name: str, now: datetime
) -> Organisation:
    found = (await session.exec(select(Organisation).where(Organisation.name == name))).first()
    if found is not None:
        return found
    organisation = Organisation(name=name, created_at=now)
    session.add(organisation)
    await session.flush()
    return organisation


# --- units -------------------------------------------------------------------------------


# Directory lists page in id order (stable while rows are added).
_UNITS = Keyset[Unit](None, col(Unit.id), lambda r: (None, r.id), key_type=None, descending=False)
_STAFF = Keyset[Staff](None, col(Staff.id), lambda r: (None, r.id), key_type=None, descending=False)


def readable_units(actor: Actor) -> SelectOfScalar[Unit]:
    """Every unit of the caller's organisation: the tree's shape is not personal data."""
    return select(Unit).where(col(Unit.organisation_id) == actor.organisation_id)


async def list_units(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None
) -> tuple[Sequence[Unit], str | None]:
    return await keyset_page(session, readable_units(actor), _UNITS, limit=limit, cursor=cursor)


async def get_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> Unit:
    unit = (await session.exec(readable_units(actor).where(col(Unit.id) == unit_id))).first()
    if unit is None:
        raise NotFound("No such unit.")
    return unit


async def create_unit(session: AsyncSession, actor: Actor, data: UnitCreate, now: datetime) -> Unit:
    if data.parent_id is not None:
        await get_unit(session, actor, data.parent_id)
    if data.manager_id is not None:
        await _staff_in_org(session, actor, data.manager_id, "manager_id")
    unit = Unit(
        organisation_id=actor.organisation_id,
        name=data.name,
        parent_id=data.parent_id,
        manager_id=data.manager_id,
        created_at=now,
        updated_at=now,
    )
    session.add(unit)
    await _flush_unique(session, "A unit with this name already exists under that parent.")
    return unit


async def update_unit(
    session: AsyncSession,
    actor: Actor,
    unit_id: uuid.UUID,
    data: UnitUpdate,
    if_match: str | None,
    now: datetime,
) -> Unit:
    unit = await _locked(session, readable_units(actor).where(col(Unit.id) == unit_id), "unit")
    require_match(if_match, unit.version)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Invalid("A unit needs a name.", errors=[_field_error("name", "may not be null")])
    if changes.get("parent_id") is not None:
        await get_unit(session, actor, changes["parent_id"])
        below = set((await session.exec(unit_subtree(actor.organisation_id, unit.id))).all())
        if changes["parent_id"] in below:
            raise Invalid(
                "A unit cannot sit under itself or one of its own sub-units.",
                errors=[_field_error("parent_id", "would make a cycle")],
            )
    if changes.get("manager_id") is not None:
        await _staff_in_org(session, actor, changes["manager_id"], "manager_id")
    for field, value in changes.items():
        setattr(unit, field, value)
    unit.version += 1
    unit.updated_at = now
    await _flush_unique(session, "A unit with this name already exists under that parent.")
    return unit


# --- staff -------------------------------------------------------------------------------


def readable_staff(actor: Actor) -> SelectOfScalar[Staff]:
    """Staff records the caller may read: admins all of their organisation; anyone else
    themself, their supervisor, their supervisees, and the people in units they manage."""
    stmt = select(Staff).where(col(Staff.organisation_id) == actor.organisation_id)
    if actor.has(Role.admin):
        return stmt
    related: list[sa.ColumnElement[bool]] = [
        col(Staff.id) == actor.id,
        col(Staff.supervisor_id) == actor.id,
    ]
    if actor.supervisor_id is not None:
        related.append(col(Staff.id) == actor.supervisor_id)
    if actor.has(Role.manager):
        related.append(col(Staff.unit_id).in_(managed_units(actor)))
    return stmt.where(sa.or_(*related))


async def get_staff(session: AsyncSession, actor: Actor, staff_id: uuid.UUID) -> Staff:
    staff = (await session.exec(readable_staff(actor).where(col(Staff.id) == staff_id))).first()
    if staff is None:
        raise NotFound("No such staff member.")
    return staff


async def list_staff(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None
) -> tuple[Sequence[Staff], str | None]:
    return await keyset_page(session, readable_staff(actor), _STAFF, limit=limit, cursor=cursor)


async def readable_staff_all(session: AsyncSession, actor: Actor) -> Sequence[Staff]:
    """Every staff member the caller may read, by name (the web's sortable directory)."""
    stmt = readable_staff(actor).order_by(col(Staff.display_name), col(Staff.id))
    return (await session.exec(stmt)).all()


async def readable_units_all(session: AsyncSession, actor: Actor) -> Sequence[Unit]:
    """Every unit of the caller's organisation, by name."""
    stmt = readable_units(actor).order_by(col(Unit.name), col(Unit.id))
    return (await session.exec(stmt)).all()


async def create_staff(
    session: AsyncSession,
    actor: Actor,
    data: StaffCreate,
    password_hash: str | None,
    now: datetime,
) -> Staff:
    supervisor = await _check_links(session, actor, data.unit_id, data.supervisor_id, None)
    if await _email_taken(session, data.email):
        raise Conflict(
            "A staff member with this e-mail address already exists.", kind="email-taken"
        )
    staff = Staff(
        organisation_id=actor.organisation_id,
        email=data.email,
        display_name=data.display_name,
        password_hash=password_hash,
        roles=[r.value for r in data.roles],
        unit_id=data.unit_id,
        supervisor_id=data.supervisor_id,
        cohort=data.cohort,
        started_on=data.started_on,
        timezone=data.timezone,
        created_at=now,
        updated_at=now,
    )
    session.add(staff)
    if supervisor is not None:
        grant_supervisor_role(supervisor, now)
    await _flush_unique(session, "A staff member with this e-mail address already exists.")
    return staff


def grant_supervisor_role(supervisor: Staff, now: datetime) -> None:
    """Whoever is named someone's supervisor holds the `supervisor` role (what supervisees
    send them, and the supervisor's own screens, need it): granted in the transaction that
    names them, by the API, the CSV import and the demo alike."""
    if Role.supervisor.value not in supervisor.roles:
        supervisor.roles = sorted({*supervisor.roles, Role.supervisor.value})
        supervisor.version += 1
        supervisor.updated_at = now


async def grant_roles_to_named_supervisors(
    session: AsyncSession, organisation_id: uuid.UUID, now: datetime
) -> int:
    """Give the `supervisor` role to everyone in the organisation named as someone's
    supervisor who lacks it (after a bulk change such as the CSV import); answers how many."""
    named = select(col(Staff.supervisor_id)).where(
        col(Staff.organisation_id) == organisation_id, col(Staff.supervisor_id).is_not(None)
    )
    rows = (
        await session.exec(
            select(Staff).where(
                col(Staff.organisation_id) == organisation_id, col(Staff.id).in_(named)
            )
        )
    ).all()
    lacking = [s for s in rows if Role.supervisor.value not in s.roles]
    for supervisor in lacking:
        grant_supervisor_role(supervisor, now)
    await session.flush()
    return len(lacking)


async def bootstrap_admin(
    session: AsyncSession, org: str, data: StaffCreate, password_hash: str, now: datetime
) -> str:
    """`harbour create-admin`: the organisation (made if new) and its admin, created through
    `create_staff` like any other staff member, or an existing member made admin. Idempotent;
    answers what it did."""
    organisation = await get_or_create_organisation(session, org, now)
    staff = await find_login(session, data.email)
    if staff is not None and staff.organisation_id != organisation.id:
        raise Conflict(f"{data.email} already belongs to another organisation", kind="email-taken")
    if staff is None:
        # Nobody in the new organisation can act yet: the bootstrap acts as its first admin.
        bootstrap = Actor(
            id=uuid.uuid4(),
            organisation_id=organisation.id,
            roles=frozenset({Role.admin}),
            unit_id=None,
            supervisor_id=None,
        )
        await create_staff(session, bootstrap, data, password_hash, now)
        return f"created organisation {org!r} and its admin {data.email}"
    if Role.admin.value in staff.roles:
        return f"{data.email} is already an admin of {org}; nothing changed"
    staff.roles = sorted({*staff.roles, Role.admin.value})
    staff.version += 1
    staff.updated_at = now
    await session.flush()
    return f"{data.email} is now an admin of {org}"


async def update_staff(
    session: AsyncSession,
    actor: Actor,
    staff_id: uuid.UUID,
    data: StaffUpdate,
    password_hash: str | None,
    if_match: str | None,
    now: datetime,
) -> Staff:
    staff = await _locked(session, readable_staff(actor).where(col(Staff.id) == staff_id), "staff")
    require_match(if_match, staff.version)
    changes = data.model_dump(exclude_unset=True, exclude={"password"})
    for required in (
        "email",
        "display_name",
        "roles",
        "cohort",
        "started_on",
        "timezone",
        "active",
    ):
        if required in changes and changes[required] is None:
            raise Invalid(
                f"{required} may not be null.", errors=[_field_error(required, "may not be null")]
            )
    supervisor = await _check_links(
        session,
        actor,
        changes.get("unit_id"),
        changes.get("supervisor_id"),
        staff.id,
    )
    if supervisor is not None:
        grant_supervisor_role(supervisor, now)
    if "roles" in changes and Role.supervisor not in changes["roles"]:
        await _still_supervising(session, staff)
    if "email" in changes and changes["email"] != staff.email:
        if await _email_taken(session, changes["email"]):
            raise Conflict(
                "A staff member with this e-mail address already exists.", kind="email-taken"
            )
    if "roles" in changes:
        changes["roles"] = [Role(r).value for r in changes["roles"]]
    for field, value in changes.items():
        setattr(staff, field, value)
    if password_hash is not None:
        staff.password_hash = password_hash
    if changes.get("active") is False:
        # Deactivation ends access at once: access tokens are checked against `active` on
        # every request; no refresh token, browser session or device outlives it.
        await end_access(session, staff, now)
    elif password_hash is not None:
        await end_sessions(session, staff, now)  # a new password ends old sessions
    staff.version += 1
    staff.updated_at = now
    await _flush_unique(session, "A staff member with this e-mail address already exists.")
    return staff


async def find_login(session: AsyncSession, email: str) -> Staff | None:
    """The staff member who logs in with `email` (any organisation), or None."""
    stmt = select(Staff).where(col(Staff.email) == email.strip().lower())
    return (await session.exec(stmt)).first()


# Built once: every authenticated request runs one, as Core selects of the columns it needs
# (no ORM compile step, identity map or `Staff` instance for a row only read: the ORM read
# was a fifth of `GET /me`'s CPU), and a statement object reused keeps its SQLAlchemy cache
# key (building and keying it anew cost as much as reading the row).
_ACTIVE_ACTOR = sa.select(*ACTOR_COLUMNS).where(CALLER_IS_ACTIVE)
# `GET /me`: the columns it answers.
_ACTIVE_ME = sa.select(*(STAFF_TABLE.c[name] for name in MePublic.model_fields)).where(
    CALLER_IS_ACTIVE
)


async def load_active_actor(
    session: AsyncSession, organisation_id: uuid.UUID, staff_id: uuid.UUID
) -> Actor | None:
    """The caller, if they exist and are active (every authenticated request but `GET /me`),
    read in the request's transaction."""
    params = {"organisation_id": organisation_id, "staff_id": staff_id}
    # On the session's connection (Core, no ORM execution), in one hop into SQLAlchemy's
    # sync side where `await session.connection()` and then `execute` took two.
    row = await session.run_sync(_first_active_actor, params)
    return None if row is None else actor_of(*row)


def _first_active_actor(
    session: Session, params: dict[str, Any]
) -> sa.Row[*tuple[Any, ...]] | None:
    return session.connection().execute(_ACTIVE_ACTOR, params).first()


async def load_active_me(
    sessions: async_sessionmaker[AsyncSession], organisation_id: uuid.UUID, staff_id: uuid.UUID
) -> MePublic | None:
    """`GET /me`: the staff member's own record if they exist and are active (one read, the
    check of the caller and the answer at once), outside a transaction (`read_once`)."""
    params = {"organisation_id": organisation_id, "staff_id": staff_id}
    row = await read_once(sessions, lambda connection: _first_active_me(connection, params))
    # Read from the row's attributes: no dict of it made first (half the validation's cost).
    return None if row is None else MePublic.model_validate(row, from_attributes=True)


def _first_active_me(
    connection: sa.Connection, params: dict[str, Any]
) -> sa.Row[*tuple[Any, ...]] | None:
    return connection.execute(_ACTIVE_ME, params).first()


def actor_for(staff: Staff) -> Actor:
    return actor_of(
        staff.id, staff.organisation_id, staff.roles, staff.unit_id, staff.supervisor_id
    )


# --- helpers -----------------------------------------------------------------------------


def _field_error(field: str, message: str) -> dict[str, Any]:
    return {"loc": ["body", field], "msg": message, "type": "value_error"}


async def _locked(session: AsyncSession, stmt: SelectOfScalar[_Row], what: str) -> _Row:
    row = (await session.exec(stmt.with_for_update())).first()
    if row is None:
        raise NotFound(f"No such {what}.")
    return row


async def _staff_in_org(
    session: AsyncSession, actor: Actor, staff_id: uuid.UUID, field: str
) -> Staff:
    stmt = select(Staff).where(
        col(Staff.organisation_id) == actor.organisation_id, col(Staff.id) == staff_id
    )
    staff = (await session.exec(stmt)).first()
    if staff is None:
        raise Invalid(
            f"{field} does not name a staff member of this organisation.",
            errors=[_field_error(field, "unknown staff member")],
        )
    return staff


async def _still_supervising(session: AsyncSession, staff: Staff) -> None:
    """Refuse to take the supervisor role from someone still named as a supervisor."""
    stmt = select(func.count()).where(
        col(Staff.organisation_id) == staff.organisation_id, col(Staff.supervisor_id) == staff.id
    )
    count = int((await session.exec(stmt)).one())
    if count:
        raise Invalid(
            f"{staff.display_name} supervises {count} people: give them another supervisor "
            "before removing the supervisor role.",
            errors=[_field_error("roles", "still supervises someone")],
        )


async def _check_links(
    session: AsyncSession,
    actor: Actor,
    unit_id: uuid.UUID | None,
    supervisor_id: uuid.UUID | None,
    staff_id: uuid.UUID | None,
) -> Staff | None:
    """Check the unit and the supervisor exist in the organisation; the supervisor's row."""
    if unit_id is not None:
        stmt = readable_units(actor).where(col(Unit.id) == unit_id)
        if (await session.exec(stmt)).first() is None:
            raise Invalid(
                "unit_id does not name a unit of this organisation.",
                errors=[_field_error("unit_id", "unknown unit")],
            )
    if supervisor_id is not None:
        if supervisor_id == staff_id:
            raise Invalid(
                "Nobody can be their own supervisor.",
                errors=[_field_error("supervisor_id", "is the staff member themself")],
            )
        return await _staff_in_org(session, actor, supervisor_id, "supervisor_id")
    return None


async def _email_taken(session: AsyncSession, email: str) -> bool:
    return (await find_login(session, email)) is not None


async def _flush_unique(session: AsyncSession, message: str) -> None:
    """Flush, turning a unique-constraint race into 409 (the request then rolls back whole)."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(message) from exc
