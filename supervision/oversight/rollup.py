"""Oversight of supervision: who in a unit's subtree is overdue, and by how much.

Every figure is computed from a fixed set of statements whatever the team size: the unit tree
comes from a recursive CTE, each per-person figure from one grouped query over everyone in
scope, and the cadence arithmetic runs in Python on those rows (`supervision.policy`). Nothing
here reads record text: the response schemas have no text fields.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache, partial
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.absence import Absence
from models.actor import Actor
from models.db import InList, dialect_name, per_database
from models.directory.organisation import Unit
from models.directory.staff import Cohort, Role, Staff
from models.errors import NotFound
from models.scope import BOUND_CALLER, managed_units, subtree_units
from models.supervision import (
    SessionStatus,
    SupervisionAction,
    SupervisionSession,
    open_action,
    pending_status,
)
from supervision.oversight.practice import (
    Attended,
    agreement_spans,
    attended_groups,
    in_force_on,
    reach,
)
from supervision.oversight.schemas import (
    StaffSupervisionRow,
    UnitRollup,
    UnitSupervisionOversight,
)
from supervision.policy import (
    CadencePolicy,
    days_overdue,
    next_due_on,
    on_leave,
    sign_off_due_on,
    write_up_due_on,
)
from supervision.policy_store import load_policy
from supervision.status import last_counted_columns, latest_of, todays_at

CANCELLED_WINDOW = timedelta(days=90)
# A cohort by its stored value, without the enum's own lookup for each person.
_COHORTS = {cohort.value: cohort for cohort in Cohort}
GROUP_WINDOW = timedelta(days=90)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, three times
# the cost of building one, for the thousands a roll-up reads (never changed after).
@dataclass(slots=True, eq=False)
class _Person:
    id: uuid.UUID
    display_name: str
    cohort: Cohort
    started_on: date
    timezone: str
    unit_id: uuid.UUID | None
    supervisor_id: uuid.UUID | None = None
    last_counted_on: date | None = None  # read only when asked for (`people_in`'s policy)


@dataclass
class _Tree:
    root: uuid.UUID
    names: dict[uuid.UUID, str] = field(default_factory=dict)
    children: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=lambda: defaultdict(list))

    def below(self, unit_id: uuid.UUID) -> set[uuid.UUID]:
        found, stack = set(), [unit_id]
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(self.children.get(current, []))
        return found


# --- scope ---------------------------------------------------------------------------------


async def unit_audience(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> bool:
    """Whether the caller sees people (True) or counts only (False); 404 when out of scope."""
    if actor.has(Role.manager):
        stmt = select(col(Unit.id)).where(
            col(Unit.organisation_id) == actor.organisation_id,
            col(Unit.id) == unit_id,
            col(Unit.id).in_(managed_units(actor)),
        )
        if (await session.exec(stmt)).first() is not None:
            return True
    if actor.has(Role.admin) or actor.has(Role.hr):
        stmt = select(col(Unit.id)).where(
            col(Unit.organisation_id) == actor.organisation_id, col(Unit.id) == unit_id
        )
        if (await session.exec(stmt)).first() is not None:
            return actor.has(Role.admin)
    raise NotFound("No such unit.")


async def _tree(session: AsyncSession, organisation_id: uuid.UUID, unit_id: uuid.UUID) -> _Tree:
    roots = select(col(Unit.id)).where(
        col(Unit.organisation_id) == organisation_id, col(Unit.id) == unit_id
    )
    subtree = subtree_units(organisation_id, roots)
    stmt = select(col(Unit.id), col(Unit.parent_id), col(Unit.name)).where(
        col(Unit.organisation_id) == organisation_id, col(Unit.id).in_(select(subtree.c.id))
    )
    tree = _Tree(root=unit_id)
    connection = await session.connection()
    for uid, parent_id, name in (await connection.execute(stmt)).all():
        tree.names[uid] = name
        if uid != unit_id and parent_id is not None:
            tree.children[parent_id].append(uid)
    return tree


@cache
def _scoped_tree_statement(managed_root: bool, ask_managed: bool) -> sa.Select[Any]:
    """`_scoped_tree`'s statement, built once for each kind of caller (the organisation,
    the caller and the unit are the parameters `org`, `me` and `unit`): the root only if
    the caller manages it (`managed_root`), or any root of the organisation, with whether
    the caller manages each unit (`ask_managed`)."""
    caller = BOUND_CALLER
    org = caller.organisation_id
    root = select(col(Unit.id)).where(
        col(Unit.organisation_id) == org, col(Unit.id) == sa.bindparam("unit")
    )
    if managed_root:
        root = root.where(col(Unit.id).in_(managed_units(caller)))
    subtree = subtree_units(org, root, name="overseen")
    columns: list[Any] = [col(Unit.id), col(Unit.parent_id), col(Unit.name)]
    if ask_managed:
        columns.append(col(Unit.id).in_(managed_units(caller)))
    return sa.select(*columns).where(
        col(Unit.organisation_id) == org, col(Unit.id).in_(sa.select(subtree.c.id))
    )


async def _scoped_tree(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID
) -> tuple[bool, _Tree]:
    """`unit_audience` and `_tree` in one statement: the unit's subtree if the caller may
    oversee the unit (its manager or a manager above it; admins and HR: any unit of the
    organisation), and whether they see people (True) or counts only (False); 404 when out
    of scope."""
    manager = actor.has(Role.manager)
    admin = actor.has(Role.admin)
    reader = admin or actor.has(Role.hr)
    if not manager and not reader:
        raise NotFound("No such unit.")
    # A manager with HR's role (not an admin) sees people only in the subtrees they manage.
    ask = manager and reader and not admin
    stmt = _scoped_tree_statement(not reader, ask)
    params = {"org": actor.organisation_id, "me": actor.id, "unit": unit_id}
    tree = _Tree(root=unit_id)
    sees_people = manager or admin
    connection = await session.connection()
    for uid, parent_id, name, *managed in (await connection.execute(stmt, params)).all():
        tree.names[uid] = name
        if uid == unit_id:
            if ask:
                sees_people = bool(managed[0])
        elif parent_id is not None:
            tree.children[parent_id].append(uid)
    if unit_id not in tree.names:
        raise NotFound("No such unit.")
    return sees_people, tree


async def subtree_unit_ids(
    session: AsyncSession, organisation_id: uuid.UUID, unit_id: uuid.UUID
) -> list[uuid.UUID]:
    """The ids of `unit_id` and every unit below it (one recursive CTE)."""
    return list((await _tree(session, organisation_id, unit_id)).names)


def staff_in_units(unit_ids: Sequence[uuid.UUID]) -> sa.ColumnElement[bool]:
    """Active staff whose unit is one of `unit_ids`.

    Later statements filter by the explicit lists of units and people read first, never by
    the recursive CTE again: with explicit lists the planner's choice (index lookups) stays
    linear even before PostgreSQL has statistics for a freshly loaded organisation, where
    nested `IN (recursive CTE)` semi-joins were measured quadratic.
    """
    return sa.and_(col(Staff.active).is_(True), col(Staff.unit_id).in_(list(unit_ids)))


def _person_columns() -> list[Any]:
    """A `_Person`'s columns, in its order (plain columns, not ORM rows: a directorate of
    thousands loads in milliseconds)."""
    return [
        col(Staff.id),
        col(Staff.display_name),
        col(Staff.cohort),
        col(Staff.started_on),
        col(Staff.timezone),
        col(Staff.unit_id),
        col(Staff.supervisor_id),
    ]


async def people_in(
    session: AsyncSession, organisation_id: uuid.UUID, where: sa.ColumnElement[bool]
) -> list[_Person]:
    """The people matching `where`, by name (`_people_and_absences` reads them with their
    last counted sessions and absences)."""
    stmt = (
        sa.select(*_person_columns())
        .where(col(Staff.organisation_id) == organisation_id, where)
        .order_by(col(Staff.display_name), col(Staff.id))
    )
    connection = await session.connection()
    return [
        _Person(sid, name, _COHORTS[cohort], started, tz, unit, supervisor)
        for sid, name, cohort, started, tz, unit, supervisor in (
            await connection.execute(stmt)
        ).all()
    ]


def _window_start(dialect: str, lasts: Sequence[Any], started_on: Any, yesterday: Any) -> Any:
    """`absence_window_from` in SQL: the day after the later of `lasts` (or `started_on`
    without one), and at the latest `yesterday` (each database's date functions)."""
    if dialect == "postgresql":
        last = lasts[0] if len(lasts) == 1 else sa.func.greatest(*lasts)
        return sa.func.least(sa.func.coalesce(last + 1, started_on), yesterday)
    # SQLite: dates are ISO text; its two-argument max/min are NULL if either argument is.
    last = lasts[0]
    for other in lasts[1:]:
        last = sa.func.max(sa.func.coalesce(last, other), sa.func.coalesce(other, last))
    return sa.func.min(sa.func.coalesce(sa.func.date(last, "+1 day"), started_on), yesterday)


# `column = ANY(:name)` on PostgreSQL, an expanding IN on SQLite (see `per_database`).
_IN_LIST: dict[str, InList] = per_database(lambda in_list: in_list)


@lru_cache(maxsize=64)
def _people_statement(dialect: str, by_supervisor: bool, policy: CadencePolicy) -> Any:
    """`_people_and_absences`' statement, built once for each database, kind of people and
    policy (the parameters: `org`; `units`, or the supervisor `me`; `yesterday`): the
    people as a materialised CTE with each one's last counted session under `policy`
    (`last_counted_on`'s correlated maxima), each joined to the absences that can still
    move their due date or put them on leave today (those ending on or after
    `absence_window_from`; on PostgreSQL an index range of `ix_absences_org_staff_ends`
    per person). A person with several such absences comes once per absence."""
    caller = BOUND_CALLER
    org = caller.organisation_id
    whom = (
        col(Staff.supervisor_id) == caller.id
        if by_supervisor
        else _IN_LIST[dialect](col(Staff.unit_id), "units")
    )
    last = last_counted_columns(org, policy)
    lasts = [column.label(f"last_{n}") for n, column in enumerate(last)]
    people = (
        sa.select(*_person_columns(), *lasts)
        .where(col(Staff.organisation_id) == org, col(Staff.active).is_(True), whom)
        .cte("people")
        # Each last counted session worked out once, not again in the join's condition.
        .prefix_with("MATERIALIZED")
    )
    p, a = people.c, Absence
    yesterday = sa.bindparam("yesterday", type_=sa.Date())
    window = _window_start(
        dialect, [p[f"last_{n}"] for n in range(len(last))], p.started_on, yesterday
    )
    joined = sa.and_(
        col(a.organisation_id) == org, col(a.staff_id) == p.id, col(a.ends_on) >= window
    )
    if dialect == "postgresql":
        # Each person's absences as a LATERAL subquery: a nested loop over the people, an
        # index range of `ix_absences_org_staff_ends` for each. As a plain join the planner
        # hashed all of the organisation's absences for it (45,000 rows with 5 years of
        # history, growing with it; docs/PERFORMANCE.md, "Scale of the rest").
        # OFFSET 0 keeps PostgreSQL from pulling the subquery up into that join again.
        spans = (
            sa.select(col(a.starts_on), col(a.ends_on))
            .where(joined)
            .offset(sa.literal_column("0"))
            .lateral("spans")
        )
        return (
            sa.select(*people.c, spans.c.starts_on, spans.c.ends_on)
            .select_from(people)
            .outerjoin(spans, sa.true())
            .order_by(p.display_name, p.id)
        )
    return (
        sa.select(*people.c, col(a.starts_on), col(a.ends_on))
        .select_from(people)
        .outerjoin(a, joined)
        .order_by(p.display_name, p.id)
    )


async def _people_and_absences(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    policy: CadencePolicy,
    now: datetime,
    *,
    units: Sequence[uuid.UUID] = (),
    supervisor: uuid.UUID | None = None,
) -> tuple[list[_Person], dict[uuid.UUID, list[tuple[date, date]]]]:
    """The active people of `units` (or `supervisor`'s supervisees), by name as `people_in`
    orders them, with each one's last counted session under `policy`, and the absences
    `absence_spans_from` would read for their windows: one statement (`_people_statement`)."""
    # The statement reads the policy's counting rules, never its non-working days: keyed
    # without them, one statement serves every organisation with the same rules.
    rules = replace(policy, bank_holidays=frozenset(), closed_days=frozenset())
    stmt = _people_statement(dialect_name(session), supervisor is not None, rules)
    params: dict[str, Any] = {
        "org": organisation_id,
        "yesterday": now.date() - timedelta(days=1),
    }
    if supervisor is not None:
        params["me"] = supervisor
    else:
        params["units"] = list(units)
    found: list[_Person] = []
    spans: dict[uuid.UUID, list[tuple[date, date]]] = {}
    connection = await session.connection()
    for sid, name, cohort, started, tz, unit, line, *days, starts_on, ends_on in (
        await connection.execute(stmt, params)
    ).all():
        if not found or found[-1].id != sid:
            found.append(
                _Person(
                    sid,
                    name,
                    _COHORTS[cohort],
                    started,
                    tz,
                    unit,
                    line,
                    days[0] if len(days) == 1 else latest_of(days),
                )
            )
        if ends_on is not None:
            spans.setdefault(sid, []).append((starts_on, ends_on))
    return found, spans


# --- per-person rows -----------------------------------------------------------------------


@dataclass
class _Pending:
    cancelled: int = 0
    awaiting_write_up: int = 0
    awaiting_sign_off: int = 0
    write_up_late: int = 0
    sign_off_late: int = 0


def _zones() -> Callable[[str], ZoneInfo | None]:
    """Each time zone looked up once (a unit's people share a handful); None where
    `local_today` falls back to UTC's date."""
    known: dict[str, ZoneInfo | None] = {}

    def zone(timezone: str) -> ZoneInfo | None:
        try:
            return known[timezone]
        except KeyError:
            try:
                found: ZoneInfo | None = ZoneInfo(timezone)
            except (KeyError, ValueError):
                found = None
            known[timezone] = found
            return found

    return zone


def _late_before(due_on: Callable[[date], date], today: date, zone: ZoneInfo | None) -> datetime:
    """The moment from which a deadline has not passed by `today`, where a moment's deadline
    is `due_on` of its local day in `zone` (None: UTC) and it is late once that day is before
    `today`. Deadlines add working days to their day, so a later day's is never earlier and
    never before the day itself: the moments before the start of the first day whose
    deadline is today or later are exactly the late ones. Found once per time zone, it
    leaves each pending session one comparison, where each took its local day and that
    day's deadline (3.5% of a roll-up's instructions)."""
    day = today  # its deadline is today or later
    while due_on(day - timedelta(days=1)) >= today:
        day -= timedelta(days=1)
    # The day's first moment there (after a gap at midnight, the first that exists).
    return datetime.combine(day, time(), tzinfo=zone or UTC)


def _pending_statement(in_list: InList) -> Any:
    """`_pending`'s statement, built once for each database (`per_database`)."""
    s = SupervisionSession
    now: sa.BindParameter[datetime] = sa.bindparam("now")
    # The one moment each row's deadline runs from: when a session awaiting write-up was
    # held (scheduled for), when one awaiting sign-off was written up; none for cancellations.
    # As the driver gives it, without `UTCDateTime`'s conversion of each row: only its
    # local date is wanted, and `_pending` reads a naive one (SQLite) as UTC.
    since = sa.type_coerce(
        sa.case(
            (col(s.status) == SessionStatus.scheduled, col(s.scheduled_for)),
            (col(s.status) == SessionStatus.recorded, col(s.recorded_at)),
        ),
        sa.DateTime(timezone=True),
    )
    return sa.select(col(s.supervisee_id), col(s.status), since).where(
        col(s.organisation_id) == sa.bindparam("org"),
        in_list(col(s.supervisee_id), "ids"),
        # Redundant with the OR below, but it lets PostgreSQL see that only the few pending
        # statuses are wanted even with a generic plan of this prepared statement, which
        # otherwise walked all of the people's history (250 ms with 50 years of it,
        # docs/PERFORMANCE.md). The statuses are literals, so that plan can use the partial
        # index of each person's pending sessions (`ix_..._org_supervisee_pending`) rather
        # than read the organisation's and search the array of people for each row.
        pending_status(),
        sa.or_(
            sa.and_(col(s.status) == SessionStatus.scheduled, col(s.scheduled_for) < now),
            col(s.status) == SessionStatus.recorded,
            sa.and_(
                col(s.status) == SessionStatus.cancelled,
                col(s.cancelled_at) >= sa.bindparam("cancelled_since"),
            ),
        ),
    )


# Built once: building a statement this size cost more Python than running it.
_PENDING = per_database(_pending_statement)


async def _pending(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    people: dict[uuid.UUID, _Person],
    policy: CadencePolicy,
    now: datetime,
) -> dict[uuid.UUID, _Pending]:
    """Cancellations in the last 90 days, and sessions awaiting write-up or sign-off."""
    params = {
        "org": organisation_id,
        "ids": list(ids),
        "now": now,
        "cancelled_since": now - CANCELLED_WINDOW,
    }
    result: dict[uuid.UUID, _Pending] = defaultdict(_Pending)
    todays, zone_of = todays_at(now), _zones()
    write_up_due = partial(write_up_due_on, policy)
    sign_off_due = partial(sign_off_due_on, policy)
    # For each time zone, the moments before which a session held (awaiting write-up) or
    # written up (awaiting sign-off) is late today; each person's pair looked up once.
    zones: dict[str, tuple[datetime, datetime]] = {}
    local: dict[uuid.UUID, tuple[datetime, datetime]] = {}
    # Plain rows, as `people_in`: the ORM's result machinery cost more than the statement.
    connection = await session.connection()
    stmt = _PENDING[dialect_name(session)]
    for supervisee_id, status, at in (await connection.execute(stmt, params)).all():
        late_before = local.get(supervisee_id)
        if late_before is None:
            person = people.get(supervisee_id)
            if person is None:
                continue
            timezone = person.timezone
            late_before = zones.get(timezone)
            if late_before is None:
                zone, today = zone_of(timezone), todays(timezone)
                late_before = zones[timezone] = (
                    _late_before(write_up_due, today, zone),
                    _late_before(sign_off_due, today, zone),
                )
            local[supervisee_id] = late_before
        row = result[supervisee_id]
        if status == SessionStatus.cancelled:
            row.cancelled += 1
            continue
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)  # SQLite's moments are UTC's
        if status == SessionStatus.scheduled:
            row.awaiting_write_up += 1
            if at < late_before[0]:
                row.write_up_late += 1
        else:
            row.awaiting_sign_off += 1
            if at is not None and at < late_before[1]:
                row.sign_off_late += 1
    return result


