"""`harbour demo`: a realistic small council to try Harbour with.

The council (units and staff) is created here; its history (supervision, reflections,
wellbeing check-ins) by `api.demo.supervision`, `api.demo.reflections` and
`api.demo.checkins`, through the same domain functions the API routes call, each given a
past `now`, so the seeded data obeys every rule the API does (encryption, the sync feed,
versions, validation). Everything is dated relative to `now` and drawn from seeded
`random.Random`s: the same `now` gives the same story.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from api.demo.agreements_and_groups import seed_agreements_and_groups
from api.demo.checkins import seed_checkins
from api.demo.identity import seed_identity
from api.demo.people import HISTORY_DAYS, Council, Team
from api.demo.practice import seed_practice
from api.demo.reflections import seed_reflections
from api.demo.supervision import seed_supervision
from models.actor import Actor
from models.crypto import KeyRing
from models.directory.organisation import Organisation
from models.directory.schemas import UnitCreate
from models.directory.service import (
    actor_for,
    create_unit,
    get_or_create_organisation,
    grant_roles_to_named_supervisors,
)
from models.directory.staff import Cohort, Role, Staff
from wellbeing.publish import publish_due

DEMO_ORG = "Harbourside Council (demo)"
DEMO_DOMAIN = "harbourside.example"
DEMO_PASSWORD = "harbour-demo-2026"

_FIRST = (
    "Amara Ben Chloe Dev Ella Femi Grace Hassan Isla Jack Kezia Liam Maya Noah Olu Priya "
    "Quinn Rosa Sam Tara Uma Vik Wren Yusuf Zara Aled Bea Cal Dina Ezra Fay Gus Hana Ivo "
    "Jess Kai Lena Milo Nia Owen Pia Reece Sofia Theo Una Vera Will Xena Yara Zac Alfie "
    "Bryony Ciaran Delyth Eamon Farah Gethin Hollie Imran Joel Kirsty Lowri"
).split()
_LAST = (
    "Adeyemi Baker Chen Davies Evans Fraser Gill Hughes Iqbal Jones Khan Lewis Morgan "
    "Nwosu Owen Patel Quinn Roberts Singh Taylor Usman Vaughan Walsh Young"
).split()

# (service, [teams])
_STRUCTURE = (
    (
        "Children's Social Care",
        ("Assessment Team", "Child in Need Team", "Child Protection Team", "Children in Care Team"),
    ),
    ("Early Help", ("Early Help North", "Early Help South", "Family Support Team")),
)


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    hint: str = ""


async def seed_demo(
    session: AsyncSession, password_hash: str, now: datetime, ring: KeyRing
) -> list[Login]:
    """Create the demo council and its history once; later calls change nothing and return
    the same logins."""
    organisation = await get_or_create_organisation(session, DEMO_ORG, now)
    if await session.get(Staff, _demo_marker(organisation.id)) is not None:
        return demo_logins()
    council = await _seed_council(session, organisation, password_hash, now)
    await seed_supervision(session, ring, council, now)
    await seed_reflections(session, ring, council, now)
    await seed_checkins(session, council, now)
    await seed_practice(session, ring, council, now)
    await seed_agreements_and_groups(session, ring, council, now)
    await seed_identity(session, council, now)
    # What the worker would have published over the history (each period once).
    first = (now - timedelta(days=HISTORY_DAYS)).date().replace(day=1)
    await publish_due(session, organisation.id, now, since=first)
    return demo_logins()


async def _seed_council(
    session: AsyncSession, organisation: Organisation, password_hash: str, now: datetime
) -> Council:
    today = now.date()
    counter = itertools.count()

    def person(roles: list[Role], unit: uuid.UUID | None, cohort: Cohort, started: date) -> Staff:
        index = next(counter)
        staff = Staff(
            organisation_id=organisation.id,
            email=_email(index),
            display_name=f"{_FIRST[index]} {_LAST[(index * 7) % len(_LAST)]}",
            password_hash=password_hash,
            roles=[r.value for r in roles],
            unit_id=unit,
            cohort=cohort,
            started_on=started,
            created_at=now,
            updated_at=now,
        )
        session.add(staff)
        return staff

    admin = person([Role.admin], None, Cohort.other, today - timedelta(days=900))
    admin.id = _demo_marker(organisation.id)
    await session.flush()
    actor: Actor = actor_for(admin)

    directorate = await create_unit(session, actor, UnitCreate(name="Children's Services"), now)
    director = person([Role.manager], directorate.id, Cohort.manager, today - timedelta(days=3000))
    hr = person([Role.hr], None, Cohort.other, today - timedelta(days=1500))
    await session.flush()
    directorate.manager_id = director.id

    heads: list[Staff] = []
    teams: list[Team] = []
    for service_name, team_names in _STRUCTURE:
        service = await create_unit(
            session, actor, UnitCreate(name=service_name, parent_id=directorate.id), now
        )
        head = person(
            [Role.manager, Role.supervisor],
            service.id,
            Cohort.manager,
            today - timedelta(days=2000),
        )
        head.supervisor_id = director.id
        await session.flush()
        service.manager_id = head.id
        heads.append(head)
        for t_index, team_name in enumerate(team_names):
            team = await create_unit(
                session, actor, UnitCreate(name=team_name, parent_id=service.id), now
            )
            manager = person(
                [Role.manager, Role.supervisor, Role.practitioner],
                team.id,
                Cohort.manager,
                today - timedelta(days=1200 + 90 * t_index),
            )
            manager.supervisor_id = head.id
            await session.flush()
            team.manager_id = manager.id
            members = []
            for cohort, started in _team_members(today, t_index):
                member = person([Role.practitioner], team.id, cohort, started)
                member.supervisor_id = manager.id
                members.append(member)
            teams.append(Team(len(teams), team, manager, members))
    # The director's own supervisor, outside Children's Services (and created last, so that
    # everyone else keeps the address they have always had).
    chief = person([Role.supervisor], None, Cohort.manager, today - timedelta(days=4000))
    await session.flush()
    director.supervisor_id = chief.id
    await session.flush()
    # Whoever supervises holds the supervisor role (the director supervises the heads).
    await grant_roles_to_named_supervisors(session, organisation.id, now)
    return Council(organisation.id, admin, director, hr, chief, heads, teams)


def _team_members(today: date, team_index: int) -> list[tuple[Cohort, date]]:
    """Seven people: an ASYE in their first weeks, one mid-year, a student, four qualified."""
    return [
        (Cohort.asye, today - timedelta(days=20 + 3 * team_index)),
        (Cohort.qualified, today - timedelta(days=700 + 40 * team_index)),
        (Cohort.asye, today - timedelta(days=120 + 10 * team_index)),
        (Cohort.student, today - timedelta(days=30)),
        (Cohort.qualified, today - timedelta(days=1500)),
        (Cohort.qualified, today - timedelta(days=2600)),
        (Cohort.qualified, today - timedelta(days=400)),
    ]


def _demo_marker(organisation_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(organisation_id, "harbour-demo-admin")


def _email(index: int) -> str:
    name = f"{_FIRST[index]} {_LAST[(index * 7) % len(_LAST)]}"
    return f"{name.lower().replace(' ', '.')}@{DEMO_DOMAIN}"


# Seeding order is fixed: admin, director, hr, the first head of service, the first team's
# manager, then that team's members (an ASYE first, a qualified practitioner second).
_LOGINS = (
    (
        "admin",
        0,
        "staff, units and the supervision policy; supervision dates without text; "
        "the access log and analytics audit (/api/v1/admin/access-log); sign-in changes "
        "(/api/v1/admin/identity-audit: a SCIM token tried and revoked, an invitation)",
    ),
    ("hr", 2, "anonymised wellbeing analytics: services released, small teams suppressed"),
    ("director", 1, "oversight of Children's Services: compliance across both services"),
    (
        "head of service",
        3,
        "Children's Social Care: oversight, trend, monthly report card (groups, agreements)",
    ),
    (
        "team manager (supervisor)",
        4,
        "Assessment Team: overdue, due soon and off sick; shared notes; a talk request "
        "(acknowledged); a supervisee's incident on the next agenda; agreements (one "
        "review overdue); runs the monthly Signs of Safety group",
    ),
    (
        "ASYE practitioner",
        5,
        "weekly supervision, a record to sign off, a note brought to the next session; "
        "deadlines that skip the closure day and bank holidays; an agreement to sign",
    ),
    (
        "practitioner",
        6,
        "signed-off records, actions, notes (one shared), six months of check-ins and trend; "
        "an incident with its follow-up check-in; a signed agreement, group supervision",
    ),
)


def demo_logins() -> list[Login]:
    return [Login(role, _email(index), hint) for role, index, hint in _LOGINS]
