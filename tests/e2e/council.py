"""The council the end-to-end test seeds, and what it expects the reminders to be.

One unit, its manager, two supervisors and eight practitioners across eight time zones. Each
practitioner had supervision 45 days ago (recorded, never signed) and has an action that fell
due three days ago, so at any wall-clock time these are due: supervision overdue (to them),
supervisee overdue (to their supervisor), escalation (to the manager: 17 days overdue),
record not signed, action due, and the weekly check-in nudge (their nudge is Monday 00:00, so
it has passed in every week). Add an upcoming session (24 h reminder, both sides) and a past
session never written up: 51 notifications of 8 kinds. Three people have quiet hours around
the current time in their own zone; one has push switched off.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.security import Passwords
from api.settings import Settings
from models.db import session_scope
from models.directory.staff import Role, Staff
from models.notifications.outbox import NotificationKind, Platform
from models.supervision import SupervisionSession
from tests.factories.directory import PASSWORD, make_org, make_staff, make_unit
from tests.factories.supervision import make_action, make_session

K = NotificationKind
Key = tuple[uuid.UUID, str, uuid.UUID]  # recipient, kind, subject
ANDROID, IOS = Platform.android, Platform.ios


@dataclass(frozen=True)
class Plan:
    label: str
    role: Role
    zone: str
    quiet: bool
    push: bool
    platforms: tuple[Platform, ...]


PLANS = (
    Plan("manager", Role.manager, "Europe/London", False, True, (ANDROID,)),
    Plan("s1", Role.supervisor, "Europe/Dublin", False, True, (IOS,)),
    Plan("s2", Role.supervisor, "Australia/Sydney", True, True, (ANDROID,)),
    Plan("p1", Role.practitioner, "Europe/London", False, True, (ANDROID, IOS)),
    Plan("p2", Role.practitioner, "America/New_York", False, True, (IOS,)),
    Plan("p3", Role.practitioner, "Asia/Tokyo", True, True, (ANDROID,)),
    Plan("p4", Role.practitioner, "UTC", False, True, (ANDROID, IOS)),
    Plan("p5", Role.practitioner, "America/Los_Angeles", False, True, (IOS,)),
    Plan("p6", Role.practitioner, "Asia/Kolkata", True, True, (IOS, ANDROID)),
    Plan("p7", Role.practitioner, "Europe/Berlin", False, True, (ANDROID,)),
    Plan("p8", Role.practitioner, "Pacific/Auckland", False, False, (ANDROID,)),  # inbox only
)


@dataclass
class Member:
    plan: Plan
    id: uuid.UUID
    email: str
    display_name: str
    api: str = ""  # the API process this person signed in and registered through
    access_token: str = ""
    devices: dict[str, Platform] = field(default_factory=dict)  # push token -> platform
    quiet: tuple[time, time] | None = None

    def quiet_end(self, now: datetime) -> datetime:
        """When the quiet window that holds `now` ends, as UTC (next wall-clock end)."""
        assert self.quiet is not None
        zone = ZoneInfo(self.plan.zone)
        local = now.astimezone(zone)
        end = datetime.combine(local.date(), self.quiet[1], tzinfo=zone)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)


@dataclass
class Council:
    organisation_id: uuid.UUID
    members: dict[uuid.UUID, Member]
    expected: set[Key]
    held: dict[uuid.UUID, uuid.UUID]  # practitioner -> their recorded, unsigned session
    apis: list[str] = field(default_factory=list)  # base URLs of the API processes

    def member(self, label: str) -> Member:
        return next(m for m in self.members.values() if m.plan.label == label)

    def practitioners(self) -> list[Member]:
        return [m for m in self.members.values() if m.plan.role is Role.practitioner]


def quiet_window(now: datetime, zone: str) -> tuple[time, time]:
    """Quiet hours from an hour ago to two hours ahead, in that zone's wall-clock minutes."""
    local = now.astimezone(ZoneInfo(zone)).replace(second=0, microsecond=0, tzinfo=None)
    return (local - timedelta(hours=1)).time(), (local + timedelta(hours=2)).time()


