"""Check-ins: idempotent create, the owner's own list, and sharing with the supervisor."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.analytics.periods import role_group, tenure_band
from models.changes import ChangeOp, NewEntity, logs_with_insert, record_change
from models.db import dialect_name, in_transaction, per_database
from models.directory.caller import ACTOR_COLUMNS, CALLER_IS_ACTIVE, STAFF_TABLE, actor_of
from models.errors import DomainError, Invalid, NotFound
from models.idempotent import create_once, new_row
from models.incidents import Incident
from models.pagination import Keyset, keyset_page
from models.scope import path_up, supervisees, top_down
from models.wellbeing import (
    DEFAULT_SHARE_DAYS,
    CheckIn,
    CheckInRow,
    CheckInShare,
    ShareRow,
    SupportText,
    WellbeingSettings,
)
from wellbeing.catalogue import instrument_for_checkin
from wellbeing.instruments import Instrument
from wellbeing.schemas import (
    CheckInCreate,
    ShareCreate,
)
from wellbeing.scoring import Scored, ScoringError, score
from wellbeing.settings import settings_for
from wellbeing.support import text_or_default
from wellbeing.talk import raise_from_checkin

RESOURCE = "wellbeing_checkin"
SAMARITANS = ("Samaritans (free, 24 hours)", "116 123")
DEFAULT_EAP = "Your employee assistance programme: ask HR or see your intranet"


def request_hash(data: CheckInCreate) -> str:
    """SHA-256 of the canonical body. Fields added after check-ins were first stored keep
    the earlier form when left out (`tell_supervisor` omitted was null; `incident_id`
    absent), so an offline replay of an older app's body still matches its check-in."""
    body = data.model_dump(mode="json")
    if "tell_supervisor" not in data.model_fields_set:
        body["tell_supervisor"] = None
    if body.get("incident_id") is None:
        body.pop("incident_id", None)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def signposts(employee_assistance: str | None) -> list[tuple[str, str]]:
    """Signposting, given the organisation's employee assistance contact (if it set one)."""
    return [
        ("Employee assistance", employee_assistance or DEFAULT_EAP),
        SAMARITANS,
    ]


async def signposting(session: AsyncSession, actor: Actor) -> list[tuple[str, str]]:
    return signposts((await settings_for(session, actor.organisation_id)).employee_assistance)


def own_checkins(actor: Actor) -> SelectOfScalar[CheckIn]:
    return select(CheckIn).where(
        col(CheckIn.organisation_id) == actor.organisation_id, col(CheckIn.staff_id) == actor.id
    )


async def share_of(session: AsyncSession, checkin: CheckIn) -> CheckInShare | None:
    return (
        await session.exec(
            select(CheckInShare).where(
                col(CheckInShare.organisation_id) == checkin.organisation_id,
                col(CheckInShare.checkin_id) == checkin.id,
            )
        )
    ).first()


def share_active(share: ShareRow | None, now: datetime, supervisor_id: uuid.UUID | None) -> bool:
    """Whether `share` is live now and still addressed to the owner's current supervisor."""
    return (
        share is not None
        and share.revoked_at is None
        and share.expires_at > now
        and share.supervisor_id == supervisor_id
    )


@dataclass(frozen=True)
class Recorded:
    """A check-in as `record` left it, with what its owner's view needs (read once)."""

    actor: Actor  # the caller, as `record` read them
    checkin: CheckIn
    created: bool
    share: CheckInShare | None
    # Signposting (the organisation's EAP contact) and the support text for the band
    # `record` scored, keyed (instrument, band) as `support_texts_for` answers.
    signs: list[tuple[str, str]]
    texts: dict[tuple[str, str | None], str | None]


@dataclass(frozen=True)
class _Context:
    """The caller and what a new check-in reads besides itself (see `_CONTEXT`)."""

    actor: Actor
    share_days: int
    employee_assistance: str | None
    text: str | None
    path: list[str]
    started_on: date  # the caller's (their tenure band)


