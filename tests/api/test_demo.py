"""`harbour demo`'s council and history, seen through the API by each printed login.

Seeding goes through the domain functions at past times, so these tests read it the way the
phone app and the dashboards do: sign in with the printed address and the demo password,
then look. One seed per test (a seed is several thousand statements), so each test checks
what several logins see.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from api.demo.seed import DEMO_PASSWORD, Login, seed_demo
from api.security import Passwords
from api.settings import Settings
from tests.conftest import FrozenClock
from tests.factories.directory import password_login

pytestmark = pytest.mark.slow

# Every table a seed writes to, and the sync feed's counter.
SEEDED_TABLES = (
    "organisations",
    "units",
    "staff",
    "supervision_sessions",
    "supervision_records",
    "supervision_case_discussions",
    "supervision_actions",
    "supervision_feedback",
    "absences",
    "reflections",
    "wellbeing_checkins",
    "wellbeing_checkin_shares",
    "changes",
    "change_counters",
    "access_log",
    "identity_audit",
    "password_links",
    "supervision_agreements",
    "supervision_group_sessions",
    "supervision_group_attendees",
)


async def _seed(db: AsyncSession, settings: Settings, clock: FrozenClock) -> dict[str, Login]:
    password_hash = Passwords(settings).hash(DEMO_PASSWORD)
    logins = await seed_demo(db, password_hash, clock.now, settings.key_ring())
    await db.commit()
    return {login.role: login for login in logins}


async def _headers(client: httpx.AsyncClient, login: Login) -> dict[str, str]:
    """Sign in as a printed login, as a person would."""
    response = await password_login(client, login.email, DEMO_PASSWORD)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(url, headers=headers, params=params)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
    return response.json()


async def _units(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    body = await _get(client, "/api/v1/org/units", headers, limit=200)
    return {unit["name"]: unit["id"] for unit in body["data"]}


async def _feed_types(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    types: set[str] = set()
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor is not None:
            params["cursor"] = cursor
        page = await _get(client, "/api/v1/sync", headers, **params)
        types |= {change["type"] for change in page["changes"] if change["op"] == "upsert"}
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return types


async def test_every_demo_login_has_something_to_see(
    client: httpx.AsyncClient,
    db: AsyncSession,
    test_settings: Settings,
    clock: FrozenClock,
) -> None:
    logins = await _seed(db, test_settings, clock)
    today = clock.now.date()
    manager = await _headers(client, logins["team manager (supervisor)"])
    practitioner = await _headers(client, logins["practitioner"])
    asye = await _headers(client, logins["ASYE practitioner"])
    hr = await _headers(client, logins["hr"])
    director = await _headers(client, logins["director"])

    await _manager_dashboard_shows_a_mix(client, manager, today)
    await _directorate_is_mostly_on_track(client, director)
    await _reflections_are_private_but_the_shared_one(client, practitioner, asye, manager)
    await _practitioner_has_history(client, practitioner)
    await _agreements_and_groups(client, manager, practitioner, asye)
    head = await _headers(client, logins["head of service"])
    await _report_card_counts_practice(client, head)
    admin = await _headers(client, logins["admin"])
    await _admin_reads_the_access_log(client, admin)
    await _analytics_release_services_and_suppress_teams(client, hr)


async def _manager_dashboard_shows_a_mix(
    client: httpx.AsyncClient, manager: dict[str, str], today: date
) -> None:
    me = await _get(client, "/api/v1/me", manager)
    team = await _get(client, f"/api/v1/oversight/units/{me['unit_id']}/supervision", manager)
    rows = team["staff"]
    assert len(rows) == 8

    def due_in(row: dict[str, Any]) -> int:
        return (date.fromisoformat(row["next_due_on"]) - today).days

    overdue = [r for r in rows if r["days_overdue"] > 0]
    due_soon = [r for r in rows if r["days_overdue"] == 0 and due_in(r) <= 7]
    on_track = [r for r in rows if due_in(r) > 7]
    assert overdue, rows
    assert team["overdue_count"] == len(overdue) < len(rows) / 2
    assert due_soon, rows
    assert len(on_track) >= 2, rows
    assert any(r["on_leave"] for r in rows)
    assert any(r["awaiting_write_up"] for r in rows)
    assert any(r["awaiting_sign_off"] for r in rows)
    assert any(r["cancelled_last_90_days"] for r in rows)
    assert sum(r["open_actions"] for r in rows) > 0
    assert any(r["overdue_actions"] for r in rows)

    # Signed-off history, and the next session booked for most of the team.
    sessions = await _get(client, "/api/v1/supervision/sessions", manager, limit=200)
    by_status: dict[str, int] = {}
    upcoming: set[str] = set()
    for s in sessions["data"]:
        by_status[s["status"]] = by_status.get(s["status"], 0) + 1
        if s["status"] == "scheduled" and date.fromisoformat(s["scheduled_for"][:10]) > today:
            upcoming.add(s["supervisee_id"])
    assert by_status["signed_off"] >= 20
    assert by_status["recorded"] >= 1
    assert by_status["cancelled"] >= 1
    assert len(upcoming) >= 5

    # Someone asked to talk and agreed their supervisor be told; the supervisor acknowledged.
    talks = await _get(client, "/api/v1/wellbeing/talk-requests", manager)
    assert [t["status"] for t in talks["data"]] == ["acknowledged"]
    assert "scores" not in talks["data"][0]
    # A supervisee told them about an incident and asked to bring it to supervision.
    incidents = await _get(client, "/api/v1/wellbeing/incidents/shared-with-me", manager)
    assert [(i["category"], i["bring_to_supervision"]) for i in incidents["data"]] == [
        ("distressing_visit", True)
    ]
    # A closure day the write-up deadlines skip: the ASYE's next session's deadline is 6
    # weekdays after it, not 5.
    closures = await _get(client, "/api/v1/supervision/closure-days", manager)
    assert [c["name"] for c in closures["data"]] == ["Staff conference"]
    closed = date.fromisoformat(closures["data"][0]["day"])
    spans = [
        (date.fromisoformat(s["scheduled_for"][:10]), date.fromisoformat(s["write_up_due_on"]))
        for s in sessions["data"]
        if s["status"] == "scheduled" and s["write_up_due_on"]
    ]
    assert any(start < closed <= due for start, due in spans)


async def _directorate_is_mostly_on_track(
    client: httpx.AsyncClient, director: dict[str, str]
) -> None:
    me = await _get(client, "/api/v1/me", director)
    whole = await _get(client, f"/api/v1/oversight/units/{me['unit_id']}/supervision", director)
    assert whole["staff_count"] > 50
    assert 1 <= whole["overdue_count"] <= 5
    assert whole["compliance_rate"] > 0.9
    # Everyone has a supervision history, the director included (their supervisor is the
    # chief executive, outside the directorate): nobody is overdue by years.
    assert all(r["last_held_on"] is not None for r in whole["staff"])
    assert max(r["days_overdue"] for r in whole["staff"]) < 30
    assert {u["name"] for u in whole["units"]} == {"Children's Social Care", "Early Help"}


async def _reflections_are_private_but_the_shared_one(
    client: httpx.AsyncClient,
    practitioner: dict[str, str],
    asye: dict[str, str],
    manager: dict[str, str],
) -> None:
    mine = (await _get(client, "/api/v1/reflections", practitioner))["data"]
    assert len(mine) >= 2
    shared = [n for n in mine if n["shared"]]
    private = [n for n in mine if not n["shared"]]
    assert len(shared) == 1
    assert private
    assert any(n["version"] > 1 for n in mine)  # one note was come back to and revised

    seen = (await _get(client, "/api/v1/reflections/shared-with-me", manager))["data"]
    seen_ids = {n["id"] for n in seen}
    assert shared[0]["id"] in seen_ids
    assert not seen_ids & {n["id"] for n in private}
    opened = await _get(client, f"/api/v1/reflections/{shared[0]['id']}", manager)
    assert opened["title"] == shared[0]["title"]  # decrypted for the reader it is shared with
    for note in private:
        hidden = await client.get(f"/api/v1/reflections/{note['id']}", headers=manager)
        assert hidden.status_code == 404

    # The ASYE brought a note to supervision: it is on their next session's agenda.
    brought = [n for n in (await _get(client, "/api/v1/reflections", asye))["data"] if n["shared"]]
    assert [n["bring_to_supervision"] for n in brought] == [True]
    me = await _get(client, "/api/v1/me", asye)
    scheduled = await _get(
        client, "/api/v1/supervision/sessions", asye, supervisee_id=me["id"], status="scheduled"
    )
    agenda = await _get(
        client, f"/api/v1/supervision/sessions/{scheduled['data'][0]['id']}/agenda", asye
    )
    assert [r["id"] for r in agenda["reflections"]] == [brought[0]["id"]]


async def _practitioner_has_history(
    client: httpx.AsyncClient, practitioner: dict[str, str]
) -> None:
    feed = await _feed_types(client, practitioner)
    assert {"supervision_session", "supervision_action", "wellbeing_checkin", "reflection"} <= feed
    checkins = await _get(client, "/api/v1/wellbeing/checkins", practitioner, limit=200)
    assert len(checkins["data"]) >= 12
    # The latest follows up today's incident; the weekly one before it is shared by choice.
    assert checkins["data"][0]["incident_id"] is not None
    assert checkins["data"][0]["support"]
    assert checkins["data"][1]["shared_with_supervisor"]
    incidents = await _get(client, "/api/v1/wellbeing/incidents", practitioner)
    [incident] = incidents["data"]
    assert incident["note"]
    assert incident["follow_ups"][0]["checkin_id"] == checkins["data"][0]["id"]
    assert incident["follow_ups"][1]["checkin_id"] is None
    trend = await _get(client, "/api/v1/wellbeing/trends/me", practitioner, period="month")
    assert len(trend["points"]) >= 4
    actions = (await _get(client, "/api/v1/supervision/actions", practitioner, limit=200))["data"]
    assert {"open", "done"} <= {a["status"] for a in actions}
    status = await _get(client, "/api/v1/supervision/status", practitioner)
    assert status["days_overdue"] == 0
    assert status["last_held_on"] is not None


async def _analytics_release_services_and_suppress_teams(
    client: httpx.AsyncClient, hr: dict[str, str]
) -> None:
    """The demo publishes its history: HR sees the organisation's and the directorate's
    monthly figures with their 95% intervals (k 5, budget rho 10: api/demo/practice.py)."""
    # The noise is OpenDP's and cannot be seeded, so what is shown differs from one seeding to
    # the next: the demo's 60 people clear the display margin every quarter (a quarter spends
    # six months' budget) but not every month, so the months are only required to show some.
    units = await _units(client, hr)
    directorate = units["Children's Services"]
    whole = await _get(client, "/api/v1/analytics/wellbeing", hr)
    assert whole["k"] == 5
    monthly = [c for c in whole["cells"] if not c["suppressed"]]
    assert any(c["group"] == "total" for c in monthly)
    by_quarter = await _get(client, "/api/v1/analytics/wellbeing", hr, period="quarter")
    quarterly = [c for c in by_quarter["cells"] if not c["suppressed"]]
    assert any(c["group"] == "total" for c in quarterly)
    assert any(c["group"] == directorate for c in quarterly)
    shown = monthly + quarterly
    assert all(c["low"] <= c["mean"] <= c["high"] and c["n"] >= 5 for c in shown)
    service = units["Children's Social Care"]
    quarters = await _get(
        client, "/api/v1/analytics/wellbeing", hr, unit_id=service, period="quarter"
    )
    released = [c for c in quarters["cells"] if not c["suppressed"]]
    assert all(c["n"] >= 5 and c["interval"] == [c["low"], c["high"]] for c in released)
    hidden = [c for c in quarters["cells"] if c["suppressed"]]
    assert all(c["n"] is None and c["mean"] is None and c["reason"] for c in hidden)


async def _agreements_and_groups(
    client: httpx.AsyncClient,
    manager: dict[str, str],
    practitioner: dict[str, str],
    asye: dict[str, str],
) -> None:
    """A signed agreement (and its first version kept), one waiting for the ASYE's
    signature, a review overdue and someone without one; monthly group supervision."""
    mine = (await _get(client, "/api/v1/supervision/agreements", practitioner))["data"]
    assert [(a["number"], a["status"]) for a in mine] == [(2, "in_force"), (1, "superseded")]
    current = await _get(client, f"/api/v1/supervision/agreements/{mine[0]['id']}", practitioner)
    assert current["terms"]["learning_needs"]
    waiting = (await _get(client, "/api/v1/supervision/agreements", asye))["data"]
    assert [a["status"] for a in waiting] == ["draft"]
    assert waiting[0]["supervisor_signed_at"] is not None
    assert waiting[0]["supervisee_signed_at"] is None
    me = await _get(client, "/api/v1/me", manager)
    team = await _get(client, f"/api/v1/oversight/units/{me['unit_id']}/supervision", manager)
    rows = team["staff"]
    assert sum(r["agreement_review_overdue"] for r in rows) == 1
    assert sum(not r["agreement_in_place"] for r in rows) == 2  # the ASYE's, and one off sick
    assert team["group_sessions_last_90_days"] == 3
    assert team["group_people_reached_last_90_days"] >= 6
    groups = (await _get(client, "/api/v1/supervision/group-sessions", practitioner))["data"]
    assert [g["status"] for g in groups] == ["scheduled", "recorded", "recorded", "recorded"]
    latest = await _get(
        client, f"/api/v1/supervision/group-sessions/{groups[1]['id']}", practitioner
    )
    assert latest["record"]["case_discussion"]["decision"]
    assert latest["attended_count"] == 6
    assert [a["attendance"] for a in latest["attendees"]].count("absent") == 1


async def _report_card_counts_practice(client: httpx.AsyncClient, head: dict[str, str]) -> None:
    me = await _get(client, "/api/v1/me", head)
    url = f"/api/v1/oversight/units/{me['unit_id']}/report-card"
    card = await _get(client, url, head, period="month")
    assert card["practice"]["group_sessions_held"]["current"] == 1
    assert card["practice"]["agreements_in_place"]["current"] > 20


async def _admin_reads_the_access_log(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    log = (await _get(client, "/api/v1/admin/access-log", admin))["data"]
    assert {"management_oversight", "administration", "supervision"} <= {e["reason"] for e in log}
    audit = (await _get(client, "/api/v1/admin/analytics-audit", admin))["data"]
    # That read is itself in the audit, beside the head of service's report card.
    assert {"admin_access_log", "report_card"} <= {a["endpoint"] for a in audit}
    # Sign-in changes: SCIM provisioning tried and given up, then an invitation to the ASYE.
    changes = (await _get(client, "/api/v1/admin/identity-audit", admin))["data"]
    assert [(c["action"], c["subject_name"]) for c in changes] == [
        ("invitation.created", "Femi Lewis"),
        ("scim_token.revoked", None),
        ("scim_token.issued", None),
    ]
    assert {c["actor_name"] for c in changes} == {"Amara Adeyemi"}


async def _counts(db: AsyncSession) -> dict[str, int]:
    counts = {}
    for table in SEEDED_TABLES:
        result = await db.exec(sa.text(f"SELECT count(*) FROM {table}"))  # type: ignore[call-overload]
        counts[table] = int(result.scalar_one())
    return counts


async def test_seeding_twice_changes_nothing(
    db: AsyncSession, test_settings: Settings, clock: FrozenClock
) -> None:
    first = await _seed(db, test_settings, clock)
    after_first = await _counts(db)
    assert after_first["supervision_sessions"] > 200
    assert after_first["wellbeing_checkins"] > 500
    clock.advance(days=3)  # a later run, on another day
    second = await _seed(db, test_settings, clock)
    assert second == first
    assert await _counts(db) == after_first
    # The demo council signs in with passwords: no single sign-on, no SCIM token, no groups.
    for table in ("sso_configs", "scim_tokens", "scim_groups"):
        empty = await db.exec(sa.text(f"select count(*) from {table}"))  # type: ignore[call-overload]
        assert empty.scalar_one() == 0
