"""The demo practitioners' reflective notes, written and shared through the domain functions
(so they are sealed at rest and on the sync feed like any other note).

Most practitioners have a few notes, private to them. In every team the newly qualified
(ASYE) practitioner has brought one to supervision and a qualified colleague has shared one
with their supervisor; everything else stays private, as notes are by default.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from api.demo.people import Council, demo_id, local, weekday_on_or_before
from api.demo.text import REFLECTIONS, Note
from models.crypto import KeyRing
from models.directory.service import actor_for
from models.directory.staff import Staff
from models.etag import etag_for
from models.reflection import Reflection, ReflectionTemplate
from supervision.reflections.notes import create_reflection, share_reflection, update_reflection
from supervision.reflections.schemas import ReflectionCreate, ReflectionShare, ReflectionUpdate
from supervision.reflections.templates import ReflectionTag

# Team members who bring a note to supervision, and who share one without bringing it.
BRINGS = 0  # the ASYE practitioner new this year
SHARES = 1  # a qualified practitioner


async def seed_reflections(
    session: AsyncSession, ring: KeyRing, council: Council, now: datetime
) -> None:
    for team in council.teams:
        for position, member in enumerate(team.members):
            rng = random.Random(f"harbour-demo/reflections/{team.index}/{position}")
            count = 4 if team.index == 0 and position in (BRINGS, SHARES) else rng.randint(0, 3)
            if position in (BRINGS, SHARES):
                count = max(count, 2)
            written = await _write(session, ring, council, member, team.index, position, count, now)
            notes = [note for note, _ in written]
            if not notes:
                continue
            actor = actor_for(member)
            if position == BRINGS:
                newest = notes[-1]
                await share_reflection(
                    session,
                    actor,
                    newest.id,
                    ReflectionShare(bring_to_supervision=True),
                    _later(newest.created_at, hours=2, now=now),
                )
            elif position == SHARES:
                shared = notes[-2]
                await share_reflection(
                    session,
                    actor,
                    shared.id,
                    ReflectionShare(bring_to_supervision=False),
                    _later(shared.created_at, hours=20, now=now),
                )
                if team.index == 0:
                    await _revise(session, ring, member, *written[0], rng, now)


async def _write(
    session: AsyncSession,
    ring: KeyRing,
    council: Council,
    member: Staff,
    team_index: int,
    position: int,
    count: int,
    now: datetime,
) -> list[tuple[Reflection, Note]]:
    """`count` notes over the months since the person started, oldest first."""
    rng = random.Random(f"harbour-demo/reflections/{team_index}/{position}/notes")
    today = now.date()
    span = max(2, min(150, (today - member.started_on).days - 1))
    ages = sorted(rng.sample(range(1, span + 1), k=min(count, span)), reverse=True)
    notes = []
    for n, (age, pick) in enumerate(zip(ages, rng.sample(REFLECTIONS, k=len(ages)), strict=True)):
        template, title, body, tags, mood = pick
        day = weekday_on_or_before(today - timedelta(days=age))
        data = ReflectionCreate(
            id=demo_id(council.organisation_id, "reflection", team_index, position, n),
            template=ReflectionTemplate(template),
            title=title,
            body=body,
            tags=[ReflectionTag(t) for t in tags],
            mood=mood,
        )
        written = min(local(day, rng.randint(12, 19), rng.randint(0, 59)), now)
        note, _ = await create_reflection(session, ring, actor_for(member), data, written)
        notes.append((note, pick))
    return notes


async def _revise(
    session: AsyncSession,
    ring: KeyRing,
    member: Staff,
    note: Reflection,
    source: Note,
    rng: random.Random,
    now: datetime,
) -> None:
    """Come back to an old note and add to it (a second version)."""
    template, title, body, tags, mood = source
    last = list(body)[-1]
    revised = {**body, last: body[last] + " Update: tried it, and it helped."}
    data = ReflectionUpdate(
        template=ReflectionTemplate(template),
        title=title,
        body=revised,
        tags=[ReflectionTag(t) for t in tags],
        mood=mood,
    )
    when = _later(note.created_at, hours=24 * rng.randint(3, 9), now=now)
    await update_reflection(
        session, ring, actor_for(member), note.id, data, etag_for(note.version), when
    )


def _later(at: datetime, *, hours: int, now: datetime) -> datetime:
    return min(at + timedelta(hours=hours), now - timedelta(minutes=5))