def _context_statement() -> sa.Select[*tuple[Any, ...]]:
    """One statement for all a check-in reads: the caller (the columns an `Actor` is made
    of, and their start date: their tenure band), if still an active member of the
    organisation their token names, with the settings it uses (share days, the EAP
    contact), the organisation's support text for the band scored and the path up the
    unit tree to the caller's unit; a row per unit on the path (one, its unit null,
    without a unit), each carrying the same caller, settings and text (each read once:
    uncorrelated). No row: the caller is not active there."""
    settings: sa.Table = WellbeingSettings.__table__  # type: ignore[attr-defined]
    texts: sa.Table = SupportText.__table__  # type: ignore[attr-defined]
    org = sa.bindparam("organisation_id", type_=sa.Uuid())
    of_org = settings.c.organisation_id == org
    # The walk starts at the caller's unit, read by its key (scoped as the caller's row is;
    # whether they are active is the outer statement's condition).
    up = path_up(
        sa.select(STAFF_TABLE.c.unit_id)
        .where(
            STAFF_TABLE.c.organisation_id == org,
            STAFF_TABLE.c.id == sa.bindparam("staff_id", type_=sa.Uuid()),
        )
        .scalar_subquery()
    )

    def setting(column: sa.Column[Any]) -> sa.Label[Any]:
        return sa.select(column).where(of_org).scalar_subquery().label(column.name)

    return (
        sa.select(
            *ACTOR_COLUMNS,
            STAFF_TABLE.c.started_on,
            setting(settings.c.share_days),
            setting(settings.c.employee_assistance),
            sa.select(texts.c.text)
            .where(
                texts.c.organisation_id == org,
                texts.c.instrument == sa.bindparam("instrument", type_=sa.String()),
                texts.c.band == sa.bindparam("band", type_=sa.String()),
            )
            .scalar_subquery()
            .label("text"),
            up.c.id.label("path_unit"),
        )
        .select_from(STAFF_TABLE.outerjoin(up, sa.true()))
        .where(CALLER_IS_ACTIVE)
        .order_by(up.c.depth)
    )


# Built once: every check-in runs it (one statement where there were four).
_CONTEXT = _context_statement()
_ACTOR_WIDTH = len(ACTOR_COLUMNS)


async def _context(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    staff_id: uuid.UUID,
    instrument: str,
    band: str | None,
) -> _Context | None:
    """`_CONTEXT` for the caller the token names; None if they are not active there."""
    params = {
        "organisation_id": organisation_id,
        "staff_id": staff_id,
        "instrument": instrument,
        "band": band,
    }
    # A Core select (sqlmodel's `select` types at most four columns): through the session,
    # one hop into SQLAlchemy's sync side rather than two.
    rows = (await session.exec(_CONTEXT, params=params)).all()  # type: ignore[call-overload]
    if not rows:
        return None
    first = rows[0]
    started_on, share_days, employee_assistance, text = first[_ACTOR_WIDTH:-1]
    return _Context(
        actor=actor_of(*first[:_ACTOR_WIDTH]),
        share_days=DEFAULT_SHARE_DAYS if share_days is None else share_days,
        employee_assistance=employee_assistance,
        text=text_or_default(instrument, band, text),
        path=top_down(row.path_unit for row in rows if row.path_unit is not None),
        started_on=started_on,
    )


async def _scored(
    session: AsyncSession, organisation_id: uuid.UUID, data: CheckInCreate
) -> tuple[Instrument, Scored]:
    instrument = await instrument_for_checkin(session, organisation_id, data.instrument)
    try:
        return instrument, score(instrument, data.answers)
    except ScoringError as exc:
        raise Invalid(
            "The answers do not fit the instrument.",
            errors=[
                {"loc": ["body", "answers", e["item"]], "msg": e["msg"], "type": "value_error"}
                for e in exc.errors
            ],
        ) from exc


