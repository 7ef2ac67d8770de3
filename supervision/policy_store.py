"""Reading and replacing an organisation's cadence policy."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.calendar import Nation, non_working_days
from models.etag import require_match
from models.supervision import SessionKind, SupervisionPolicyRow
from supervision.policy import DEFAULT_POLICY, CadencePolicy
from supervision.schemas import PolicyPublic, PolicyUpdate

# An organisation that never changed its policy reads the defaults as version 1.
DEFAULT_VERSION = 1


def _from_row(row: SupervisionPolicyRow) -> CadencePolicy:
    return CadencePolicy(
        asye_weekly_weeks=row.asye_weekly_weeks,
        asye_weekly_interval_days=row.asye_weekly_interval_days,
        asye_fortnightly_months=row.asye_fortnightly_months,
        asye_fortnightly_interval_days=row.asye_fortnightly_interval_days,
        asye_interval_days=row.asye_interval_days,
        qualified_interval_days=row.qualified_interval_days,
        manager_interval_days=row.manager_interval_days,
        student_interval_days=row.student_interval_days,
        other_interval_days=row.other_interval_days,
        minimum_minutes=row.minimum_minutes,
        counted_kinds=frozenset(SessionKind(k) for k in row.counted_kinds),
        write_up_working_days=row.write_up_working_days,
        sign_off_working_days=row.sign_off_working_days,
        bank_holidays=frozenset(date.fromisoformat(d) for d in row.bank_holidays),
        group_min_attendees=row.group_min_attendees,
        group_max_attendees=row.group_max_attendees,
        agreement_first_review_months=row.agreement_first_review_months,
        agreement_review_months=row.agreement_review_months,
        nation=Nation(row.nation),
    )


def policy_public(policy: CadencePolicy) -> PolicyPublic:
    return PolicyPublic(
        asye_weekly_weeks=policy.asye_weekly_weeks,
        asye_weekly_interval_days=policy.asye_weekly_interval_days,
        asye_fortnightly_months=policy.asye_fortnightly_months,
        asye_fortnightly_interval_days=policy.asye_fortnightly_interval_days,
        asye_interval_days=policy.asye_interval_days,
        qualified_interval_days=policy.qualified_interval_days,
        manager_interval_days=policy.manager_interval_days,
        student_interval_days=policy.student_interval_days,
        other_interval_days=policy.other_interval_days,
        minimum_minutes=policy.minimum_minutes,
        counted_kinds=sorted(policy.counted_kinds),
        write_up_working_days=policy.write_up_working_days,
        sign_off_working_days=policy.sign_off_working_days,
        bank_holidays=sorted(policy.bank_holidays),
        group_min_attendees=policy.group_min_attendees,
        group_max_attendees=policy.group_max_attendees,
        agreement_first_review_months=policy.agreement_first_review_months,
        agreement_review_months=policy.agreement_review_months,
        nation=policy.nation,
    )


async def _row(
    session: AsyncSession, organisation_id: uuid.UUID, *, lock: bool = False
) -> SupervisionPolicyRow | None:
    stmt = select(SupervisionPolicyRow).where(
        col(SupervisionPolicyRow.organisation_id) == organisation_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def load_policy(session: AsyncSession, organisation_id: uuid.UUID) -> CadencePolicy:
    """The policy in force for an organisation (the defaults until an admin changes it),
    with its non-working days loaded: the nation's bank holidays and its closure days."""
    row = await _row(session, organisation_id)
    policy = DEFAULT_POLICY if row is None else _from_row(row)
    closed = await non_working_days(session, organisation_id, policy.nation)
    return replace(policy, closed_days=closed)


async def get_policy(session: AsyncSession, actor: Actor) -> tuple[CadencePolicy, int]:
    """The caller's organisation's policy and its version (anyone in the organisation)."""
    row = await _row(session, actor.organisation_id)
    if row is None:
        return DEFAULT_POLICY, DEFAULT_VERSION
    return _from_row(row), row.version


async def put_policy(
    session: AsyncSession, actor: Actor, data: PolicyUpdate, if_match: str | None, now: datetime
) -> tuple[CadencePolicy, int]:
    """Replace the policy (admins; the route checks the role)."""
    row = await _row(session, actor.organisation_id, lock=True)
    require_match(if_match, DEFAULT_VERSION if row is None else row.version)
    values = data.model_dump()
    values["counted_kinds"] = sorted({SessionKind(k).value for k in data.counted_kinds})
    values["bank_holidays"] = sorted({d.isoformat() for d in data.bank_holidays})
    values["nation"] = Nation(data.nation).value
    if row is None:
        row = SupervisionPolicyRow(
            organisation_id=actor.organisation_id,
            version=DEFAULT_VERSION + 1,
            updated_at=now,
            **values,
        )
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.version += 1
        row.updated_at = now
    await session.flush()
    return _from_row(row), row.version