async def seed(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime
) -> Council:
    """Commit the council through the domain factories; returns it with the expected keys."""
    password_hash = Passwords(settings).hash(PASSWORD)
    today = now.date()
    async with session_scope(sessions) as db:
        org = await make_org(db, now=now)
        by_label: dict[str, Staff] = {}
        for plan in PLANS:
            by_label[plan.label] = await make_staff(
                db, org, plan.role, password_hash=password_hash, now=now
            )
        manager, s1, s2 = by_label["manager"], by_label["s1"], by_label["s2"]
        unit = await make_unit(db, org, manager=manager, now=now)
        expected: set[Key] = set()
        held: dict[uuid.UUID, uuid.UUID] = {}
        for n, plan in enumerate(p for p in PLANS if p.role is Role.practitioner):
            person = by_label[plan.label]
            supervisor = s1 if n % 2 == 0 else s2
            person.unit_id, person.supervisor_id = unit.id, supervisor.id
            db.add(person)
            session = await make_session(
                db, person, supervisor, now=now, held_on=today - timedelta(days=45)
            )
            action = await make_action(db, session, now=now, due_on=today - timedelta(days=3))
            held[person.id] = session.id
            expected |= {
                (person.id, K.supervision_overdue, person.id),
                (supervisor.id, K.supervisee_overdue, person.id),
                (manager.id, K.overdue_escalation, person.id),
                (person.id, K.record_not_signed, session.id),
                (person.id, K.action_due, action.id),
                (person.id, K.checkin_nudge, person.id),
            }
        for staff in (manager, s1, s2):
            staff.unit_id = unit.id
            db.add(staff)
        p1, p2 = by_label["p1"], by_label["p2"]
        upcoming = await make_session(db, p1, s1, now=now, scheduled_for=now + timedelta(hours=5))
        unwritten = await make_session(db, p2, s2, now=now, scheduled_for=now - timedelta(days=10))
        expected |= {
            (p1.id, K.session_upcoming_24h, upcoming.id),
            (s1.id, K.session_upcoming_24h, upcoming.id),
            (s2.id, K.record_not_written, unwritten.id),
        }
        await db.flush()
        people = [(plan, by_label[plan.label]) for plan in PLANS]
        members = {s.id: Member(plan, s.id, s.email, s.display_name) for plan, s in people}
    return Council(org.id, members, expected, held)


async def enrol(client: httpx.AsyncClient, council: Council, apis: Sequence[str]) -> None:
    """Each person, through one API process or the other in turn: sign in, save preferences
    (quiet hours around now for some, none for the rest), register their phones."""
    now = datetime.now(UTC)
    for n, member in enumerate(council.members.values()):
        member.api = apis[n % len(apis)]
        token = await client.post(
            f"{member.api}/api/v1/auth/token",
            data={"grant_type": "password", "username": member.email, "password": PASSWORD},
        )
        assert token.status_code == 200, token.text
        member.access_token = token.json()["access_token"]
        auth = {"Authorization": f"Bearer {member.access_token}"}
        practitioner = member.plan.role is Role.practitioner
        member.quiet = quiet_window(now, member.plan.zone) if member.plan.quiet else None
        prefs = {
            "timezone": member.plan.zone,
            "quiet_hours_start": member.quiet[0].isoformat() if member.quiet else None,
            "quiet_hours_end": member.quiet[1].isoformat() if member.quiet else None,
            "checkin_nudge_weekday": 1 if practitioner else None,
            "checkin_nudge_time": "00:00:00" if practitioner else None,
            "push_enabled": member.plan.push,
        }
        url = f"{member.api}/api/v1/me/preferences"
        read = await client.get(url, headers=auth)
        saved = await client.put(
            url, json=prefs, headers={**auth, "If-Match": read.headers["ETag"]}
        )
        assert saved.status_code == 200, saved.text
        for k, platform in enumerate(member.plan.platforms):
            push_token = f"{platform}-{member.plan.label}-{k}-{uuid.uuid4().hex}"
            # The second phone registers through the other API process.
            api = apis[(n + k) % len(apis)]
            device = await client.post(
                f"{api}/api/v1/devices",
                json={"platform": platform.value, "token": push_token},
                headers=auth,
            )
            assert device.status_code == 201, device.text
            member.devices[push_token] = platform


async def more_actions(
    db: AsyncSession, council: Council, members: Sequence[Member], due_on: date, now: datetime
) -> set[Key]:
    """Two more actions due for each of `members` (the second phase's batch)."""
    expected: set[Key] = set()
    for member in members:
        session = await db.get_one(SupervisionSession, council.held[member.id])
        for _ in range(2):
            action = await make_action(db, session, now=now, due_on=due_on)
            expected.add((member.id, K.action_due, action.id))
    return expected
