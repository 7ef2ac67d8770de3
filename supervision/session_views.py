"""Showing a session to each audience: the summary (no text), and the whole session as
its audience may see it (admins: no record text; managers: no private support section)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.crypto import KeyRing, open_text
from models.etag import Tagged, etag_for
from models.supervision import (
    ADDENDA_TABLE,
    CASE_DISCUSSIONS_TABLE,
    HELD_STATUSES,
    RECORDS_TABLE,
    SESSIONS_TABLE,
    Addendum,
    CaseDiscussion,
    SessionKind,
    SessionStatus,
    SupervisionAction,
    SupervisionRecord,
    SupervisionSession,
)
from supervision.policy import (
    CadencePolicy,
    counts_toward_cadence,
    sign_off_due_on,
    write_up_due_on,
)
from supervision.policy_store import load_policy
from supervision.schemas import (
    ActionPublic,
    AddendumPublic,
    Audience,
    CaseDiscussionPublic,
    RecordPublic,
    SessionPublic,
    SessionSummary,
)


@dataclass(frozen=True, slots=True)
class Visible:
    """A session and how much of it the caller may see."""

    row: SupervisionSession
    audience: Audience


def summary(row: SupervisionSession, policy: CadencePolicy) -> SessionSummary:
    """A session's metadata (no text), with its write-up and sign-off deadlines."""
    status = SessionStatus(row.status)
    held = status in HELD_STATUSES
    write_up_due = None
    if status != SessionStatus.cancelled:
        write_up_due = write_up_due_on(policy, row.held_on or row.scheduled_for.date())
    sign_off_due = None
    if held and row.recorded_at is not None:
        sign_off_due = sign_off_due_on(policy, row.recorded_at.date())
    return SessionSummary(
        id=row.id,
        supervisee_id=row.supervisee_id,
        supervisor_id=row.supervisor_id,
        kind=SessionKind(row.kind),
        status=status,
        scheduled_for=row.scheduled_for,
        duration_minutes=row.duration_minutes,
        held_at=row.held_at,
        held_minutes=row.held_minutes,
        counts_toward_cadence=held
        and counts_toward_cadence(policy, SessionKind(row.kind), row.held_minutes or 0),
        cancelled_by=row.cancelled_by,
        cancelled_at=row.cancelled_at,
        recorded_at=row.recorded_at,
        write_up_due_on=write_up_due,
        signed_off_at=row.signed_off_at,
        sign_off_due_on=sign_off_due,
        created_at=row.created_at,
        version=row.version,
    )


async def summaries(
    session: AsyncSession, organisation_id: uuid.UUID, rows: Sequence[SupervisionSession]
) -> list[SessionSummary]:
    policy = await load_policy(session, organisation_id)
    return [summary(r, policy) for r in rows]


def action_public(action: SupervisionAction) -> ActionPublic:
    return ActionPublic.model_validate(action, from_attributes=True)


def cancelled_reason(ring: KeyRing, row: SupervisionSession) -> str | None:
    if row.cancelled_reason is None:
        return None
    return open_text(ring, row.cancelled_reason, SESSIONS_TABLE, row.id, "cancelled_reason")


def addendum_public(ring: KeyRing, addendum: Addendum) -> AddendumPublic:
    return AddendumPublic(
        id=addendum.id,
        author_id=addendum.author_id,
        text=open_text(ring, addendum.text, ADDENDA_TABLE, addendum.id, "text"),
        created_at=addendum.created_at,
    )


def case_discussion_public(ring: KeyRing, d: CaseDiscussion) -> CaseDiscussionPublic:
    def text(column: str) -> str:
        return open_text(ring, getattr(d, column), CASE_DISCUSSIONS_TABLE, d.id, column)

    return CaseDiscussionPublic(
        case_reference=d.case_reference,
        worried_about=text("worried_about"),
        working_well=text("working_well"),
        needs_to_happen=text("needs_to_happen"),
        scaling=d.scaling,
        decision=text("decision"),
        rationale=text("rationale"),
    )


async def session_public(
    session: AsyncSession, ring: KeyRing, row: SupervisionSession, audience: Audience
) -> SessionPublic:
    """The session as `audience` may see it: admins get no record text at all, managers get
    the record without a support section its supervisee marked private. Sealed text is
    opened here, for those who may read it."""
    policy = await load_policy(session, row.organisation_id)
    actions = (
        await session.exec(
            select(SupervisionAction)
            .where(
                col(SupervisionAction.organisation_id) == row.organisation_id,
                col(SupervisionAction.session_id) == row.id,
            )
            .order_by(col(SupervisionAction.position))
        )
    ).all()
    record_public: RecordPublic | None = None
    addenda: list[AddendumPublic] = []
    if audience is not Audience.metadata:
        record_public = await _record_public(session, ring, row, audience)
        found = await session.exec(
            select(Addendum)
            .where(
                col(Addendum.organisation_id) == row.organisation_id,
                col(Addendum.session_id) == row.id,
            )
            .order_by(col(Addendum.created_at), col(Addendum.id))
        )
        addenda = [addendum_public(ring, a) for a in found.all()]
    return SessionPublic(
        **summary(row, policy).model_dump(),
        access=audience,
        cancelled_reason=None if audience is Audience.metadata else cancelled_reason(ring, row),
        record=record_public,
        addenda=addenda,
        actions=[action_public(a) for a in actions],
    )


async def _record_public(
    session: AsyncSession, ring: KeyRing, row: SupervisionSession, audience: Audience
) -> RecordPublic | None:
    record = (
        await session.exec(
            select(SupervisionRecord).where(
                col(SupervisionRecord.organisation_id) == row.organisation_id,
                col(SupervisionRecord.session_id) == row.id,
            )
        )
    ).first()
    if record is None:
        return None
    discussions = (
        await session.exec(
            select(CaseDiscussion)
            .where(
                col(CaseDiscussion.organisation_id) == row.organisation_id,
                col(CaseDiscussion.session_id) == row.id,
            )
            .order_by(col(CaseDiscussion.position))
        )
    ).all()
    redacted = record.support_private and audience is not Audience.full

    def section(column: str) -> str:
        return open_text(ring, getattr(record, column), RECORDS_TABLE, record.id, column)

    comment = record.sign_off_comment
    return RecordPublic(
        management=section("management"),
        development=section("development"),
        # A redacted section is never opened, not only never shown.
        support=None if redacted else section("support"),
        support_redacted=redacted,
        mediation=section("mediation"),
        support_private=record.support_private,
        wellbeing_discussed=record.wellbeing_discussed,
        case_discussions=[case_discussion_public(ring, d) for d in discussions],
        recorded_by=record.recorded_by,
        sign_off_agreed=record.sign_off_agreed,
        sign_off_comment=None
        if comment is None
        else open_text(ring, comment, RECORDS_TABLE, record.id, "sign_off_comment"),
    )


async def tagged_session(
    session: AsyncSession, ring: KeyRing, visible: Visible
) -> Tagged[SessionPublic]:
    """The session as the caller may see it, with its ETag."""
    return Tagged(
        await session_public(session, ring, visible.row, visible.audience),
        etag_for(visible.row.version),
    )
