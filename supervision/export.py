"""Case decision export: what was decided about a case in supervision, for the child's record.

Only decisions, rationale, actions and dates leave: never the four functions' text (support,
mediation, ...), the Signs of Safety mapping, sign-off comments, or anything reflective.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessReason, record_access
from models.actor import Actor
from models.crypto import KeyRing, open_text
from models.directory.staff import Staff
from models.spreadsheet import neutralise
from models.supervision import (
    CASE_DISCUSSIONS_TABLE,
    HELD_STATUSES,
    CaseDiscussion,
    SessionStatus,
    SupervisionAction,
    SupervisionSession,
)
from supervision.access import record_readable_sessions
from supervision.schemas_export import CaseAction, CaseDecision, CaseExport

RESOURCE = "supervision_session"


async def export_case(
    session: AsyncSession, ring: KeyRing, actor: Actor, case_reference: str, now: datetime
) -> CaseExport:
    """Decisions and actions about `case_reference` from sessions whose record the caller may
    read; each supervisee's access log notes the export."""
    ref = case_reference.strip()
    visible = (
        record_readable_sessions(actor)
        .where(col(SupervisionSession.status).in_([s.value for s in HELD_STATUSES]))
        .subquery()
    )
    rows = (
        await session.exec(
            select(CaseDiscussion, SupervisionSession)
            .join(SupervisionSession, col(SupervisionSession.id) == col(CaseDiscussion.session_id))
            .where(
                col(CaseDiscussion.organisation_id) == actor.organisation_id,
                col(CaseDiscussion.case_reference) == ref,
                col(CaseDiscussion.session_id).in_(select(visible.c.id)),
            )
            .order_by(col(SupervisionSession.held_at), col(CaseDiscussion.position))
        )
    ).all()
    actions = (
        await session.exec(
            select(SupervisionAction, SupervisionSession)
            .join(
                SupervisionSession, col(SupervisionSession.id) == col(SupervisionAction.session_id)
            )
            .where(
                col(SupervisionAction.organisation_id) == actor.organisation_id,
                col(SupervisionAction.case_reference) == ref,
                col(SupervisionAction.session_id).in_(select(visible.c.id)),
            )
            .order_by(col(SupervisionSession.held_at), col(SupervisionAction.position))
        )
    ).all()
    people: set[uuid.UUID] = set()
    for _, s in [*rows, *actions]:
        people.update((s.supervisee_id, s.supervisor_id))
    people.update(a.owner_id for a, _ in actions)
    found = await session.exec(
        select(col(Staff.id), col(Staff.display_name)).where(
            col(Staff.organisation_id) == actor.organisation_id, col(Staff.id).in_(people)
        )
    )
    names: dict[uuid.UUID, str] = dict(found.all())
    logged: set[uuid.UUID] = set()
    for _, s in [*rows, *actions]:
        if s.id not in logged:
            logged.add(s.id)
            await record_access(
                session, actor, s.supervisee_id, RESOURCE, s.id, AccessReason.export, now
            )
    return CaseExport(
        case_reference=ref,
        generated_at=now,
        decisions=[
            CaseDecision(
                session_id=s.id,
                held_on=s.held_on,
                supervisee_id=s.supervisee_id,
                supervisee_name=names.get(s.supervisee_id, ""),
                supervisor_id=s.supervisor_id,
                supervisor_name=names.get(s.supervisor_id, ""),
                signed_off=s.status == SessionStatus.signed_off,
                scaling=d.scaling,
                decision=_opened(ring, d, "decision"),
                rationale=_opened(ring, d, "rationale"),
            )
            for d, s in rows
        ],
        actions=[
            CaseAction(
                session_id=s.id,
                agreed_on=s.held_on,
                description=a.description,
                owner_id=a.owner_id,
                owner_name=names.get(a.owner_id, ""),
                due_on=a.due_on,
                status=a.status,
                completed_at=a.completed_at,
            )
            for a, s in actions
        ],
    )


def _opened(ring: KeyRing, discussion: CaseDiscussion, column: str) -> str:
    return open_text(
        ring, getattr(discussion, column), CASE_DISCUSSIONS_TABLE, discussion.id, column
    )


CSV_COLUMNS = [
    "case_reference",
    "type",
    "date",
    "session_id",
    "supervisee",
    "supervisor",
    "signed_off",
    "scaling",
    "decision",
    "rationale",
    "action",
    "action_owner",
    "action_due_on",
    "action_status",
]


def export_csv(export: CaseExport) -> str:
    """The export as CSV: one row per decision, then one per action."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in export.decisions:
        writer.writerow(
            neutralise(v)
            for v in (
                export.case_reference,
                "decision",
                d.held_on,
                d.session_id,
                d.supervisee_name,
                d.supervisor_name,
                "yes" if d.signed_off else "no",
                d.scaling,
                d.decision,
                d.rationale,
                "",
                "",
                "",
                "",
            )
        )
    for a in export.actions:
        writer.writerow(
            neutralise(v)
            for v in (
                export.case_reference,
                "action",
                a.agreed_on,
                a.session_id,
                "",
                "",
                "",
                "",
                "",
                "",
                a.description,
                a.owner_name,
                a.due_on,
                a.status.value,
            )
        )
    return buffer.getvalue()