async def create_checkin(
    session: AsyncSession, actor: Actor, data: CheckInCreate, now: datetime
) -> tuple[CheckIn, bool]:
    """Create the caller's check-in, or return the one already made with this id and body.

    Answers (check-in, created) by the offline-create protocol of `models.idempotent`: a
    repeat answers the existing check-in, a reused id with another body is a 409.
    """
    recorded = await record(session, actor.organisation_id, actor.id, data, now)
    if recorded is None:
        raise NotFound("No such staff member.")
    return recorded.checkin, recorded.created


async def record(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    staff_id: uuid.UUID,
    data: CheckInCreate,
    now: datetime,
) -> Recorded | None:
    """`create_checkin` for the person a valid token names, read here (with the rest of
    what a check-in reads, in one statement): None, with nothing written, if they are not
    an active member of that organisation. Answers also the caller, the share, the
    signposting and the support text it read (statements on this path are counted by
    tests/api/test_hot_path_statements.py)."""
    digest = request_hash(data)
    # Scored first, so that the band's support text is read with the caller, the settings
    # and the path; a body that fails here is refused in `build`, as `create_once` wants (a
    # repeat of a create that no longer passes still answers its check-in), and only once
    # the caller is known to be active (a 401 before a refusal of the body's content).
    scored: tuple[Instrument, Scored] | None = None
    refusal: DomainError | None = None
    try:
        scored = await _scored(session, organisation_id, data)
    except DomainError as exc:
        refusal = exc
    key = scored[0].key if scored is not None else data.instrument
    band = scored[1].band if scored is not None else None
    context = await _context(session, organisation_id, staff_id, key, band)
    if context is None:
        return None
    actor = context.actor

    async def build() -> CheckIn:
        if scored is None:
            assert refusal is not None
            raise refusal
        instrument, result = scored
        tell = bool(data.wants_to_talk and data.tell_supervisor)
        if data.share_with_supervisor and actor.supervisor_id is None:
            raise Invalid("You have no supervisor on record to share with.")
        if data.incident_id is not None:
            incident = await session.get(Incident, data.incident_id)
            if incident is None or incident.staff_id != actor.id:
                raise Invalid(
                    "incident_id does not name an incident of yours.",
                    errors=[
                        {
                            "loc": ["body", "incident_id"],
                            "msg": "unknown incident",
                            "type": "value_error",
                        }
                    ],
                )
        return new_row(
            CheckIn,
            {
                "id": data.id,
                "organisation_id": actor.organisation_id,
                "staff_id": actor.id,
                "instrument": instrument.key,
                "instrument_version": instrument.version,
                "content_hash": instrument.content_hash,
                "answers": dict(data.answers),
                "scores": result.scores,
                "bands": result.bands,
                "band": result.band,
                "wants_to_talk": data.wants_to_talk,
                "talk_supervisor_id": actor.supervisor_id if tell else None,
                "request_hash": digest,
                "taken_at": now,
                "unit_path": context.path,
                "role_group": role_group(r.value for r in actor.roles),
                "tenure_band": tenure_band(context.started_on, now.date()),
                "incident_id": data.incident_id,
            },
        )

    def same(existing: CheckIn) -> bool:
        return (
            existing.organisation_id == actor.organisation_id
            and existing.staff_id == actor.id
            and existing.request_hash == digest
        )

    # A plain check-in writes one statement (on PostgreSQL the insert writes its owner's
    # change too), which may run outside a transaction (`models.db.one_write_session`);
    # a shared one, or one that tells the supervisor, writes more, which commit together.
    writes_more = bool(data.share_with_supervisor or (data.wants_to_talk and data.tell_supervisor))
    if writes_more or not logs_with_insert(session):
        await in_transaction(session)
    checkin, created = await create_once(
        session,
        CheckIn,
        data.id,
        build=build,
        same=same,
        conflict="A check-in with this id already exists with different content.",
        logs=NewEntity(RESOURCE, actor.id, now),
        attach=writes_more,  # a plain one is only read from here on
    )
    signs = signposts(context.employee_assistance)
    # The text read is for the band scored now: a repeat whose check-in was scored with an
    # earlier version of the instrument (another band) has its own band's text read.
    texts = {(key, band): context.text}
    if not created:
        return Recorded(actor, checkin, False, await share_of(session, checkin), signs, texts)
    if checkin.talk_supervisor_id is not None:
        await raise_from_checkin(session, actor, checkin, now)
    # The owner's change: logged by the insert on PostgreSQL (`create_once`), here elsewhere.
    audience = [] if logs_with_insert(session) else [actor.id]
    share = None
    if data.share_with_supervisor:
        share = await _share(session, actor, checkin, context.share_days, now, new=True)
        audience.append(share.supervisor_id)
    await record_change(
        session,
        actor.organisation_id,
        RESOURCE,
        checkin.id,
        ChangeOp.upsert,
        audience,
        now,
        owners=[actor.id],
    )
    return Recorded(actor, checkin, True, share, signs, texts)