_OPEN_ACTIONS = per_database(
    lambda in_list: (
        sa.select(col(SupervisionAction.supervisee_id), col(SupervisionAction.due_on), func.count())
        .where(
            col(SupervisionAction.organisation_id) == sa.bindparam("org"),
            in_list(col(SupervisionAction.supervisee_id), "ids"),
            # A literal, as the partial index of open actions reads it: an index-only read.
            open_action(),
        )
        .group_by(col(SupervisionAction.supervisee_id), col(SupervisionAction.due_on))
    )
)


async def _open_actions(
    session: AsyncSession, organisation_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[date | None, int]]]:
    stmt = _OPEN_ACTIONS[dialect_name(session)]
    params = {"org": organisation_id, "ids": list(ids)}
    result: dict[uuid.UUID, list[tuple[date | None, int]]] = defaultdict(list)
    connection = await session.connection()
    for supervisee_id, due_on, count in (await connection.execute(stmt, params)).all():
        result[supervisee_id].append((due_on, int(count)))
    return result


async def _rows_and_groups(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    now: datetime,
    *,
    units: Sequence[uuid.UUID] = (),
    supervisor: uuid.UUID | None = None,
) -> tuple[list[StaffSupervisionRow], list[Attended]]:
    """The rows of the active people of `units` (or `supervisor`'s supervisees), from eight
    statements whatever their number, and who attended which group session in the last 90
    days."""
    policy = await load_policy(session, organisation_id)
    # Only absences that can still move someone's due date or put them on leave today.
    people, spans = await _people_and_absences(
        session, organisation_id, policy, now, units=units, supervisor=supervisor
    )
    by_id = {p.id: p for p in people}
    ids = list(by_id)
    pending = await _pending(session, organisation_id, ids, by_id, policy, now)
    actions = await _open_actions(session, organisation_id, ids)
    agreements = await agreement_spans(session, organisation_id, ids)
    since = (now - GROUP_WINDOW).date()
    groups = await attended_groups(session, organisation_id, ids, since)
    group_counts: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for a in groups:
        group_counts[a.staff_id].add(a.group_id)
    rows = []
    todays = todays_at(now)
    day = now.date()
    no_pending = _Pending()
    # Without absences a person's cadence depends on these three alone: worked out once for
    # everyone who shares them (a team's people often share a start and a last session day).
    due_without_absences: dict[tuple[Cohort, date, date | None], date] = {}
    for p in people:
        today = todays(p.timezone)
        absences = spans.get(p.id)
        if absences:
            due = next_due_on(policy, p.cohort, p.started_on, p.last_counted_on, absences)
            leave = on_leave(absences, today)
        else:
            key = (p.cohort, p.started_on, p.last_counted_on)
            found = due_without_absences.get(key)
            if found is None:
                found = due_without_absences[key] = next_due_on(policy, *key)
            due, leave = found, False
        counts = pending.get(p.id, no_pending)
        open_count = overdue_count = 0
        for due_on, n in actions.get(p.id, ()):
            open_count += n
            if due_on is not None and due_on < today:
                overdue_count += n
        signed = agreements.get(p.id)
        agreement = in_force_on(signed, day) if signed else None
        if agreement is not None and agreement.supervisor_id != p.supervisor_id:
            agreement = None  # made with a former supervisor: not this relationship's
        attended = group_counts.get(p.id)
        rows.append(
            StaffSupervisionRow(
                staff_id=p.id,
                display_name=p.display_name,
                cohort=p.cohort,
                unit_id=p.unit_id,
                last_held_on=p.last_counted_on,
                next_due_on=due,
                days_overdue=days_overdue(due, today),
                on_leave=leave,
                cancelled_last_90_days=counts.cancelled,
                open_actions=open_count,
                overdue_actions=overdue_count,
                awaiting_write_up=counts.awaiting_write_up,
                awaiting_sign_off=counts.awaiting_sign_off,
                write_up_late=counts.write_up_late,
                sign_off_late=counts.sign_off_late,
                agreement_in_place=agreement is not None,
                agreement_review_due_on=agreement.review_due_on if agreement else None,
                agreement_review_overdue=agreement is not None and agreement.review_due_on < today,
                group_sessions_last_90_days=len(attended) if attended else 0,
            )
        )
    return rows, groups


