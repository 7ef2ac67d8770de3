"""Factories for supervision tables (sessions, records, absences)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from models.absence import Absence, AbsenceKind
from models.agreement import (
    AGREEMENTS_TABLE,
    TERMS_COLUMN,
    AgreementStatus,
    SupervisionAgreement,
)
from models.crypto import KeyRing, parse_key_ring, seal_json, seal_text
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Cohort, Role, Staff
from models.group_supervision import Attendance, GroupAttendee, GroupFormat, GroupSession
from models.supervision import (
    RECORDS_TABLE,
    ActionStatus,
    SessionKind,
    SessionStatus,
    SupervisionAction,
    SupervisionRecord,
    SupervisionSession,
)
from tests.conftest import TEST_ENCRYPTION_KEYS
from tests.factories.directory import make_org, make_staff, make_unit

# The ring the test apps seal with (tests/conftest.py's test settings).
TEST_RING: KeyRing = parse_key_ring(TEST_ENCRYPTION_KEYS)


def sealed_record(
    session: SupervisionSession, author: Staff, ring: KeyRing = TEST_RING, **sections: str | bool
) -> SupervisionRecord:
    """A record row with its sections sealed as the app seals them (others empty)."""
    record_id = uuid.uuid4()
    support_private = bool(sections.pop("support_private", False))

    def sealed(column: str) -> str:
        return seal_text(ring, str(sections.pop(column, "")), RECORDS_TABLE, record_id, column)

    record = SupervisionRecord(
        id=record_id,
        organisation_id=session.organisation_id,
        session_id=session.id,
        recorded_by=author.id,
        support_private=support_private,
        management=sealed("management"),
        development=sealed("development"),
        support=sealed("support"),
        mediation=sealed("mediation"),
    )
    assert not sections, sections
    return record


async def make_session(
    db: AsyncSession,
    supervisee: Staff,
    supervisor: Staff,
    *,
    now: datetime,
    scheduled_for: datetime | None = None,
    kind: SessionKind = SessionKind.one_to_one,
    status: SessionStatus = SessionStatus.scheduled,
    held_on: date | None = None,
    held_minutes: int = 90,
    recorded_at: datetime | None = None,
    support: str = "",
    support_private: bool = False,
    ring: KeyRing = TEST_RING,
) -> SupervisionSession:
    """A session; with `held_on` it is recorded (or `status`) on that day, with a record."""
    if held_on is not None and status == SessionStatus.scheduled:
        status = SessionStatus.recorded
    held_at = datetime.combine(held_on, time(10, 0), tzinfo=UTC) if held_on else None
    row = SupervisionSession(
        organisation_id=supervisee.organisation_id,
        supervisee_id=supervisee.id,
        supervisor_id=supervisor.id,
        kind=kind,
        status=status,
        scheduled_for=scheduled_for or held_at or now + timedelta(days=1),
        duration_minutes=90,
        held_at=held_at,
        held_on=held_on,
        held_minutes=held_minutes if held_on else None,
        recorded_at=(recorded_at or held_at) if held_on else None,
        signed_off_at=held_at if status == SessionStatus.signed_off else None,
        created_by=supervisor.id,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    await db.flush()
    if held_on is not None:
        db.add(
            sealed_record(
                row,
                supervisor,
                ring,
                management="caseload reviewed",
                support=support,
                support_private=support_private,
            )
        )
        await db.flush()
    return row


async def make_action(
    db: AsyncSession,
    sess: SupervisionSession,
    *,
    now: datetime,
    due_on: date | None = None,
    status: ActionStatus = ActionStatus.open,
) -> SupervisionAction:
    action = SupervisionAction(
        organisation_id=sess.organisation_id,
        session_id=sess.id,
        supervisee_id=sess.supervisee_id,
        owner_id=sess.supervisee_id,
        position=0,
        description="read the chronology",
        due_on=due_on,
        status=status,
        created_at=now,
        updated_at=now,
    )
    db.add(action)
    await db.flush()
    return action


async def make_absence(
    db: AsyncSession,
    staff: Staff,
    starts_on: date,
    ends_on: date,
    *,
    now: datetime,
    kind: AbsenceKind = AbsenceKind.annual_leave,
) -> Absence:
    absence = Absence(
        organisation_id=staff.organisation_id,
        staff_id=staff.id,
        starts_on=starts_on,
        ends_on=ends_on,
        kind=kind,
        created_at=now,
    )
    db.add(absence)
    await db.flush()
    return absence


@dataclass
class Team:
    """One organisation with every relationship the permission table names."""

    org: Organisation
    directorate: Unit
    team: Unit
    other_team: Unit
    head: Staff  # manages the directorate (an ancestor of the team)
    manager: Staff  # manages the team
    supervisor: Staff
    supervisee: Staff
    colleague: Staff  # same team, unrelated to the supervision
    other_manager: Staff  # manages a sibling team
    hr: Staff
    admin: Staff
    outsider: Staff  # a manager and admin in another organisation


async def make_team(
    db: AsyncSession,
    *,
    now: datetime,
    cohort: Cohort = Cohort.qualified,
    started_on: date = date(2024, 1, 8),
) -> Team:
    org = await make_org(db, now=now)
    head = await make_staff(db, org, Role.manager, now=now)
    manager = await make_staff(db, org, Role.manager, now=now)
    other_manager = await make_staff(db, org, Role.manager, now=now)
    directorate = await make_unit(db, org, manager=head, now=now)
    team = await make_unit(db, org, parent=directorate, manager=manager, now=now)
    other_team = await make_unit(db, org, parent=directorate, manager=other_manager, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, unit=team, now=now)
    supervisee = await make_staff(
        db, org, unit=team, supervisor=supervisor, cohort=cohort, started_on=started_on, now=now
    )
    colleague = await make_staff(db, org, Role.supervisor, unit=team, now=now)
    hr = await make_staff(db, org, Role.hr, now=now)
    admin = await make_staff(db, org, Role.admin, now=now)
    elsewhere = await make_org(db, now=now)
    outsider = await make_staff(db, elsewhere, Role.manager, Role.admin, Role.supervisor, now=now)
    return Team(
        org=org,
        directorate=directorate,
        team=team,
        other_team=other_team,
        head=head,
        manager=manager,
        supervisor=supervisor,
        supervisee=supervisee,
        colleague=colleague,
        other_manager=other_manager,
        hr=hr,
        admin=admin,
        outsider=outsider,
    )


async def make_agreement(
    db: AsyncSession,
    supervisee: Staff,
    supervisor: Staff,
    *,
    now: datetime,
    starts_on: date,
    review_due_on: date,
    in_force_at: datetime | None,
    superseded_at: datetime | None = None,
    number: int = 1,
) -> SupervisionAgreement:
    """An agreement: a draft without `in_force_at`, else in force (or superseded)."""
    row_id = uuid.uuid4()
    status = AgreementStatus.draft
    if in_force_at is not None:
        status = AgreementStatus.superseded if superseded_at else AgreementStatus.in_force
    terms = {"frequency_days": 28, "duration_minutes": 90, "learning_needs": "Court skills."}
    row = SupervisionAgreement(
        id=row_id,
        organisation_id=supervisee.organisation_id,
        supervisee_id=supervisee.id,
        supervisor_id=supervisor.id,
        number=number,
        status=status,
        starts_on=starts_on,
        review_due_on=review_due_on,
        terms=seal_json(TEST_RING, terms, AGREEMENTS_TABLE, row_id, TERMS_COLUMN),
        supervisee_signed_at=in_force_at,
        supervisor_signed_at=in_force_at,
        in_force_at=in_force_at,
        superseded_at=superseded_at,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    await db.flush()
    return row


async def make_group(
    db: AsyncSession,
    facilitator: Staff,
    attendees: list[tuple[Staff, Attendance]],
    *,
    now: datetime,
    held_on: date,
    minutes: int = 90,
) -> GroupSession:
    """A recorded group session held on `held_on` (no record text: oversight counts it)."""
    held_at = datetime.combine(held_on, time(10, 0), tzinfo=UTC)
    row = GroupSession(
        organisation_id=facilitator.organisation_id,
        facilitator_id=facilitator.id,
        format=GroupFormat.signs_of_safety,
        status=SessionStatus.recorded,
        scheduled_for=held_at,
        duration_minutes=minutes,
        held_at=held_at,
        held_minutes=minutes,
        recorded_at=held_at,
        created_by=facilitator.id,
        request_hash="0" * 64,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    await db.flush()
    for position, (person, attendance) in enumerate(attendees):
        db.add(
            GroupAttendee(
                organisation_id=row.organisation_id,
                group_session_id=row.id,
                staff_id=person.id,
                position=position,
                attendance=attendance,
                held_on=held_on if attendance is Attendance.attended else None,
            )
        )
    await db.flush()
    return row