_LATEST_TAKEN = Keyset[CheckIn](
    col(CheckIn.taken_at), col(CheckIn.id), lambda r: (r.taken_at, r.id)
)
_LATEST_SHARED = Keyset[Any](
    col(CheckInShare.shared_at), col(CheckInShare.id), lambda r: (r[1].shared_at, r[1].id)
)


async def list_my_checkins(
    session: AsyncSession, actor: Actor, *, limit: int, cursor: str | None
) -> tuple[Sequence[CheckIn], str | None]:
    """The caller's check-ins, newest first."""
    stmt = own_checkins(actor)
    return await keyset_page(session, stmt, _LATEST_TAKEN, limit=limit, cursor=cursor)


async def shares_for(
    session: AsyncSession, checkins: Sequence[CheckInRow]
) -> dict[uuid.UUID, CheckInShare]:
    if not checkins:
        return {}
    params = {"org": checkins[0].organisation_id, "ids": [c.id for c in checkins]}
    rows = (await session.exec(_SHARES[dialect_name(session)], params=params)).all()
    return {r.checkin_id: r for r in rows}


# The shares of a page of check-ins (built once; a feed page and every list reads them).
_SHARES = per_database(
    lambda in_list: select(CheckInShare).where(
        col(CheckInShare.organisation_id) == sa.bindparam("org"),
        in_list(col(CheckInShare.checkin_id), "ids"),
    )
)


async def get_my_checkin(session: AsyncSession, actor: Actor, checkin_id: uuid.UUID) -> CheckIn:
    found = (await session.exec(own_checkins(actor).where(col(CheckIn.id) == checkin_id))).first()
    if found is None:
        raise NotFound("No such check-in.")
    return found


async def _share(
    session: AsyncSession,
    actor: Actor,
    checkin: CheckIn,
    days: int | None,
    now: datetime,
    *,
    new: bool = False,
) -> CheckInShare:
    """Share `checkin` (or renew its share); `new`: the check-in was made in this
    transaction, so it has no share to look up."""
    if actor.supervisor_id is None:
        raise Invalid("You have no supervisor on record to share with.")
    if days is None:
        days = (await settings_for(session, actor.organisation_id)).share_days
    found = None if new else await share_of(session, checkin)
    share = found or CheckInShare(
        organisation_id=actor.organisation_id,
        checkin_id=checkin.id,
        owner_id=actor.id,
        supervisor_id=actor.supervisor_id,
        shared_at=now,
        expires_at=now,
    )
    share.supervisor_id = actor.supervisor_id
    share.shared_at = now
    share.expires_at = now + timedelta(days=days)
    share.revoked_at = None
    session.add(share)
    await session.flush()
    return share