def _rollup(
    unit_id: uuid.UUID,
    name: str,
    rows: Sequence[StaffSupervisionRow],
    groups: Sequence[Attended],
) -> UnitRollup:
    staff_count = len(rows)
    overdue = sum(1 for r in rows if r.days_overdue > 0)
    compliant = staff_count - overdue
    held, reached = reach(groups, {r.staff_id for r in rows})
    return UnitRollup(
        unit_id=unit_id,
        name=name,
        staff_count=staff_count,
        compliant_count=compliant,
        compliance_rate=round(compliant / staff_count, 4) if staff_count else None,
        overdue_count=overdue,
        agreement_in_place_count=sum(1 for r in rows if r.agreement_in_place),
        agreement_review_overdue_count=sum(1 for r in rows if r.agreement_review_overdue),
        group_sessions_last_90_days=held,
        group_people_reached_last_90_days=reached,
    )


async def unit_oversight(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID, now: datetime
) -> UnitSupervisionOversight:
    """The roll-up for a unit's whole subtree, its child units, and (managers, admins) each
    person; HR gets the counts only."""
    sees_people, tree = await _scoped_tree(session, actor, unit_id)
    rows, groups = await _rows_and_groups(
        session, actor.organisation_id, now, units=list(tree.names)
    )
    # Which child of the root each unit rolls up into (one pass over the tree, one over people).
    top_child: dict[uuid.UUID, uuid.UUID] = {}
    for child in tree.children.get(unit_id, []):
        top_child.update(dict.fromkeys(tree.below(child), child))
    grouped: dict[uuid.UUID, list[StaffSupervisionRow]] = defaultdict(list)
    for row in rows:
        if row.unit_id in top_child:
            grouped[top_child[row.unit_id]].append(row)
    children = [
        _rollup(child, tree.names[child], grouped.get(child, []), groups)
        for child in sorted(tree.children.get(unit_id, []), key=lambda u: (tree.names[u], u))
    ]
    top = _rollup(unit_id, tree.names[unit_id], rows, groups)
    return UnitSupervisionOversight(
        **top.model_dump(), units=children, staff=rows if sees_people else []
    )


