"""Supervision agreements (Standard 5): the written terms of a supervisory relationship.

Either person drafts one (the supervisee, or their line supervisor); both sign it, each
signature kept with its time; once both have signed it comes into force and supersedes the
supervisee's earlier agreement, which is kept. Changing a signed agreement means drafting a
new version. Who sees what (docs/supervision.md, Agreements):

- the supervisee and the supervisor named on it: everything, the terms included;
- managers of the supervisee's unit or an ancestor, and admins: that it exists, its dates
  and its signatures, never the terms (the learning needs and the limits of confidentiality
  are the two people's; managers need to know an agreement is in place and reviewed);
- anyone else, HR included: 404 (HR sees the counts on oversight and the report card).

Every read by someone other than the supervisee is written to the supervisee's access log.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.agreement import (
    AGREEMENT_RESOURCE,
    AGREEMENTS_TABLE,
    TERM_TEXTS_ALL,
    TERMS_COLUMN,
    AgreementStatus,
    SupervisionAgreement,
)
from models.base import new_id
from models.changes import ChangeOp, record_change
from models.crypto import KeyRing, open_json, seal_json
from models.directory.staff import Role, Staff
from models.errors import Conflict, Forbidden, Invalid, NotFound
from models.etag import Tagged, etag_for, require_match
from models.idempotent import create_once
from models.pagination import Keyset, keyset_page
from models.schemas import Page
from models.scope import managed_staff
from supervision.policy import agreement_review_due_on
from supervision.policy_store import load_policy
from supervision.schemas import Audience
from supervision.schemas_agreement import (
    AgreementCreate,
    AgreementPublic,
    AgreementSummary,
    AgreementTerms,
    AgreementUpdate,
)
from supervision.status import local_today

# --- who sees what ------------------------------------------------------------------------


def _readable(actor: Actor) -> list[sa.ColumnElement[bool]]:
    a = SupervisionAgreement
    conditions = [col(a.organisation_id) == actor.organisation_id]
    if actor.has(Role.admin):
        return conditions
    related: list[sa.ColumnElement[bool]] = [
        col(a.supervisee_id) == actor.id,
        col(a.supervisor_id) == actor.id,
    ]
    if actor.has(Role.manager):
        related.append(col(a.supervisee_id).in_(managed_staff(actor)))
    return [*conditions, sa.or_(*related)]


def readable_agreements(actor: Actor) -> SelectOfScalar[SupervisionAgreement]:
    """Agreements the caller may see at least the dates of: their own (either side), those
    of staff they manage (managers), all of the organisation's (admins)."""
    return select(SupervisionAgreement).where(*_readable(actor))


def audience_of(actor: Actor, row: SupervisionAgreement) -> Audience:
    """Full for the two people in it; dates and signatures for everyone else who may see it."""
    return (
        Audience.full if actor.id in (row.supervisee_id, row.supervisor_id) else Audience.metadata
    )


async def _load(
    session: AsyncSession, actor: Actor, agreement_id: uuid.UUID, *, lock: bool = False
) -> SupervisionAgreement:
    stmt = readable_agreements(actor).where(col(SupervisionAgreement.id) == agreement_id)
    if lock:  # and re-read: what another transaction committed meanwhile wins
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound("No such agreement.")
    return row


async def _supervisee(
    session: AsyncSession, organisation_id: uuid.UUID, staff_id: uuid.UUID, *, lock: bool
) -> Staff:
    stmt = select(Staff).where(
        col(Staff.organisation_id) == organisation_id, col(Staff.id) == staff_id
    )
    if lock:  # serialises the versions and signatures of one supervisee's agreements
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).one()


# --- views --------------------------------------------------------------------------------


def _terms(ring: KeyRing, row: SupervisionAgreement) -> AgreementTerms:
    raw = open_json(ring, row.terms, AGREEMENTS_TABLE, row.id, TERMS_COLUMN)
    return AgreementTerms.model_validate(raw)


