"""Critical incidents: recorded privately, followed up twice, on the agenda if wanted, never
listed for managers, HR or admins; HR and managers read only the published DP figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.sweep import sweep_organisation
from models.incidents import Incident
from models.notifications.outbox import Notification, NotificationKind
from models.wellbeing import AnalyticsAudit
from tests.conftest import FrozenClock
from tests.factories.analytics import PLAIN_RHO, publish, set_privacy
from tests.factories.directory import bearer, make_staff, now_of
from tests.factories.supervision import make_session, make_team
from tests.factories.wellbeing import pulse_answers
from wellbeing.incidents import MONTHLY_CLIP

URL = "/api/v1/wellbeing/incidents"
FIGURES = "/api/v1/analytics/incidents"


def _incident(**changes: object) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "occurred_on": "2026-11-20",
        "category": "distressing_visit",
    } | changes


async def _nudges(db: AsyncSession, who: uuid.UUID) -> list[str]:
    stmt = select(Notification).where(
        col(Notification.recipient_id) == who,
        col(Notification.kind) == NotificationKind.incident_checkin.value,
    )
    return sorted(n.occurrence for n in (await db.exec(stmt)).all())


async def test_private_by_default_note_sealed_and_nobody_else_sees_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    body = _incident(note="The flat, and what the boy said.")
    made = await client.post(URL, json=body, headers=bearer(app, t.supervisee))
    assert made.status_code == 201
    assert made.json()["note"] == "The flat, and what the boy said."
    assert made.json()["shared_with_supervisor"] is False
    assert (await client.post(URL, json=body, headers=bearer(app, t.supervisee))).status_code == 200
    changed = body | {"category": "disclosure"}
    assert (
        await client.post(URL, json=changed, headers=bearer(app, t.supervisee))
    ).status_code == 409
    raw = (
        await db.exec(select(Incident).where(col(Incident.id) == uuid.UUID(str(body["id"]))))
    ).one()
    assert raw.note is not None
    assert "boy" not in raw.note  # sealed at rest
    everyone = (t.supervisor, t.head, t.manager, t.colleague, t.hr, t.admin, t.outsider)
    for who in everyone:
        one = await client.get(f"{URL}/{body['id']}", headers=bearer(app, who))
        assert one.status_code == 404
        assert (await client.get(URL, headers=bearer(app, who))).json()["data"] == []
        shared = await client.get(f"{URL}/shared-with-me", headers=bearer(app, who))
        assert shared.json()["data"] == []


async def test_shared_follow_ups_agenda_and_access_log(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    now = now_of(app)  # Monday 23 November 2026, 09:30 London
    t = await make_team(db, now=now)
    follow_up = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    body = _incident(
        share_with_supervisor=True,
        bring_to_supervision=True,
        follow_up_at=follow_up.isoformat(),
        note="mine alone",
    )
    made = await client.post(URL, json=body, headers=bearer(app, t.supervisee))
    assert made.status_code == 201
    assert made.json()["follow_up_instrument"] == "pulse"  # STSS wording not imported
    assert [f["due_at"] for f in made.json()["follow_ups"]] == [
        "2026-11-24T12:00:00Z",
        "2026-11-28T12:00:00Z",
    ]
    # The supervisor sees when and what kind, never the note; the read is logged.
    seen = await client.get(f"{URL}/{body['id']}", headers=bearer(app, t.supervisor))
    assert seen.status_code == 200
    assert "note" not in seen.json()
    assert seen.json()["category"] == "distressing_visit"
    # Managers above still see nothing.
    assert (
        await client.get(f"{URL}/{body['id']}", headers=bearer(app, t.manager))
    ).status_code == 404

    # "Talk about the incident" on the next session's agenda, for the two of them only.
    upcoming = await make_session(
        db, t.supervisee, t.supervisor, now=now, scheduled_for=now + timedelta(days=3)
    )
    agenda_url = f"/api/v1/supervision/sessions/{upcoming.id}/agenda"
    agenda = await client.get(agenda_url, headers=bearer(app, t.supervisor))
    assert [i["incident_id"] for i in agenda.json()["incidents"]] == [body["id"]]
    manager_view = await client.get(agenda_url, headers=bearer(app, t.manager))
    assert manager_view.json()["incidents"] == []
    log = (await client.get("/api/v1/me/access-log", headers=bearer(app, t.supervisee))).json()
    assert {e["resource_type"] for e in log["data"]} == {"wellbeing_incident"}

    # Follow-up nudges: none before the time, the first at it (once), the second 4 days on
    # unless a follow-up check-in answered it.
    await sweep_organisation(db, t.org.id, now)
    assert await _nudges(db, t.supervisee.id) == []
    await sweep_organisation(db, t.org.id, clock.advance(hours=27))
    await sweep_organisation(db, t.org.id, clock.advance(minutes=5))
    assert await _nudges(db, t.supervisee.id) == ["1"]
    answer = await client.post(
        "/api/v1/wellbeing/checkins",
        json={
            "id": str(uuid.uuid4()),
            "instrument": "pulse",
            "answers": pulse_answers(8),
            "incident_id": body["id"],
        },
        headers=bearer(app, t.supervisee),
    )
    assert answer.status_code == 201
    assert answer.json()["band"] == "struggling"
    assert "Samaritans" in answer.json()["support"]
    await sweep_organisation(db, t.org.id, clock.advance(days=4))
    assert await _nudges(db, t.supervisee.id) == ["1", "2"]
    mine = await client.get(f"{URL}/{body['id']}", headers=bearer(app, t.supervisee))
    assert mine.json()["follow_ups"][0]["checkin_id"] == answer.json()["id"]
    assert mine.json()["follow_ups"][0]["band"] == "struggling"

    # Stop telling the supervisor: off the agenda, gone from their feed, 404.
    synced = (await client.get("/api/v1/sync", headers=bearer(app, t.supervisor))).json()
    stopped = await client.patch(
        f"{URL}/{body['id']}",
        json={"share_with_supervisor": False},
        headers=bearer(app, t.supervisee) | {"If-Match": mine.headers["ETag"]},
    )
    assert stopped.status_code == 200
    assert stopped.json()["bring_to_supervision"] is False
    assert (
        await client.get(f"{URL}/{body['id']}", headers=bearer(app, t.supervisor))
    ).status_code == 404
    later = await client.get(
        f"/api/v1/sync?cursor={synced['next_cursor']}", headers=bearer(app, t.supervisor)
    )
    assert ("delete", body["id"]) in [(c["op"], c["id"]) for c in later.json()["changes"]]
    export = (await client.get("/api/v1/me/export", headers=bearer(app, t.supervisee))).json()
    assert [i["id"] for i in export["incidents"]] == [body["id"]]


async def test_a_supervisor_records_for_a_supervisee_who_then_sees_it(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    body = _incident(staff_id=str(t.supervisee.id), category="threat_or_assault")
    made = await client.post(URL, json=body, headers=bearer(app, t.supervisor))
    assert made.status_code == 201
    assert "note" not in made.json()
    mine = await client.get(URL, headers=bearer(app, t.supervisee))
    assert [(i["id"], i["recorded_by_supervisor"]) for i in mine.json()["data"]] == [
        (body["id"], True)
    ]
    feed = (await client.get("/api/v1/sync", headers=bearer(app, t.supervisee))).json()
    assert [c["type"] for c in feed["changes"]] == ["wellbeing_incident"]
    # Not for someone they do not supervise, nor with a note of theirs.
    for bad in (
        _incident(staff_id=str(t.colleague.id)),
        _incident(staff_id=str(t.supervisee.id), note="my view of it"),
        _incident(occurred_on="2030-01-01"),
        _incident(category="case_123"),
        _incident(follow_up_instrument="stss"),
    ):
        refused = await client.post(URL, json=bad, headers=bearer(app, t.supervisor))
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"] == "application/problem+json"
    assert len((await db.exec(select(Incident))).all()) == 1


def _hundredths_apart(published: float, exact: float) -> int:
    """How many hundredths a published mean (rounded to two places, with the noise of
    PLAIN_RHO: a few thousandths) lies from the exact one rounded the same way. The noise
    can carry a mean over a rounding edge (3/11 = 0.2727 published as 0.28), so one
    hundredth apart is still right; a wrong count or n is several."""
    return abs(round(published * 100) - round(exact * 100))


async def test_published_incident_figures_for_hr_and_managers_in_scope(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    t = await make_team(db, now=now_of(app))
    await set_privacy(db, t.org, app, k=5, year_rho=PLAIN_RHO)
    for _ in range(3):  # six people in the team: its figures are shown at k = 5
        await make_staff(db, t.org, unit=t.team, now=now_of(app))
    for day in range(1, 6):  # five in November, clipped to MONTHLY_CLIP for one person
        made = await client.post(
            URL, json=_incident(occurred_on=f"2026-11-{day:02d}"), headers=bearer(app, t.supervisee)
        )
        assert made.status_code == 201
    clock.advance(days=40)
    await publish(db, t.org, app)
    url = f"{FIGURES}?period=month&from=2026-11-01&to=2026-11-30"

    def total(body: dict[str, Any]) -> dict[str, Any]:
        cells: list[dict[str, Any]] = [c for c in body["cells"] if c["group"] == "total"]
        assert len(cells) == 1
        return cells[0]

    hr = await client.get(url, headers=bearer(app, t.hr))
    assert hr.status_code == 200
    assert hr.json()["measure"] == "incidents"
    org = total(hr.json())
    assert org["suppressed"] is False
    assert org["label"] == "All"
    # n is everyone in the snapshot; mean is incidents per person: the clipped count over n.
    assert _hundredths_apart(org["mean"], MONTHLY_CLIP / org["n"]) <= 1
    assert org["low"] <= org["mean"] <= org["high"]
    assert org["interval"] == [org["low"], org["high"]]
    assert {c["group"] for c in hr.json()["cells"]} >= {"total", str(t.directorate.id)}
    in_team = f"{url}&unit_id={t.team.id}"
    for who in (t.hr, t.manager, t.head):  # the unit's manager and its ancestor's
        answer = await client.get(in_team, headers=bearer(app, who))
        assert answer.status_code == 200
        team = total(answer.json())
        assert team["suppressed"] is False
        assert abs(team["n"] - 6) < 0.5
        assert _hundredths_apart(team["mean"], MONTHLY_CLIP / team["n"]) <= 1
    # Out of scope: another manager's team, another organisation's unit (404).
    for who, where in ((t.other_manager, t.team.id), (t.manager, t.other_team.id)):
        refused = await client.get(f"{url}&unit_id={where}", headers=bearer(app, who))
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"
    outside = await client.get(f"{url}&unit_id={t.team.id}", headers=bearer(app, t.outsider))
    assert outside.status_code == 404
    # A manager names a unit; role and tenure band are for the whole organisation; no weeks.
    for who, query in (
        (t.manager, url),
        (t.hr, f"{url}&by=role&unit_id={t.team.id}"),
        (t.manager, f"{FIGURES}?period=week&unit_id={t.team.id}"),
    ):
        bad = await client.get(query, headers=bearer(app, who))
        assert bad.status_code == 422, query
        assert bad.headers["content-type"] == "application/problem+json"
    by_role = await client.get(f"{url}&by=role", headers=bearer(app, t.hr))
    assert {c["group"] for c in by_role.json()["cells"]} >= {"total", "practitioner"}
    # Practitioners, supervisors and admins (PRODUCT.md: no aggregates) are refused.
    for who in (t.supervisee, t.supervisor, t.admin):
        refused = await client.get(url, headers=bearer(app, who))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    # Every call is audited, refusals too.
    audit = (
        await db.exec(
            select(AnalyticsAudit).where(col(AnalyticsAudit.endpoint) == "analytics_incidents")
        )
    ).all()
    assert sorted(a.status for a in audit) == [200] * 5 + [403] * 3 + [404] * 3


async def test_support_texts_are_the_organisations_own_to_edit(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    url = "/api/v1/wellbeing/support-texts"
    for who in (t.supervisee, t.supervisor, t.manager, t.hr):
        assert (await client.get(url, headers=bearer(app, who))).status_code == 403
        put = await client.put(
            f"{url}/pulse/struggling", json={"text": "x"}, headers=bearer(app, who)
        )
        assert put.status_code == 403
    listed = await client.get(url, headers=bearer(app, t.admin))
    bands = {(r["instrument"], r["band"]) for r in listed.json()["data"]}
    assert {("pulse", "struggling"), ("pulse", "doing_well"), ("stss", "severe")} <= bands
    assert (await client.get(f"{url}/pulse/nope", headers=bearer(app, t.admin))).status_code == 404
    one = await client.get(f"{url}/pulse/struggling", headers=bearer(app, t.admin))
    assert one.json()["default"] is True
    text = {"text": "Call the staff wellbeing line on 01234 567890, or Samaritans on 116 123."}
    missing = await client.put(f"{url}/pulse/struggling", json=text, headers=bearer(app, t.admin))
    assert missing.status_code == 428
    changed = await client.put(
        f"{url}/pulse/struggling",
        json=text,
        headers=bearer(app, t.admin) | {"If-Match": one.headers["ETag"]},
    )
    assert changed.status_code == 200
    stale = await client.put(
        f"{url}/pulse/struggling",
        json=text,
        headers=bearer(app, t.admin) | {"If-Match": one.headers["ETag"]},
    )
    assert stale.status_code == 412
    low = await client.post(
        "/api/v1/wellbeing/checkins",
        json={"id": str(uuid.uuid4()), "instrument": "pulse", "answers": pulse_answers(6)},
        headers=bearer(app, t.supervisee),
    )
    assert low.json()["support"] == text["text"]
    well = await client.post(
        "/api/v1/wellbeing/checkins",
        json={"id": str(uuid.uuid4()), "instrument": "pulse", "answers": pulse_answers(24)},
        headers=bearer(app, t.supervisee),
    )
    assert well.json()["band"] == "doing_well"
    assert well.json()["support"] != text["text"]
    # Another organisation keeps the shipped default.
    theirs = await client.get(f"{url}/pulse/struggling", headers=bearer(app, t.outsider))
    assert theirs.json()["default"] is True


async def test_the_create_answers_the_etag_the_next_change_sends(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    body = _incident()
    made = await client.post(URL, json=body, headers=bearer(app, t.supervisee))
    assert made.status_code == 201
    assert made.headers["ETag"] == f'"{made.json()["version"]}"' == '"1"'
    again = await client.post(URL, json=body, headers=bearer(app, t.supervisee))
    assert again.status_code == 200
    assert again.headers["ETag"] == made.headers["ETag"]
    changed = await client.patch(
        f"{URL}/{body['id']}",
        json={"share_with_supervisor": True},
        headers={**bearer(app, t.supervisee), "If-Match": made.headers["ETag"]},
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != made.headers["ETag"]
    # A supervisor recording for a supervisee gets the new incident's first version too
    # (their view has no `version` field, as the change is the supervisee's to make).
    theirs = _incident(staff_id=str(t.supervisee.id))
    recorded = await client.post(URL, json=theirs, headers=bearer(app, t.supervisor))
    assert recorded.status_code == 201
    assert recorded.headers["ETag"] == '"1"'
