"""The demo council's supervision agreements, group supervision and a few record reads,
written through the domain functions at past times (so they are sealed, versioned and on
the sync feed like anything a person does).

Agreements: nearly everyone has one in force. Those who started more than three months ago
have had their first review, so version 1 is kept as superseded and version 2 is in force
(reviewed yearly). In the Assessment Team the ASYE login's first agreement is signed by the
team manager and waits for their signature; one practitioner's review is overdue; the
colleague off sick has none yet. Elsewhere about one in ten reviews is overdue.

Group supervision: the Assessment Team manager has run a monthly Signs of Safety group for
three months (seven invited, one absent each time with a reason, a presenter and a case
mapped), and the next one is booked; Early Help North held a restorative circle.

Reads: the team manager, the head of service, the director and the admin have opened a few
records and agreements, so the admins' access log has something to show.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.demo.people import Council, Team, demo_id, local, weekday_on_or_before
from models.agreement import SupervisionAgreement
from models.crypto import KeyRing
from models.directory.service import actor_for
from models.directory.staff import Staff
from models.etag import etag_for
from models.group_supervision import Attendance, GroupFormat
from models.supervision import HELD_STATUSES, SupervisionSession
from supervision.agreements import create_agreement, read_agreement, sign_agreement
from supervision.groups import (
    acknowledge_group_record,
    schedule_group_session,
    write_group_record,
)
from supervision.policy import add_months
from supervision.schemas import CaseDiscussionIn
from supervision.schemas_agreement import AgreementCreate, AgreementTermsIn
from supervision.schemas_group import AttendanceIn, GroupRecordPut, GroupSessionCreate
from supervision.sessions import read_session

# (team, position) -> how their agreement stands; -1 is the team manager. Team 0 is the
# Assessment Team, where the logins look.
AWAITING, OVERDUE, NONE = "awaiting", "overdue", "none"
Key = tuple[object, object]  # (team, position), (team, -1), ("head", i), ("director", 0)
AGREEMENT_STORIES: dict[Key, str] = {(0, 0): AWAITING, (0, 2): OVERDUE, (0, 5): NONE}
OVERDUE_SHARE = 0.1  # elsewhere

LEARNING_NEEDS = (
    "Confidence in court: giving evidence and writing statements.",
    "Chronologies and analysis in assessments.",
    "Direct work with teenagers who will not engage.",
    "Working with domestic abuse: risk assessment and safety planning.",
    "Leading child protection conferences and core groups.",
    "Supervising students and newly qualified colleagues.",
)
ABSENCE_REASONS = (
    "On a home visit that could not be moved",
    "Annual leave",
    "At court",
    "Off sick",
)
GROUP_CASES = (
    (
        "Repeated missed health appointments; the baby's weight has dropped.",
        "Grandmother takes the older two to school every day.",
        "A plan the family agrees for getting to the clinic.",
        "Health visitor and family to agree a transport plan this week.",
        "The worry is about access, not care; the network can solve it.",
    ),
    (
        "Police called twice in a month after arguments at home.",
        "Mum has contacted the domestic abuse service herself.",
        "A safety plan with the children's words in it.",
        "Strategy discussion to consider section 47 enquiries.",
        "Two incidents in a month and a toddler in the home.",
    ),
    (
        "A fourteen-year-old missing overnight three times.",
        "She talks to her youth worker and trusts her.",
        "Understand where she goes and who with.",
        "Return home interviews by the youth worker; exploitation screening.",
        "The pattern and her age point to possible exploitation.",
    ),
)


@dataclass
class _Ctx:
    session: AsyncSession
    ring: KeyRing
    council: Council
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()

    def past(self, at: datetime) -> datetime:
        return min(at, self.now - timedelta(minutes=30))


async def seed_agreements_and_groups(
    session: AsyncSession, ring: KeyRing, council: Council, now: datetime
) -> None:
    ctx = _Ctx(session, ring, council, now)
    heads = {h.id: h for h in council.heads}
    for team in council.teams:
        for position, member in enumerate(team.members):
            await _agreement(ctx, member, team.manager, (team.index, position))
        head = heads[team.manager.supervisor_id] if team.manager.supervisor_id else None
        if head is not None:
            await _agreement(ctx, team.manager, head, (team.index, -1))
    for h_index, head in enumerate(council.heads):
        await _agreement(ctx, head, council.director, ("head", h_index))
    await _agreement(ctx, council.director, council.chief_executive, ("director", 0))
    await _groups(ctx, council.teams[0], GroupFormat.signs_of_safety, (75, 47, 19), book=9)
    await _groups(ctx, council.teams[4], GroupFormat.restorative_circle, (30,), book=None)
    await _reads(ctx)


# --- agreements ---------------------------------------------------------------------------


def _terms(rng: random.Random, supervisee: Staff) -> AgreementTermsIn:
    return AgreementTermsIn(
        frequency_days=7 if supervisee.cohort in ("asye", "student") else 28,
        duration_minutes=90,
        cancellation=(
            "Whoever cancels rebooks within five working days; the supervisor cancels only "
            "for an emergency, and never twice running."
        ),
        confidentiality=(
            "What we discuss stays between us, except concerns about a child's safety, "
            "fitness to practise or a crime, which the supervisor will share and say so first."
        ),
        record_keeping=(
            "The supervisor writes the record in Harbour within five working days; the "
            "supervisee reads and signs it; case decisions are copied to the child's file."
        ),
        disagreements=(
            "We talk it through first; if we still disagree, the supervisee records it when "
            "signing and either of us may ask the head of service to help."
        ),
        learning_needs=rng.choice(LEARNING_NEEDS),
    )


async def _agreement(ctx: _Ctx, supervisee: Staff, supervisor: Staff, key: Key) -> None:
    """Version 1 from when they started (at most 11 months ago), reviewed into version 2
    three months later, unless their story says otherwise."""
    story = AGREEMENT_STORIES.get(key)
    rng = random.Random(f"harbour-demo/agreements/{'/'.join(map(str, key))}")
    if story is None and rng.random() < OVERDUE_SHARE:
        story = OVERDUE
    if story == NONE:
        return
    start = weekday_on_or_before(max(supervisee.started_on, ctx.today - timedelta(days=330)))
    terms = _terms(rng, supervisee)
    first = await _draft(ctx, supervisor, supervisee, start, terms, key, 1, local(start, 11))
    await _sign(ctx, supervisor, first, local(start, 15))
    if story == AWAITING:
        return  # the supervisee has not signed yet
    await _sign(ctx, supervisee, first, local(start + timedelta(days=1), 10))
    review = add_months(start, 3)
    if story == OVERDUE or review >= ctx.today - timedelta(days=3):
        return  # not reviewed: overdue if its date has passed, else not yet due
    day = weekday_on_or_before(review)
    second = await _draft(ctx, supervisee, supervisee, day, terms, key, 2, local(day, 10))
    await _sign(ctx, supervisee, second, local(day, 11))
    await _sign(ctx, supervisor, second, local(day, 16))


async def _draft(
    ctx: _Ctx,
    by: Staff,
    supervisee: Staff,
    starts_on: date,
    terms: AgreementTermsIn,
    key: Key,
    number: int,
    at: datetime,
) -> SupervisionAgreement:
    data = AgreementCreate(
        id=demo_id(ctx.council.organisation_id, "agreement", *key, number),
        supervisee_id=supervisee.id,
        starts_on=starts_on,
        terms=terms,
    )
    tagged, _ = await create_agreement(ctx.session, ctx.ring, actor_for(by), data, ctx.past(at))
    row = await ctx.session.get(SupervisionAgreement, tagged.view.id)  # in the identity map
    assert row is not None
    return row


async def _sign(ctx: _Ctx, who: Staff, row: SupervisionAgreement, at: datetime) -> None:
    await sign_agreement(
        ctx.session, ctx.ring, actor_for(who), row.id, etag_for(row.version), ctx.past(at)
    )


# --- group supervision --------------------------------------------------------------------


async def _groups(
    ctx: _Ctx, team: Team, form: GroupFormat, days_ago: tuple[int, ...], book: int | None
) -> None:
    facilitator = actor_for(team.manager)
    rng = random.Random(f"harbour-demo/groups/{team.index}")
    invited = list(team.members)
    for n, ago in enumerate(days_ago):
        day = weekday_on_or_before(ctx.today - timedelta(days=ago))
        held_at = local(day, 13, 30)
        create = GroupSessionCreate(
            id=demo_id(ctx.council.organisation_id, "group", team.index, n),
            format=form,
            scheduled_for=held_at,
            duration_minutes=90,
            attendee_ids=[p.id for p in invited],
        )
        tagged, _ = await schedule_group_session(
            ctx.session, ctx.ring, facilitator, create, ctx.past(held_at - timedelta(days=14))
        )
        group_id, etag = tagged.view.id, tagged.etag
        # The ASYE login (position 0) and the practitioner login (1) are always there.
        absent = invited[rng.randrange(2, len(invited))]
        presenter = invited[n % 2 if n < 2 else rng.randrange(2, len(invited))]
        if presenter is absent:
            presenter = invited[1]
        worried, well, needs, decision, rationale = GROUP_CASES[n % len(GROUP_CASES)]
        record = GroupRecordPut(
            held_at=held_at,
            duration_minutes=90,
            attendance=[
                AttendanceIn(
                    staff_id=p.id,
                    attendance=Attendance.absent if p is absent else Attendance.attended,
                    absence_reason=rng.choice(ABSENCE_REASONS) if p is absent else None,
                )
                for p in invited
            ],
            presenter_id=presenter.id,
            case_discussion=CaseDiscussionIn(
                case_reference=f"CIN-{rng.randint(100000, 999999)}",
                worried_about=worried,
                working_well=well,
                needs_to_happen=needs,
                scaling=rng.randint(3, 7),
                decision=decision,
                rationale=rationale,
            ),
            notes=(
                "The group mapped the case together and the presenter chose the next steps; "
                "we noticed how much the network could do once it was asked."
            ),
        )
        written = local(day + timedelta(days=1), 16)
        tagged = await write_group_record(
            ctx.session, ctx.ring, facilitator, group_id, record, etag, ctx.past(written)
        )
        etag = tagged.etag
        for i, person in enumerate(p for p in invited if p is not absent):
            if rng.random() < 0.7 or i < 2:
                at = ctx.past(local(day + timedelta(days=2), 9, 5 * i))
                tagged = await acknowledge_group_record(
                    ctx.session, ctx.ring, actor_for(person), group_id, etag, at
                )
                etag = tagged.etag
    if book is not None:
        day = weekday_on_or_before(ctx.today + timedelta(days=book))
        create = GroupSessionCreate(
            id=demo_id(ctx.council.organisation_id, "group", team.index, len(days_ago)),
            format=form,
            scheduled_for=local(day, 13, 30),
            duration_minutes=90,
            attendee_ids=[p.id for p in invited],
        )
        await schedule_group_session(
            ctx.session, ctx.ring, facilitator, create, ctx.past(local(ctx.today, 9))
        )


# --- reads for the access log -------------------------------------------------------------


async def _reads(ctx: _Ctx) -> None:
    """A few reads of other people's records, as the people above would make them."""
    team = ctx.council.teams[0]
    practitioner = team.members[1]
    held = (
        await ctx.session.exec(
            select(SupervisionSession)
            .where(
                col(SupervisionSession.organisation_id) == ctx.council.organisation_id,
                col(SupervisionSession.supervisee_id) == practitioner.id,
                col(SupervisionSession.status).in_([s.value for s in HELD_STATUSES]),
            )
            .order_by(col(SupervisionSession.held_at).desc())
        )
    ).all()
    readers = (
        (team.manager, held[0], 2),
        (ctx.council.heads[0], held[0], 1),
        (ctx.council.admin, held[-1], 4),
    )
    for reader, row, days_ago in readers:
        at = ctx.past(local(ctx.today - timedelta(days=days_ago), 11))
        await read_session(ctx.session, ctx.ring, actor_for(reader), row.id, at)
    head_agreement = (
        await ctx.session.exec(
            select(SupervisionAgreement).where(
                col(SupervisionAgreement.organisation_id) == ctx.council.organisation_id,
                col(SupervisionAgreement.supervisee_id) == ctx.council.heads[0].id,
            )
        )
    ).first()
    if head_agreement is not None:
        at = ctx.past(local(ctx.today - timedelta(days=3), 15))
        await read_agreement(
            ctx.session, ctx.ring, actor_for(ctx.council.director), head_agreement.id, at
        )
