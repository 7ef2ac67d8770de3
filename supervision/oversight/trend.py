"""The monthly supervision compliance trend for a unit's subtree (a fixed set of statements)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.absence import absence_spans
from models.actor import Actor
from models.supervision import HELD_STATUSES, SessionKind, SessionStatus, SupervisionSession
from supervision.oversight.practice import attended_groups, counted_group_days, reach
from supervision.oversight.rollup import people_in, staff_in_units, subtree_unit_ids, unit_audience
from supervision.oversight.schemas import SupervisionTrend, TrendMonth
from supervision.policy import counts_toward_cadence, next_due_on
from supervision.policy_store import load_policy
from supervision.status import last_counted_on


def _month_start(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


async def unit_trend(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID, months: int, now: datetime
) -> SupervisionTrend:
    """Month by month: the share of people within cadence at the month's end (or today),
    sessions held and counted, cancellations, and group sessions apart from one-to-ones.
    People are those in the subtree now."""
    await unit_audience(session, actor, unit_id)
    org = actor.organisation_id
    policy = await load_policy(session, org)
    units = await subtree_unit_ids(session, org, unit_id)
    people = await people_in(session, org, staff_in_units(units))
    ids = [p.id for p in people]
    today = now.date()
    first = _month_start(today, months - 1)
    before = await last_counted_on(
        session, org, ids, policy, on_or_before=first - timedelta(days=1)
    )
    spans = await absence_spans(session, org, ids)
    s = SupervisionSession
    stmt = sa.select(
        col(s.supervisee_id),
        col(s.status),
        col(s.kind),
        col(s.held_on),
        col(s.held_minutes),
        col(s.cancelled_at),
    ).where(
        col(s.organisation_id) == org,
        col(s.supervisee_id).in_(ids),
        sa.or_(
            sa.and_(col(s.status).in_([st.value for st in HELD_STATUSES]), col(s.held_on) >= first),
            sa.and_(
                col(s.status) == SessionStatus.cancelled,
                col(s.cancelled_at) >= datetime.combine(first, datetime.min.time(), now.tzinfo),
            ),
        ),
    )
    held: dict[uuid.UUID, list[date]] = defaultdict(list)
    monthly_held: dict[date, int] = defaultdict(int)
    monthly_counted: dict[date, int] = defaultdict(int)
    monthly_cancelled: dict[date, int] = defaultdict(int)
    connection = await session.connection()  # plain rows: a year of sessions for thousands
    for supervisee_id, status, kind, held_on, minutes, cancelled_at in (
        await connection.execute(stmt)
    ).all():
        if status == SessionStatus.cancelled:
            if cancelled_at is not None:
                monthly_cancelled[cancelled_at.date().replace(day=1)] += 1
            continue
        if held_on is None:
            continue
        monthly_held[held_on.replace(day=1)] += 1
        if counts_toward_cadence(policy, SessionKind(kind), minutes or 0):
            monthly_counted[held_on.replace(day=1)] += 1
            held[supervisee_id].append(held_on)
    groups = await attended_groups(session, org, ids, first)
    for person, days in counted_group_days(policy, groups).items():
        held[person].extend(days)  # only when the policy counts group sessions
    everyone = set(ids)
    result = []
    for back in range(months - 1, -1, -1):
        start = _month_start(today, back)
        end = min(_month_start(today, back - 1) - timedelta(days=1), today)
        in_post = [p for p in people if p.started_on <= end]
        compliant = 0
        for p in in_post:
            dates = [d for d in held.get(p.id, []) if d <= end]
            last = max(dates) if dates else before.get(p.id)
            due = next_due_on(policy, p.cohort, p.started_on, last, spans.get(p.id, []))
            if end <= due:
                compliant += 1
        group_held, group_reached = reach(
            [g for g in groups if start <= g.held_on <= end], everyone
        )
        result.append(
            TrendMonth(
                month=start.strftime("%Y-%m"),
                as_of=end,
                staff_count=len(in_post),
                compliant_count=compliant,
                compliance_rate=round(compliant / len(in_post), 4) if in_post else None,
                sessions_held=monthly_held.get(start, 0),
                counted_sessions=monthly_counted.get(start, 0),
                cancelled=monthly_cancelled.get(start, 0),
                group_sessions_held=group_held,
                group_people_reached=group_reached,
            )
        )
    return SupervisionTrend(unit_id=unit_id, months=result)
