"""The demo council's supervision history, written through the supervision domain functions.

Every supervisee (team members, team managers, heads of service, the director) gets about
three months of one-to-one sessions at their policy's cadence, each scheduled, held,
written up and signed off at plausible past times (a few written or signed late), with case
discussions and actions (most done by the next session, some carried over), the
supervisee's private rating of some sessions, and usually the next session booked. A
handful of stories are fixed so the team manager's dashboard shows the whole range: on
track, due soon, overdue (one after a cancellation, one whose last session is not yet
written up), and one person off sick; one more person in the Child Protection Team is
overdue.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.demo import text
from api.demo.people import (
    Council,
    local,
    weekday_on_or_after,
    weekday_on_or_before,
)
from models.absence import AbsenceKind, create_absence
from models.crypto import KeyRing
from models.directory.service import actor_for
from models.directory.staff import Cohort, Staff
from models.etag import etag_for
from models.supervision import ActionStatus, SupervisionAction, SupervisionSession
from supervision.actions import update_action_status
from supervision.feedback import give_feedback
from supervision.policy import CadencePolicy, interval_on, next_due_on
from supervision.policy_store import load_policy
from supervision.records import write_record
from supervision.schemas import (
    ActionIn,
    CancelRequest,
    CaseDiscussionIn,
    FeedbackCreate,
    RecordPut,
    SessionCreate,
    SignOffRequest,
)
from supervision.sessions import cancel_session, schedule_session, sign_off_session

SESSION_MINUTES = 90
# Three months of sessions: enough for a series at every cadence, quick to seed (each
# session is some forty statements through the domain functions).
SUPERVISION_DAYS = 91
FEEDBACK_SHARE = 0.5  # of signed-off sessions the supervisee rates
# How many actions a record sets (one picked at random): more where the logins look.
ACTIONS_DETAILED = (1, 1, 2)
ACTIONS_BRIEF = (0, 0, 1, 1, 1)


@dataclass(frozen=True)
class Story:
    """Where someone's supervision stands today."""

    last_held: int  # days ago of the last counted session
    awaiting_sign_off: bool = False  # that session's record is written, not yet signed
    unwritten: int | None = None  # a session held this many days ago, not yet written up
    cancelled: tuple[int, ...] = ()  # sessions cancelled this many days ago
    upcoming: int | None = None  # days until the next booked one (None: near the due date)
    book_next: bool = True
    sick: tuple[int, int] | None = None  # off sick from this many days ago to this many ahead
    action_overdue: bool = False  # the last session's actions are still open, past due


# Fixed by hand where the demo logins look: (team, position in the team); -1 is the team
# manager. Team 0 is the Assessment Team, the team manager login's own team.
STORIES = {
    (0, 0): Story(last_held=2, awaiting_sign_off=True),  # the ASYE login: a record to sign
    (0, 1): Story(last_held=9),  # the practitioner login: on track
    (0, 2): Story(last_held=12, upcoming=1),  # due soon, booked for tomorrow
    (0, 3): Story(last_held=10, unwritten=3, upcoming=4),  # overdue until that is written up
    # Overdue after a cancellation, with actions overdue too.
    (0, 4): Story(last_held=40, cancelled=(13,), upcoming=2, action_overdue=True),
    (0, 5): Story(last_held=24, sick=(8, 13), book_next=False),  # on leave: the clock pauses
    (0, 6): Story(last_held=25, upcoming=2),  # due soon
    (2, 4): Story(last_held=47, cancelled=(30, 9), upcoming=5),  # overdue nearly three weeks
}
CASE_PREFIX_BY_TEAM = ("CIN", "CIN", "CP", "CLA", "EH", "EH", "EH")


@dataclass
class _Context:
    session: AsyncSession
    ring: KeyRing
    policy: CadencePolicy
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()

    def past(self, at: datetime, margin: timedelta = timedelta(minutes=30)) -> datetime:
        """`at`, or a little before now if it would be later (nothing happens in the future)."""
        return min(at, self.now - margin)


@dataclass(frozen=True)
class _Line:
    """One supervision relationship and how much detail its records carry."""

    supervisee: Staff
    supervisor: Staff
    cases: list[str]  # case references discussed (none for managers' own supervision)
    detailed: bool  # the Assessment Team and its line: where the demo logins look

    @property
    def people(self) -> dict[uuid.UUID, Staff]:
        return {self.supervisee.id: self.supervisee, self.supervisor.id: self.supervisor}


