"""Agreements and group supervision as oversight counts them (one statement each).

Shared by the roll-up, the trend and the report card, so each reads them the same way:
group sessions are counted apart from one-to-ones (sessions held, people reached), and an
attended group session counts toward someone's cadence only when the policy counts groups.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.agreement import AgreementStatus, SupervisionAgreement
from models.db import InList, dialect_name, per_database
from models.group_supervision import Attendance, GroupAttendee, GroupSession
from models.report_card import CountPair, PracticeCounts
from models.supervision import SessionKind, SessionStatus
from supervision.policy import CadencePolicy, counts_toward_cadence


@dataclass(frozen=True, slots=True)
class Attended:
    """One person at one held group session (on their own local date)."""

    staff_id: uuid.UUID
    group_id: uuid.UUID
    held_on: date
    minutes: int


def _attended_statement(in_list: InList, until: bool) -> Any:
    """`attended_groups`' statement (parameters `org`, `ids`, `since` and, if `until`,
    `until`)."""
    a, g = GroupAttendee, GroupSession
    stmt: Any = (
        sa.select(col(a.staff_id), col(a.group_session_id), col(a.held_on), col(g.held_minutes))
        .join(g, col(g.id) == col(a.group_session_id))
        .where(
            col(a.organisation_id) == sa.bindparam("org"),
            col(g.organisation_id) == sa.bindparam("org"),
            in_list(col(a.staff_id), "ids"),
            col(a.attendance) == Attendance.attended,
            col(g.status) == SessionStatus.recorded,
            col(a.held_on) >= sa.bindparam("since"),
        )
    )
    if until:
        stmt = stmt.where(col(a.held_on) <= sa.bindparam("until"))
    return stmt


# Built once for each database: building them cost more Python than running them.
_ATTENDED = {
    until: per_database(partial(_attended_statement, until=until)) for until in (False, True)
}


async def attended_groups(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    since: date,
    until: date | None = None,
) -> list[Attended]:
    """Who attended which held group session, `since` to `until` (inclusive)."""
    stmt = _ATTENDED[until is not None][dialect_name(session)]
    params: dict[str, Any] = {"org": organisation_id, "ids": list(ids), "since": since}
    if until is not None:
        params["until"] = until
    connection = await session.connection()
    return [
        Attended(staff_id, group_id, held_on, minutes or 0)
        for staff_id, group_id, held_on, minutes in (await connection.execute(stmt, params)).all()
        if held_on is not None
    ]


def counted_group_days(
    policy: CadencePolicy, attended: Iterable[Attended]
) -> dict[uuid.UUID, list[date]]:
    """The days each person attended a group session that counts toward their cadence (none
    unless the policy counts group sessions)."""
    days: dict[uuid.UUID, list[date]] = defaultdict(list)
    for a in attended:
        if counts_toward_cadence(policy, SessionKind.group, a.minutes):
            days[a.staff_id].append(a.held_on)
    return days


def reach(attended: Iterable[Attended], people: set[uuid.UUID]) -> tuple[int, int]:
    """(group sessions held, people reached) among `people`: a session counts once however
    many of them were there."""
    mine = [a for a in attended if a.staff_id in people]
    return len({a.group_id for a in mine}), len({a.staff_id for a in mine})


@dataclass(frozen=True, slots=True)
class AgreementSpan:
    """One agreement that was in force for a while (maybe still)."""

    supervisee_id: uuid.UUID
    supervisor_id: uuid.UUID
    review_due_on: date
    in_force_at: datetime
    superseded_at: datetime | None

    def in_force_on(self, day: date) -> bool:
        """In force at the end of `day` (UTC)."""
        end = datetime.combine(day + timedelta(days=1), time.min, UTC)
        return self.in_force_at < end and (self.superseded_at is None or self.superseded_at >= end)


_AGREEMENTS = per_database(
    lambda in_list: sa.select(
        col(SupervisionAgreement.supervisee_id),
        col(SupervisionAgreement.supervisor_id),
        col(SupervisionAgreement.review_due_on),
        col(SupervisionAgreement.in_force_at),
        col(SupervisionAgreement.superseded_at),
    ).where(
        col(SupervisionAgreement.organisation_id) == sa.bindparam("org"),
        in_list(col(SupervisionAgreement.supervisee_id), "ids"),
        col(SupervisionAgreement.status) != AgreementStatus.draft,
        col(SupervisionAgreement.in_force_at).is_not(None),
    )
)


async def agreement_spans(
    session: AsyncSession, organisation_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AgreementSpan]]:
    """Every agreement of these people that has been in force (drafts never were)."""
    stmt = _AGREEMENTS[dialect_name(session)]
    params = {"org": organisation_id, "ids": list(ids)}
    spans: dict[uuid.UUID, list[AgreementSpan]] = defaultdict(list)
    connection = await session.connection()
    rows = (await connection.execute(stmt, params)).all()
    for supervisee, supervisor, review, since, until in rows:
        if since is not None:  # the statement selects signed ones only
            spans[supervisee].append(AgreementSpan(supervisee, supervisor, review, since, until))
    return spans


def in_force_on(spans: Sequence[AgreementSpan], day: date) -> AgreementSpan | None:
    """The agreement in force at the end of `day`, if any."""
    found = [s for s in spans if s.in_force_on(day)]
    return max(found, key=lambda s: s.in_force_at) if found else None


def agreement_counts(
    spans: dict[uuid.UUID, list[AgreementSpan]], people: Iterable[uuid.UUID], day: date
) -> tuple[int, int]:
    """(people with a signed agreement in force, of those: review overdue) on `day`."""
    in_place = overdue = 0
    for person in people:
        current = in_force_on(spans.get(person, []), day)
        if current is not None:
            in_place += 1
            overdue += current.review_due_on < day
    return in_place, overdue


async def practice_counts(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    people: Sequence[tuple[uuid.UUID, date]],
    periods: Sequence[tuple[date, date]],
) -> tuple[PracticeCounts, list[Attended]]:
    """The report card's practice section for (current, previous) periods, each a (first
    day, day after) pair, over `people` (id, started on); and the group attendance read for
    it (so the card's cadence figures can count attended groups too). Two statements."""
    ids = [pid for pid, _ in people]
    (current_start, current_end), (previous_start, previous_end) = periods
    groups = await attended_groups(
        session, organisation_id, ids, previous_start, current_end - timedelta(days=1)
    )
    spans = await agreement_spans(session, organisation_id, ids)
    everyone = set(ids)

    def figures(start: date, end: date) -> tuple[int, int, int, int]:
        held, reached = reach([g for g in groups if start <= g.held_on < end], everyone)
        as_of = end - timedelta(days=1)
        in_post = [pid for pid, started_on in people if started_on <= as_of]
        in_place, overdue = agreement_counts(spans, in_post, as_of)
        return held, reached, in_place, overdue

    now_, before = figures(current_start, current_end), figures(previous_start, previous_end)

    def pair(i: int) -> CountPair:
        return CountPair(current=now_[i], previous=before[i])

    counts = PracticeCounts(
        group_sessions_held=pair(0),
        group_people_reached=pair(1),
        agreements_in_place=pair(2),
        agreement_reviews_overdue=pair(3),
    )
    return counts, groups
