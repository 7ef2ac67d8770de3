"""Who may see whose supervision: statement builders already filtered by tenant and relation.

The brief's table: the supervisee and their supervisor see everything; a manager of the
supervisee's unit (or an ancestor) sees the record except a private support section; admins
see metadata; HR sees counts only (never a person); anyone else is answered 404.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.actor import Actor
from models.directory.staff import Role, Staff
from models.scope import managed_staff, supervisees
from models.supervision import SupervisionSession


def overseeable_staff(actor: Actor) -> SelectOfScalar[Staff]:
    """Staff whose supervision dates, status and actions the caller may see."""
    stmt = select(Staff).where(col(Staff.organisation_id) == actor.organisation_id)
    if actor.has(Role.admin):
        return stmt
    related: list[sa.ColumnElement[bool]] = [
        col(Staff.id) == actor.id,
        col(Staff.supervisor_id) == actor.id,
    ]
    if actor.has(Role.manager):
        related.append(col(Staff.id).in_(managed_staff(actor)))
    return stmt.where(sa.or_(*related))


def readable_sessions(actor: Actor) -> SelectOfScalar[SupervisionSession]:
    """Sessions the caller may see at least the metadata of."""
    stmt = select(SupervisionSession).where(
        col(SupervisionSession.organisation_id) == actor.organisation_id
    )
    if actor.has(Role.admin):
        return stmt
    related: list[sa.ColumnElement[bool]] = [
        col(SupervisionSession.supervisee_id) == actor.id,
        col(SupervisionSession.supervisor_id) == actor.id,
        col(SupervisionSession.supervisee_id).in_(supervisees(actor)),
    ]
    if actor.has(Role.manager):
        related.append(col(SupervisionSession.supervisee_id).in_(managed_staff(actor)))
    return stmt.where(sa.or_(*related))


def schedulable_staff(actor: Actor) -> SelectOfScalar[Staff]:
    """Staff the caller may schedule supervision for: their supervisees, or staff they manage."""
    related: list[sa.ColumnElement[bool]] = []
    if actor.has(Role.supervisor):
        related.append(col(Staff.supervisor_id) == actor.id)
    if actor.has(Role.manager):
        related.append(col(Staff.id).in_(managed_staff(actor)))
    stmt = select(Staff).where(
        col(Staff.organisation_id) == actor.organisation_id, col(Staff.active).is_(True)
    )
    return stmt.where(sa.or_(*related)) if related else stmt.where(sa.false())


def in_relationship(
    actor: Actor, sess: SupervisionSession, current_supervisor: uuid.UUID | None
) -> bool:
    """The supervisee, the session's supervisor, or the supervisee's current supervisor."""
    return actor.id in (sess.supervisee_id, sess.supervisor_id) or (
        current_supervisor is not None and current_supervisor == actor.id
    )


def record_readable_sessions(actor: Actor) -> SelectOfScalar[SupervisionSession]:
    """Sessions whose record text the caller may read: the relationship, or a manager above.
    (Admins read metadata only, so they are not here.)"""
    related: list[sa.ColumnElement[bool]] = [
        col(SupervisionSession.supervisee_id) == actor.id,
        col(SupervisionSession.supervisor_id) == actor.id,
        col(SupervisionSession.supervisee_id).in_(supervisees(actor)),
    ]
    if actor.has(Role.manager):
        related.append(col(SupervisionSession.supervisee_id).in_(managed_staff(actor)))
    return select(SupervisionSession).where(
        col(SupervisionSession.organisation_id) == actor.organisation_id, sa.or_(*related)
    )