def _cases(rng: random.Random, prefix: str) -> list[str]:
    return [f"{prefix}-{rng.randint(100000, 999999)}" for _ in range(3)]


async def seed_supervision(
    session: AsyncSession, ring: KeyRing, council: Council, now: datetime
) -> None:
    ctx = _Context(session, ring, await load_policy(session, council.organisation_id), now)
    for team in council.teams:
        detailed = team.index == 0
        prefix = CASE_PREFIX_BY_TEAM[team.index]
        for position, member in enumerate(team.members):
            rng = random.Random(f"harbour-demo/supervision/{team.index}/{position}")
            story = STORIES.get((team.index, position)) or _default_story(ctx, member, rng)
            line = _Line(member, team.manager, _cases(rng, prefix), detailed)
            await _supervise(ctx, line, story, rng)
        rng = random.Random(f"harbour-demo/supervision/{team.index}/manager")
        story = STORIES.get((team.index, -1)) or _default_story(ctx, team.manager, rng)
        head = next(h for h in council.heads if h.id == team.manager.supervisor_id)
        await _supervise(ctx, _Line(team.manager, head, [], detailed), story, rng)
    for h_index, head in enumerate(council.heads):
        rng = random.Random(f"harbour-demo/supervision/head/{h_index}")
        story = _default_story(ctx, head, rng)
        await _supervise(ctx, _Line(head, council.director, [], h_index == 0), story, rng)
    rng = random.Random("harbour-demo/supervision/director")
    story = _default_story(ctx, council.director, rng)
    await _supervise(ctx, _Line(council.director, council.chief_executive, [], False), story, rng)