def summary(row: SupervisionAgreement, today: date) -> AgreementSummary:
    status = AgreementStatus(row.status)
    return AgreementSummary(
        id=row.id,
        supervisee_id=row.supervisee_id,
        supervisor_id=row.supervisor_id,
        number=row.number,
        version=row.version,
        status=status,
        supersedes_id=row.supersedes_id,
        starts_on=row.starts_on,
        review_due_on=row.review_due_on,
        review_overdue=status is AgreementStatus.in_force and row.review_due_on < today,
        drafted_by=row.drafted_by,
        supervisee_signed_at=row.supervisee_signed_at,
        supervisor_signed_at=row.supervisor_signed_at,
        in_force_at=row.in_force_at,
        superseded_at=row.superseded_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _view(
    session: AsyncSession, ring: KeyRing, actor: Actor, row: SupervisionAgreement, now: datetime
) -> Tagged[AgreementPublic]:
    supervisee = await _supervisee(session, row.organisation_id, row.supervisee_id, lock=False)
    audience = audience_of(actor, row)
    view = AgreementPublic(
        **summary(row, local_today(now, supervisee.timezone)).model_dump(),
        access=audience,
        terms=_terms(ring, row) if audience is Audience.full else None,
    )
    return Tagged(view, etag_for(row.version))


async def _log_read(
    session: AsyncSession, actor: Actor, row: SupervisionAgreement, now: datetime
) -> None:
    """Note the read in the supervisee's access log (their own reads are not logged)."""
    if actor.id == row.supervisee_id:
        return
    reason = AccessReason.administration
    if actor.id == row.supervisor_id:
        reason = AccessReason.supervision
    elif actor.has(Role.manager):
        managed = managed_staff(actor).where(col(Staff.id) == row.supervisee_id)
        if (await session.exec(managed)).first() is not None:
            reason = AccessReason.management_oversight
    await record_access(session, actor, row.supervisee_id, AGREEMENT_RESOURCE, row.id, reason, now)


async def _changed(
    session: AsyncSession, rows: Sequence[SupervisionAgreement], now: datetime
) -> None:
    """On the feeds of the two people in each agreement (called after the row writes)."""
    for row in rows:
        await record_change(
            session,
            row.organisation_id,
            AGREEMENT_RESOURCE,
            row.id,
            ChangeOp.upsert,
            [row.supervisee_id, row.supervisor_id],
            now,
        )


# --- reading ------------------------------------------------------------------------------


async def read_agreement(
    session: AsyncSession, ring: KeyRing, actor: Actor, agreement_id: uuid.UUID, now: datetime
) -> Tagged[AgreementPublic]:
    """One agreement as the caller may see it (a read by anyone but the supervisee is logged)."""
    row = await _load(session, actor, agreement_id)
    await _log_read(session, actor, row, now)
    return await _view(session, ring, actor, row, now)


_NEWEST = Keyset[Any](
    col(SupervisionAgreement.created_at),
    col(SupervisionAgreement.id),
    lambda r: (r[0].created_at, r[0].id),
)


async def list_agreements(
    session: AsyncSession,
    actor: Actor,
    *,
    supervisee_id: uuid.UUID | None,
    status: AgreementStatus | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> Page[AgreementSummary]:
    """Agreements the caller may see, newest first: every version, dates and signatures."""
    stmt = (
        select(SupervisionAgreement, col(Staff.timezone))
        .join(Staff, col(Staff.id) == col(SupervisionAgreement.supervisee_id))
        .where(*_readable(actor))
    )
    if supervisee_id is not None:
        stmt = stmt.where(col(SupervisionAgreement.supervisee_id) == supervisee_id)
    if status is not None:
        stmt = stmt.where(col(SupervisionAgreement.status) == status)
    rows, next_cursor = await keyset_page(session, stmt, _NEWEST, limit=limit, cursor=cursor)
    return Page(
        data=[summary(row, local_today(now, tz)) for row, tz in rows], next_cursor=next_cursor
    )


# --- drafting -----------------------------------------------------------------------------


async def _relationship(session: AsyncSession, actor: Actor, supervisee_id: uuid.UUID) -> Staff:
    """The supervisee, if the caller is them or their line supervisor (locked)."""
    stmt = select(Staff).where(
        col(Staff.organisation_id) == actor.organisation_id,
        col(Staff.id) == supervisee_id,
        col(Staff.active).is_(True),
    )
    if supervisee_id != actor.id:
        stmt = stmt.where(col(Staff.supervisor_id) == actor.id)
    supervisee = (await session.exec(stmt.with_for_update())).first()
    if supervisee is None:
        raise NotFound("No such staff member among yourself and your supervisees.")
    if supervisee.supervisor_id is None:
        raise Conflict(
            "There is no line supervisor to make an agreement with.", kind="no-supervisor"
        )
    return supervisee


async def _is_first(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    supervisee_id: uuid.UUID,
    supervisor_id: uuid.UUID,
    other_than: uuid.UUID,
) -> bool:
    """Whether no agreement of this pair has been signed yet (the first is reviewed sooner)."""
    stmt = select(col(SupervisionAgreement.id)).where(
        col(SupervisionAgreement.organisation_id) == organisation_id,
        col(SupervisionAgreement.supervisee_id) == supervisee_id,
        col(SupervisionAgreement.supervisor_id) == supervisor_id,
        col(SupervisionAgreement.status) != AgreementStatus.draft,
        col(SupervisionAgreement.id) != other_than,
    )
    return (await session.exec(stmt.limit(1))).first() is None


async def create_agreement(
    session: AsyncSession, ring: KeyRing, actor: Actor, data: AgreementCreate, now: datetime
) -> tuple[Tagged[AgreementPublic], bool]:
    """Draft an agreement (the supervisee, or their line supervisor): a new version if one is
    in force. Offline-creatable (`models.idempotent`): a repeat answers the same draft."""
    terms = data.terms.model_dump()

    async def build() -> SupervisionAgreement:
        supervisee = await _relationship(session, actor, data.supervisee_id)
        supervisor_id = supervisee.supervisor_id
        assert supervisor_id is not None  # _relationship refuses a supervisee without one
        row_id = data.id or new_id()
        a = SupervisionAgreement
        mine = (
            col(a.organisation_id) == actor.organisation_id,
            col(a.supervisee_id) == supervisee.id,
        )
        open_draft = (
            await session.exec(
                select(col(a.id)).where(
                    *mine,
                    col(a.supervisor_id) == supervisor_id,
                    col(a.status) == AgreementStatus.draft,
                )
            )
        ).first()
        if open_draft is not None and open_draft != row_id:
            raise Conflict(
                f"A draft of this agreement is open already ({open_draft}): edit it.",
                kind="draft-open",
            )
        number = (await session.exec(select(func.max(col(a.number))).where(*mine))).one() or 0
        in_force = (
            await session.exec(
                select(col(a.id)).where(*mine, col(a.status) == AgreementStatus.in_force)
            )
        ).first()
        first = await _is_first(
            session, actor.organisation_id, supervisee.id, supervisor_id, row_id
        )
        policy = await load_policy(session, actor.organisation_id)
        return SupervisionAgreement(
            id=row_id,
            organisation_id=actor.organisation_id,
            supervisee_id=supervisee.id,
            supervisor_id=supervisor_id,
            number=number + 1,
            status=AgreementStatus.draft,
            supersedes_id=in_force,
            starts_on=data.starts_on,
            review_due_on=agreement_review_due_on(policy, data.starts_on, first=first),
            terms=seal_json(ring, terms, AGREEMENTS_TABLE, row_id, TERMS_COLUMN),
            drafted_by=actor.id,
            created_at=now,
            updated_at=now,
        )

    def same(existing: SupervisionAgreement) -> bool:
        return (
            existing.organisation_id == actor.organisation_id
            and existing.drafted_by == actor.id
            and existing.supervisee_id == data.supervisee_id
            and existing.starts_on == data.starts_on
            and _terms(ring, existing).model_dump() == terms
        )

    row, created = await create_once(
        session,
        SupervisionAgreement,
        data.id,
        build=build,
        same=same,
        conflict="A different agreement already has this id.",
    )
    if created:
        await _changed(session, [row], now)
    return await _view(session, ring, actor, row, now), created


def _as_party(actor: Actor, row: SupervisionAgreement, doing: str) -> None:
    if audience_of(actor, row) is not Audience.full:
        raise Forbidden(f"Only the two people in an agreement {doing} it.")


def _draft_only(row: SupervisionAgreement) -> None:
    if row.status != AgreementStatus.draft:
        state = AgreementStatus(row.status).value.replace("_", " ")
        raise Conflict(
            f"This agreement is {state}; draft a new version to change it.", kind="record-locked"
        )


async def update_agreement(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    agreement_id: uuid.UUID,
    data: AgreementUpdate,
    if_match: str | None,
    now: datetime,
) -> Tagged[AgreementPublic]:
    """Rewrite a draft (either person; If-Match). Signatures given so far are cleared: they
    were given to other words."""
    row = await _load(session, actor, agreement_id, lock=True)
    _as_party(actor, row, "edit")
    require_match(if_match, row.version)
    _draft_only(row)
    policy = await load_policy(session, row.organisation_id)
    first = await _is_first(
        session, row.organisation_id, row.supervisee_id, row.supervisor_id, row.id
    )
    row.starts_on = data.starts_on
    row.review_due_on = agreement_review_due_on(policy, data.starts_on, first=first)
    row.terms = seal_json(ring, data.terms.model_dump(), AGREEMENTS_TABLE, row.id, TERMS_COLUMN)
    row.supervisee_signed_at = row.supervisor_signed_at = None
    row.version += 1
    row.updated_at = now
    await session.flush()
    await _changed(session, [row], now)
    return await _view(session, ring, actor, row, now)


async def sign_agreement(
    session: AsyncSession,
    ring: KeyRing,
    actor: Actor,
    agreement_id: uuid.UUID,
    if_match: str | None,
    now: datetime,
) -> Tagged[AgreementPublic]:
    """Sign a draft as the supervisee or as the supervisor (If-Match: you sign what you read).
    The second signature brings it into force and supersedes the one in force before."""
    row = await _load(session, actor, agreement_id)
    _as_party(actor, row, "sign")
    supervisee = await _supervisee(session, row.organisation_id, row.supervisee_id, lock=True)
    row = await _load(session, actor, agreement_id, lock=True)
    require_match(if_match, row.version)
    _draft_only(row)
    if supervisee.supervisor_id != row.supervisor_id:
        raise Conflict(
            "The supervisor named on this draft no longer supervises this person; draft a new "
            "agreement with their current supervisor.",
            kind="supervisor-changed",
        )
    terms = _terms(ring, row)
    empty = [name for name in TERM_TEXTS_ALL if not getattr(terms, name).strip()]
    if empty:
        raise Invalid(
            "Every term is filled in before an agreement is signed.",
            errors=[{"loc": ["terms", n], "msg": "empty", "type": "value_error"} for n in empty],
        )
    is_supervisee = actor.id == row.supervisee_id
    if (row.supervisee_signed_at if is_supervisee else row.supervisor_signed_at) is not None:
        raise Conflict("You have signed this version already.", kind="already-done")
    if is_supervisee:
        row.supervisee_signed_at = now
    else:
        row.supervisor_signed_at = now
    changed = [row]
    if row.supervisee_signed_at is not None and row.supervisor_signed_at is not None:
        changed += await _supersede(session, row, now)
        row.status = AgreementStatus.in_force
        row.in_force_at = now
    row.version += 1
    row.updated_at = now
    await session.flush()
    await _changed(session, changed, now)
    return await _view(session, ring, actor, row, now)


async def _supersede(
    session: AsyncSession, row: SupervisionAgreement, now: datetime
) -> list[SupervisionAgreement]:
    """Mark the supervisee's agreements in force as superseded by `row` (kept, readable)."""
    a = SupervisionAgreement
    stmt = select(a).where(
        col(a.organisation_id) == row.organisation_id,
        col(a.supervisee_id) == row.supervisee_id,
        col(a.status) == AgreementStatus.in_force,
        col(a.id) != row.id,
    )
    old = list((await session.exec(stmt.with_for_update())).all())
    for previous in old:
        previous.status = AgreementStatus.superseded
        previous.superseded_at = now
        previous.version += 1
        previous.updated_at = now
    if old:
        row.supersedes_id = max(old, key=lambda r: r.number).id
    return old


# --- the feed and the personal export -----------------------------------------------------


async def render_agreements_for_sync(
    session: AsyncSession, ring: KeyRing, actor: Actor, ids: Sequence[uuid.UUID], now: datetime
) -> Mapping[uuid.UUID, BaseModel]:
    """Agreements the caller may still see, as `GET /supervision/agreements/{id}` shows them
    (and logged as that read would be)."""
    stmt = readable_agreements(actor).where(col(SupervisionAgreement.id).in_(ids))
    rendered: dict[uuid.UUID, BaseModel] = {}
    for row in (await session.exec(stmt)).all():
        await _log_read(session, actor, row, now)
        rendered[row.id] = (await _view(session, ring, actor, row, now)).view
    return rendered


async def export_my_agreements(
    session: AsyncSession, ring: KeyRing, actor: Actor, now: datetime
) -> list[AgreementPublic]:
    """Every agreement the caller is one of the two people in, oldest first, with its terms."""
    stmt = (
        select(SupervisionAgreement)
        .where(
            col(SupervisionAgreement.organisation_id) == actor.organisation_id,
            sa.or_(
                col(SupervisionAgreement.supervisee_id) == actor.id,
                col(SupervisionAgreement.supervisor_id) == actor.id,
            ),
        )
        .order_by(col(SupervisionAgreement.created_at), col(SupervisionAgreement.id))
    )
    return [
        (await _view(session, ring, actor, row, now)).view
        for row in (await session.exec(stmt)).all()
    ]