async def supervisees_oversight(
    session: AsyncSession, actor: Actor, now: datetime
) -> list[StaffSupervisionRow]:
    """A supervisor's view: a row for each of their active supervisees."""
    rows, _ = await _rows_and_groups(session, actor.organisation_id, now, supervisor=actor.id)
    return rows


async def oversight_roots(session: AsyncSession, actor: Actor, now: datetime) -> list[UnitRollup]:
    """Where the caller's oversight starts: the units they manage (managers) and the top of
    the tree (admins, HR), each with its roll-up; drill down with `unit_oversight`."""
    conditions: list[sa.ColumnElement[bool]] = []
    if actor.has(Role.manager):
        conditions.append(col(Unit.manager_id) == actor.id)
    if actor.has(Role.admin) or actor.has(Role.hr):
        conditions.append(col(Unit.parent_id).is_(None))
    if not conditions:
        return []
    stmt = select(col(Unit.id)).where(
        col(Unit.organisation_id) == actor.organisation_id, sa.or_(*conditions)
    )
    found = []
    for unit_id in (await session.exec(stmt)).all():
        view = await unit_oversight(session, actor, unit_id, now)
        found.append(UnitRollup.model_validate(view.model_dump(exclude={"units", "staff"})))
    return sorted(found, key=lambda u: (u.name, u.unit_id))