def _default_story(ctx: _Context, staff: Staff, rng: random.Random) -> Story:
    """Three in four comfortably on track, the rest due within the next few days."""
    interval = interval_on(ctx.policy, Cohort(staff.cohort), staff.started_on, ctx.today)
    if rng.random() < 0.75:
        return Story(last_held=rng.randint(1, max(2, interval - 9)))
    return Story(last_held=interval - rng.randint(1, min(5, interval // 2)))


def _held_days(ctx: _Context, staff: Staff, story: Story, rng: random.Random) -> list[date]:
    """The days counted sessions were held, oldest first, ending `story.last_held` days ago:
    at the interval in force (a few days early, now and then one gap too long)."""
    cohort = Cohort(staff.cohort)
    last = weekday_on_or_before(ctx.today - timedelta(days=story.last_held))
    if last >= ctx.today:  # pragma: no cover - last_held is at least 1
        last = weekday_on_or_before(ctx.today - timedelta(days=1))
    earliest = max(
        ctx.today - timedelta(days=SUPERVISION_DAYS), staff.started_on + timedelta(days=2)
    )
    long_gap_at = rng.randint(1, 5) if rng.random() < 0.3 else None
    days = [last]
    while True:
        interval = interval_on(ctx.policy, cohort, staff.started_on, days[-1] - timedelta(days=7))
        step = interval - rng.randint(0, interval // 5)
        if len(days) == long_gap_at:
            step += rng.randint(6, 12)
        previous = weekday_on_or_before(days[-1] - timedelta(days=step))
        if previous < earliest:
            return list(reversed(days))
        days.append(previous)


async def _supervise(ctx: _Context, line: _Line, story: Story, rng: random.Random) -> None:
    """One person's supervision history, oldest first, then where it stands today."""
    days = _held_days(ctx, line.supervisee, story, rng)
    open_actions: list[SupervisionAction] = []
    held_at = booked = local(days[0], 10) - timedelta(days=14)
    for i, day in enumerate(days):
        if i and rng.random() < 0.08:  # rearranged once, two days before it happened
            await _cancelled(
                ctx, line, local(weekday_on_or_before(day - timedelta(days=2)), 14), rng
            )
        booked = held_at + timedelta(hours=2) if i else booked
        held_at = local(day, rng.choice((10, 14)))
        open_actions = await _close_actions(ctx, line, open_actions, held_at, rng)
        signed = not (i == len(days) - 1 and story.awaiting_sign_off)
        open_actions += await _held_session(ctx, line, held_at, booked, rng, signed=signed)
    # Since then most actions that fell due were done; the odd one is overdue.
    fell_due = [a for a in open_actions if a.due_on is not None and a.due_on < ctx.today]
    if not story.action_overdue:
        await _close_actions(ctx, line, fell_due, ctx.now, rng)
    if rng.random() < 0.2 and len(days) > 2:
        await _annual_leave(ctx, line, days, rng)
    rebooked = held_at + timedelta(hours=2)
    if story.unwritten is not None:
        day = weekday_on_or_before(ctx.today - timedelta(days=story.unwritten))
        await _schedule(ctx, line, local(day, 10), rebooked)
    for days_ago in story.cancelled:
        day = weekday_on_or_before(ctx.today - timedelta(days=days_ago))
        rebooked = await _cancelled(ctx, line, local(day, 14), rng)
    if story.sick is not None:
        start = ctx.today - timedelta(days=story.sick[0])
        await create_absence(
            ctx.session,
            actor_for(line.supervisor),
            line.supervisee.id,
            starts_on=start,
            ends_on=ctx.today + timedelta(days=story.sick[1]),
            kind=AbsenceKind.sickness,
            now=local(start, 9),
        )
    if story.book_next:
        await _schedule(
            ctx, line, _next_booking(ctx, line.supervisee, story, days[-1], rng), rebooked
        )


def _next_booking(
    ctx: _Context, supervisee: Staff, story: Story, last: date, rng: random.Random
) -> datetime:
    if story.upcoming is not None:
        day = ctx.today + timedelta(days=story.upcoming)
    else:
        due = next_due_on(ctx.policy, Cohort(supervisee.cohort), supervisee.started_on, last)
        day = max(ctx.today + timedelta(days=1), due - timedelta(days=rng.randint(0, 3)))
    return local(weekday_on_or_after(day), rng.choice((10, 14)))


async def _schedule(
    ctx: _Context, line: _Line, at: datetime, booked: datetime
) -> SupervisionSession:
    body = SessionCreate(supervisee_id=line.supervisee.id, scheduled_for=at)
    tagged, _ = await schedule_session(
        ctx.session, ctx.ring, actor_for(line.supervisor), body, ctx.past(booked)
    )
    row = await ctx.session.get(SupervisionSession, tagged.view.id)  # in the identity map
    assert row is not None
    return row


async def _cancelled(ctx: _Context, line: _Line, at: datetime, rng: random.Random) -> datetime:
    """A session booked for `at` and called off the day before; answers when."""
    row = await _schedule(ctx, line, at, at - timedelta(days=10))
    reason = rng.choice(text.CANCEL_REASONS)
    by = line.supervisee if reason.startswith(("Supervisee", "Rearranged")) else line.supervisor
    when = ctx.past(at - timedelta(hours=20))
    await cancel_session(
        ctx.session,
        ctx.ring,
        actor_for(by),
        row.id,
        CancelRequest(reason=reason),
        etag_for(row.version),
        when,
    )
    return when


async def _held_session(
    ctx: _Context,
    line: _Line,
    held_at: datetime,
    booked: datetime,
    rng: random.Random,
    *,
    signed: bool,
) -> list[SupervisionAction]:
    """Schedule, hold and write up one session (and have it signed): its new actions."""
    row = await _schedule(ctx, line, held_at, booked)
    lag = rng.choice((0, 1, 1, 1, 2, 2, 3, 4, 8))  # working days to write it up; 8 is late
    written = ctx.past(local(weekday_on_or_after(held_at.date() + timedelta(days=lag)), 16, 30))
    record = _record(line, held_at, rng)
    supervisor, supervisee = actor_for(line.supervisor), actor_for(line.supervisee)
    await write_record(
        ctx.session, ctx.ring, supervisor, row.id, record, etag_for(row.version), written
    )
    if signed:
        wait = rng.choice((0, 1, 1, 2, 3, 7)) if lag < 8 else 1
        signed_at = ctx.past(local(held_at.date() + timedelta(days=lag + wait + 1), 9, 15))
        signed_at = max(signed_at, written + timedelta(minutes=5))
        agreed = rng.random() > 0.04
        comment = None if agreed else rng.choice(text.DISAGREEMENT)
        body = SignOffRequest(agreed=agreed, comment=comment)
        await sign_off_session(
            ctx.session, ctx.ring, supervisee, row.id, body, etag_for(row.version), signed_at
        )
        if rng.random() < FEEDBACK_SHARE:
            rating = FeedbackCreate(
                helpful=rng.choice((3, 4, 4, 5, 5)),
                felt_safe=rng.choice((3, 4, 5, 5, 5)),
                comment=rng.choice(text.FEEDBACK),
            )
            rated = min(signed_at + timedelta(minutes=3), ctx.now - timedelta(minutes=1))
            await give_feedback(ctx.session, ctx.ring, supervisee, row.id, rating, rated)
    if not record.actions:
        return []
    stmt = select(SupervisionAction).where(
        col(SupervisionAction.organisation_id) == row.organisation_id,
        col(SupervisionAction.session_id) == row.id,
    )
    return list((await ctx.session.exec(stmt)).all())


def _record(line: _Line, held_at: datetime, rng: random.Random) -> RecordPut:
    """What the supervisor writes: the four functions, case discussions, actions."""
    cohort = Cohort(line.supervisee.cohort)
    day = held_at.date()
    cases = line.cases
    pool: tuple[str, ...]
    if cases:
        caseload = {Cohort.asye: (8, 12), Cohort.student: (2, 4)}.get(cohort, (14, 21))
        management = rng.choice(text.MANAGEMENT).format(n=rng.randint(*caseload))
        development = rng.choice(
            {
                Cohort.asye: text.DEVELOPMENT_ASYE,
                Cohort.student: text.DEVELOPMENT_STUDENT,
            }.get(cohort, text.DEVELOPMENT)
        )
        pool = text.ACTIONS
    else:
        management = rng.choice(text.MANAGEMENT_TEAM).format(pct=rng.randint(78, 96))
        development = rng.choice(text.DEVELOPMENT)
        pool = text.ACTIONS_TEAM
    discussed = min(len(cases), 1 if cohort is Cohort.student else rng.randint(1, 2))
    discussions = []
    for reference in rng.sample(cases, k=discussed):
        decision, rationale = rng.choice(text.DECISIONS)
        discussions.append(
            CaseDiscussionIn(
                case_reference=reference,
                worried_about=rng.choice(text.WORRIED),
                working_well=rng.choice(text.WORKING_WELL),
                needs_to_happen=rng.choice(text.NEEDS_TO_HAPPEN),
                scaling=rng.randint(3, 8),
                decision=decision,
                rationale=rationale,
            )
        )
    count = rng.choice(ACTIONS_DETAILED if line.detailed else ACTIONS_BRIEF)
    actions = [
        ActionIn(
            description=description,
            owner_id=line.supervisee.id,
            due_on=day + timedelta(days=rng.randint(5, 20)),
            case_reference=rng.choice(cases) if cases and rng.random() < 0.4 else None,
        )
        for description in rng.sample(pool, k=count)
    ]
    if cases and line.detailed and rng.random() < 0.3:
        actions.append(
            ActionIn(
                description=rng.choice(text.ACTIONS_SUPERVISOR),
                owner_id=line.supervisor.id,
                due_on=day + timedelta(days=rng.randint(3, 14)),
            )
        )
    return RecordPut(
        held_at=held_at,
        duration_minutes=rng.choice((SESSION_MINUTES, SESSION_MINUTES, 100, 120)),
        management=management,
        development=development,
        support=rng.choice(text.SUPPORT),
        mediation=rng.choice(text.MEDIATION),
        support_private=rng.random() < 0.2,
        case_discussions=discussions,
        actions=actions,
        wellbeing_discussed=rng.random() < 0.6,
    )


async def _close_actions(
    ctx: _Context,
    line: _Line,
    actions: list[SupervisionAction],
    before: datetime,
    rng: random.Random,
) -> list[SupervisionAction]:
    """Most open actions are done by the next session; the rest carry over (still open)."""
    still_open = []
    for action in actions:
        roll = rng.random()
        if roll >= 0.9:
            still_open.append(action)
            continue
        status = ActionStatus.done if roll < 0.86 else ActionStatus.dropped
        at = max(before - timedelta(days=rng.randint(1, 4)), action.created_at + timedelta(hours=2))
        await update_action_status(
            ctx.session,
            actor_for(line.people[action.owner_id]),
            action.id,
            status,
            etag_for(action.version),
            ctx.past(at),
        )
    return still_open


async def _annual_leave(ctx: _Context, line: _Line, days: list[date], rng: random.Random) -> None:
    """A week or so of annual leave between two sessions (booked a month ahead)."""
    i = rng.randrange(len(days) - 1)
    start = weekday_on_or_after(days[i] + timedelta(days=2))
    end = min(start + timedelta(days=rng.randint(4, 9)), days[i + 1] - timedelta(days=1))
    if end < start:
        return
    await create_absence(
        ctx.session,
        actor_for(line.supervisor),
        line.supervisee.id,
        starts_on=start,
        ends_on=end,
        kind=AbsenceKind.annual_leave,
        now=ctx.past(local(start - timedelta(days=30), 11)),
    )
