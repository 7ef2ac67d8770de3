"""The demo council's wellbeing check-ins (the `pulse` instrument), through `create_checkin`.

Most team members check in every week, mostly on their own usual day, since the council
launched check-ins about six months ago (later starters from the month after they
started). Answers follow a personal baseline with a slow drift, the pressure of their team
(the Child Protection Team has had a hard couple of months) and week-to-week noise, all
from seeded generators. Teams of eight are below the k-rule's 10, so HR sees services and
the directorate, never a team.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from api.demo.people import HISTORY_DAYS, Council, demo_id, local
from api.demo.supervision import STORIES
from models.directory.service import actor_for
from models.directory.staff import Staff
from supervision.policy import add_months
from wellbeing.checkins import create_checkin
from wellbeing.schemas import CheckInCreate

INSTRUMENT = "pulse"
# How heavy each team's material is (exposure), Children's Social Care first.
EXPOSURE = (3.4, 2.9, 3.8, 3.0, 2.2, 2.0, 2.4)
CHILD_PROTECTION = 2
PRESSURE_WEEKS = 10  # the Child Protection Team's hard stretch, up to today
# Who in the Assessment Team (team 0) asks to talk, and who shares their latest check-in.
ASKS_TO_TALK = 6
SHARES_LATEST = 1


async def seed_checkins(session: AsyncSession, council: Council, now: datetime) -> None:
    for team in council.teams:
        for position, person in enumerate(team.members):
            rng = random.Random(f"harbour-demo/checkins/{team.index}/{position}")
            # One in eight never uses check-ins (they are voluntary).
            shown = team.index == 0 and position in (SHARES_LATEST, ASKS_TO_TALK)
            if rng.random() < 0.125 and not shown:
                continue
            await _checkins(session, council, team.index, position, person, rng, now)


def joined_on(started_on: date, today: date) -> date:
    """When someone began checking in. Check-ins were rolled out in waves: established staff
    from the first Monday of the month about six months ago; the year's ASYE cohort a few
    months later; this autumn's starters after their induction month. People join in groups,
    never one at a time, because a week or month whose figure differed from an earlier one
    by a single person would be suppressed (it would give that person's answers away)."""
    if started_on < today - timedelta(days=HISTORY_DAYS):
        return _wave(today - timedelta(days=HISTORY_DAYS - 12), same_month=True)
    if started_on < today - timedelta(days=90):
        return _wave(today - timedelta(days=110))
    return _wave(today - timedelta(days=10))


def _wave(day: date, *, same_month: bool = False) -> date:
    """The first Monday of `day`'s month (or of the month after)."""
    first = day.replace(day=1) if same_month else add_months(day.replace(day=1), 1)
    return first + timedelta(days=-first.weekday() % 7)


async def _checkins(
    session: AsyncSession,
    council: Council,
    team_index: int,
    position: int,
    person: Staff,
    rng: random.Random,
    now: datetime,
) -> None:
    today = now.date()
    start = joined_on(person.started_on, today)
    story = STORIES.get((team_index, position))
    away_from = today - timedelta(days=story.sick[0]) if story and story.sick else None
    usual_day = rng.randrange(5)
    hour = rng.randint(8, 17)
    baseline = rng.uniform(2.9, 4.1)
    drift = rng.uniform(-0.5, 0.4)
    weeks: list[datetime] = []
    monday = start
    while monday <= today:
        day = monday + timedelta(days=usual_day if rng.random() < 0.7 else rng.randrange(5))
        at = local(day, hour, rng.randint(0, 59))
        if at < now - timedelta(minutes=5) and (away_from is None or day < away_from):
            weeks.append(at)
        monday += timedelta(days=7)
    actor = actor_for(person)
    for n, at in enumerate(weeks):
        latest = n == len(weeks) - 1
        recent = latest and (today - at.date()).days <= 14 and team_index == 0
        answers = _answers(rng, team_index, baseline, drift, at.date(), today)
        talk = recent and position == ASKS_TO_TALK
        body = CheckInCreate(
            id=demo_id(council.organisation_id, "checkin", team_index, position, n),
            instrument=INSTRUMENT,
            answers=answers,
            wants_to_talk=talk,
            tell_supervisor=talk,
            share_with_supervisor=recent and position == SHARES_LATEST,
        )
        await create_checkin(session, actor, body, at)


def _answers(
    rng: random.Random, team: int, baseline: float, drift: float, on: date, today: date
) -> dict[str, int]:
    """One week's pulse answers (1-5 each; stress and exposure are the reverse-keyed ones)."""
    progress = 1 - (today - on).days / HISTORY_DAYS
    pressure = 0.8 if team == CHILD_PROTECTION and (today - on).days < 7 * PRESSURE_WEEKS else 0.0
    level = baseline + drift * progress - 0.5 * pressure

    def item(centre: float, spread: float = 0.6) -> int:
        return max(1, min(5, round(centre + rng.gauss(0, spread))))

    return {
        "mood": item(level),
        "stress": item(6 - level + 0.5 * pressure),
        "exposure": item(EXPOSURE[team] + 0.4 * pressure, 0.8),
        "supported": item(level + 0.4),
        "sleep": item(level - 0.2),
    }