async def share_checkin(
    session: AsyncSession, actor: Actor, checkin_id: uuid.UUID, data: ShareCreate, now: datetime
) -> CheckInShare:
    """Share one of the caller's check-ins with their current supervisor (or renew it)."""
    checkin = await get_my_checkin(session, actor, checkin_id)
    share = await _share(session, actor, checkin, data.days, now)
    await record_change(
        session,
        actor.organisation_id,
        RESOURCE,
        checkin.id,
        ChangeOp.upsert,
        [actor.id, share.supervisor_id],
        now,
        owners=[actor.id],
    )
    return share


async def revoke_share(
    session: AsyncSession, actor: Actor, checkin_id: uuid.UUID, now: datetime
) -> None:
    """Stop sharing at once (a no-op if it was not shared)."""
    checkin = await get_my_checkin(session, actor, checkin_id)
    share = await share_of(session, checkin)
    if share is not None and share.revoked_at is None:
        share.revoked_at = now
        await session.flush()
        org = actor.organisation_id
        await record_change(
            session, org, RESOURCE, checkin.id, ChangeOp.upsert, [actor.id], now, owners=[actor.id]
        )
        await record_change(
            session, org, RESOURCE, checkin.id, ChangeOp.delete, [share.supervisor_id], now
        )


def shared_with_clauses(actor: Actor, now: datetime) -> list[sa.ColumnElement[bool]]:
    """Shares addressed to the caller that are live now, from people the caller still
    supervises (a share ends with the supervision relationship)."""
    return [
        col(CheckInShare.organisation_id) == actor.organisation_id,
        col(CheckInShare.supervisor_id) == actor.id,
        col(CheckInShare.revoked_at).is_(None),
        col(CheckInShare.expires_at) > now,
        col(CheckInShare.owner_id).in_(supervisees(actor)),
    ]


def shared_with(actor: Actor, now: datetime) -> SelectOfScalar[CheckInShare]:
    return select(CheckInShare).where(*shared_with_clauses(actor, now))


async def list_shared_with_me(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int, cursor: str | None
) -> tuple[list[tuple[CheckIn, CheckInShare]], str | None]:
    """Check-ins shared with the caller and still live, newest share first; each one
    returned goes to its owner's access log."""
    stmt = (
        select(CheckIn, CheckInShare)
        .join(CheckInShare, col(CheckInShare.checkin_id) == col(CheckIn.id))
        .where(
            col(CheckIn.organisation_id) == actor.organisation_id,
            col(CheckInShare.id).in_(
                select(col(CheckInShare.id)).where(*shared_with_clauses(actor, now))
            ),
        )
    )
    found, next_cursor = await keyset_page(
        session, stmt, _LATEST_SHARED, limit=limit, cursor=cursor
    )
    rows = [(c, s) for c, s in found]
    for checkin, _ in rows:
        await record_access(
            session, actor, checkin.staff_id, RESOURCE, checkin.id, AccessReason.shared_with_me, now
        )
    return rows, next_cursor


async def get_checkin(
    session: AsyncSession, actor: Actor, checkin_id: uuid.UUID, now: datetime
) -> tuple[CheckIn, CheckInShare | None]:
    """A check-in for its owner, or for the supervisor it is shared with while shared."""
    checkin = await session.get(CheckIn, checkin_id)
    if checkin is None or checkin.organisation_id != actor.organisation_id:
        raise NotFound("No such check-in.")
    share = await share_of(session, checkin)
    if checkin.staff_id == actor.id:
        return checkin, share
    live = (
        await session.exec(
            shared_with(actor, now).where(col(CheckInShare.checkin_id) == checkin.id)
        )
    ).first()
    if live is not None:
        await record_access(
            session, actor, checkin.staff_id, RESOURCE, checkin.id, AccessReason.shared_with_me, now
        )
        return checkin, share
    raise NotFound("No such check-in.")
