"""Group supervision over HTTP: a facilitator schedules 4-10 people, records attendance, the
presenter and a case mapped with Signs of Safety; attendees read and acknowledge the record;
managers above see it without absence reasons, admins the metadata, nobody else anything."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from models.directory.staff import Staff
from tests.factories.directory import bearer, make_staff, now_of
from tests.factories.reflections import note_body
from tests.factories.supervision import Team, make_team

GROUPS = "/api/v1/supervision/group-sessions"
WHEN = "2026-11-20T10:00:00+00:00"
CASE = {
    "case_reference": "CP-4410",
    "worried_about": "Bruising seen at nursery twice this month.",
    "working_well": "Aunt collects the children every day.",
    "needs_to_happen": "A safety plan with the aunt in it.",
    "scaling": 4,
    "decision": "Hold a family network meeting within ten days.",
    "rationale": "The network is strong but not yet part of the plan.",
}
NOTES = "The group noticed how often the father's voice was missing."
ABSENT_REASON = "On a training course"


@dataclass
class Group:
    t: Team
    attendees: list[Staff]  # supervisee first, then three more; the last is in other_team


async def _group_team(db: AsyncSession, now: Any) -> Group:
    t = await make_team(db, now=now)
    more = [
        await make_staff(db, t.org, unit=t.team, supervisor=t.supervisor, now=now),
        await make_staff(db, t.org, unit=t.team, supervisor=t.supervisor, now=now),
        await make_staff(db, t.org, unit=t.other_team, supervisor=t.supervisor, now=now),
    ]
    return Group(t, [t.supervisee, *more])


def _create(g: Group, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "format": "signs_of_safety",
        "scheduled_for": WHEN,
        "duration_minutes": 90,
        "attendee_ids": [str(a.id) for a in g.attendees],
    }
    body.update(changes)
    return body


def _record(g: Group, **changes: Any) -> dict[str, Any]:
    attended, *_, absent = g.attendees
    body: dict[str, Any] = {
        "held_at": "2026-11-20T10:05:00+00:00",
        "duration_minutes": 95,
        "attendance": [{"staff_id": str(a.id), "attendance": "attended"} for a in g.attendees[:-1]]
        + [{"staff_id": str(absent.id), "attendance": "absent", "absence_reason": ABSENT_REASON}],
        "presenter_id": str(attended.id),
        "case_discussion": CASE,
        "notes": NOTES,
    }
    body.update(changes)
    return body


async def _scheduled(client: httpx.AsyncClient, app: FastAPI, g: Group) -> httpx.Response:
    made = await client.post(GROUPS, json=_create(g), headers=bearer(app, g.t.supervisor))
    assert made.status_code == 201, made.text
    return made


async def _recorded(client: httpx.AsyncClient, app: FastAPI, g: Group) -> httpx.Response:
    made = await _scheduled(client, app, g)
    put = await client.put(
        f"{GROUPS}/{made.json()['id']}/record",
        json=_record(g),
        headers={**bearer(app, g.t.supervisor), "If-Match": made.headers["ETag"]},
    )
    assert put.status_code == 200, put.text
    return put


async def test_schedule_record_and_acknowledge(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    g = await _group_team(db, now_of(app))
    body = _create(g)
    made = await client.post(GROUPS, json=body, headers=bearer(app, g.t.supervisor))
    assert made.status_code == 201
    group = made.json()
    assert group["status"] == "scheduled"
    assert group["facilitator_id"] == str(g.t.supervisor.id)
    assert group["invited_count"] == 4
    assert [a["attendance"] for a in group["attendees"]] == ["invited"] * 4
    assert group["record"] is None
    again = await client.post(GROUPS, json=body, headers=bearer(app, g.t.supervisor))
    assert again.status_code == 200
    assert again.json() == group
    other = {**body, "attendee_ids": list(reversed(body["attendee_ids"]))}
    clash = await client.post(GROUPS, json=other, headers=bearer(app, g.t.supervisor))
    assert clash.status_code == 409

    url = f"{GROUPS}/{group['id']}"
    missing = await client.put(
        f"{url}/record", json=_record(g), headers=bearer(app, g.t.supervisor)
    )
    assert missing.status_code == 428
    put = await client.put(
        f"{url}/record",
        json=_record(g),
        headers={**bearer(app, g.t.supervisor), "If-Match": made.headers["ETag"]},
    )
    assert put.status_code == 200
    recorded = put.json()
    assert recorded["status"] == "recorded"
    assert recorded["attended_count"] == 3
    assert recorded["presenter_id"] == str(g.attendees[0].id)
    assert recorded["record"]["case_discussion"] == CASE
    assert recorded["record"]["notes"] == NOTES
    assert recorded["counts_toward_cadence"] is False  # the default policy counts one-to-ones

    first = g.attendees[0]
    ack = await client.post(
        f"{url}/acknowledge", headers={**bearer(app, first), "If-Match": put.headers["ETag"]}
    )
    assert ack.status_code == 200
    mine = next(a for a in ack.json()["attendees"] if a["staff_id"] == str(first.id))
    assert mine["acknowledged_at"] == "2026-11-23T09:30:00Z"
    twice = await client.post(
        f"{url}/acknowledge", headers={**bearer(app, first), "If-Match": ack.headers["ETag"]}
    )
    assert twice.status_code == 409
    stale = await client.post(
        f"{url}/acknowledge",
        headers={**bearer(app, g.attendees[1]), "If-Match": put.headers["ETag"]},
    )
    assert stale.status_code == 412
    absent = await client.post(
        f"{url}/acknowledge",
        headers={**bearer(app, g.attendees[-1]), "If-Match": ack.headers["ETag"]},
    )
    assert absent.status_code == 409
    for person in (g.t.manager, g.t.supervisor):
        refused = await client.post(
            f"{url}/acknowledge", headers={**bearer(app, person), "If-Match": ack.headers["ETag"]}
        )
        assert refused.status_code == 403
    # Rewriting the record clears the acknowledgements given to the old words.
    rewrite = await client.put(
        f"{url}/record",
        json=_record(g, notes="Rewritten."),
        headers={**bearer(app, g.t.supervisor), "If-Match": ack.headers["ETag"]},
    )
    assert rewrite.status_code == 200
    assert all(a["acknowledged_at"] is None for a in rewrite.json()["attendees"])


async def test_a_group_is_the_policys_size_and_people_you_supervise_or_manage(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    now = now_of(app)
    g = await _group_team(db, now)
    ids = [str(a.id) for a in g.attendees]
    extra = [
        str((await make_staff(db, g.t.org, unit=g.t.team, supervisor=g.t.supervisor, now=now)).id)
        for _ in range(7)
    ]
    bad: dict[str, dict[str, Any]] = {
        "three": {"attendee_ids": ids[:3]},
        "eleven": {"attendee_ids": ids + extra},
        "repeated": {"attendee_ids": [*ids[:3], ids[0]]},
        "facilitator": {"attendee_ids": [*ids[:3], str(g.t.supervisor.id)]},
        "hr": {"attendee_ids": [*ids[:3], str(g.t.hr.id)]},
        "another organisation": {"attendee_ids": [*ids[:3], str(g.t.outsider.id)]},
        "presenter": {"presenter_id": str(g.t.colleague.id)},
        "format": {"format": "fishbowl"},
        "unknown field": {"room": "B"},
    }
    for name, change in bad.items():
        refused = await client.post(
            GROUPS, json=_create(g, **change), headers=bearer(app, g.t.supervisor)
        )
        assert refused.status_code == 422, name
        assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.get(GROUPS, headers=bearer(app, g.t.supervisor))).json()["data"] == []
    # Ten is the most by default; a circle of ten is fine.
    ten = await client.post(
        GROUPS,
        json=_create(g, attendee_ids=ids + extra[:6], format="restorative_circle"),
        headers=bearer(app, g.t.supervisor),
    )
    assert ten.status_code == 201
    assert ten.json()["format"] == "restorative_circle"
    # A manager facilitates for the people they manage; practitioners and HR may not.
    managed = [str(g.t.supervisee.id), str(g.t.colleague.id), str(g.t.supervisor.id), extra[0]]
    by_manager = await client.post(
        GROUPS, json=_create(g, attendee_ids=managed), headers=bearer(app, g.t.manager)
    )
    assert by_manager.status_code == 201
    for person in (g.t.supervisee, g.t.hr):
        assert (
            await client.post(GROUPS, json=_create(g), headers=bearer(app, person))
        ).status_code == 403


async def test_bad_records_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    g = await _group_team(db, now_of(app))
    made = await _scheduled(client, app, g)
    url = f"{GROUPS}/{made.json()['id']}/record"
    headers = {**bearer(app, g.t.supervisor), "If-Match": made.headers["ETag"]}
    record = _record(g)
    no_reason = [dict(a) for a in record["attendance"]]
    no_reason[-1].pop("absence_reason")
    bad = {
        "someone missing": {"attendance": record["attendance"][:-1]},
        "no absence reason": {"attendance": no_reason},
        "invited": {"attendance": [{**record["attendance"][0], "attendance": "invited"}]},
        "absent presenter": {"presenter_id": str(g.attendees[-1].id)},
        "future": {"held_at": "2026-11-30T10:00:00+00:00"},
        "scaling": {"case_discussion": {**CASE, "scaling": 11}},
    }
    for name, change in bad.items():
        refused = await client.put(url, json=_record(g, **change), headers=headers)
        assert refused.status_code == 422, name
    for person in g.attendees[:1] + [g.t.manager]:
        forbidden = await client.put(
            url, json=record, headers={**bearer(app, person), "If-Match": made.headers["ETag"]}
        )
        assert forbidden.status_code == 403
    still = await client.get(f"{GROUPS}/{made.json()['id']}", headers=bearer(app, g.t.supervisor))
    assert still.json()["status"] == "scheduled"
    assert still.headers["ETag"] == made.headers["ETag"]


async def test_who_sees_the_group_record(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    g = await _group_team(db, now_of(app))
    put = await _recorded(client, app, g)
    url = f"{GROUPS}/{put.json()['id']}"
    absent = g.attendees[-1]

    def reasons(body: dict[str, Any]) -> dict[str, str | None]:
        return {a["staff_id"]: a["absence_reason"] for a in body["attendees"]}

    facilitator = (await client.get(url, headers=bearer(app, g.t.supervisor))).json()
    assert reasons(facilitator)[str(absent.id)] == ABSENT_REASON
    for attendee in g.attendees:
        seen = (await client.get(url, headers=bearer(app, attendee))).json()
        assert seen["access"] == "full"
        assert seen["record"]["case_discussion"] == CASE
        expected = ABSENT_REASON if attendee is absent else None
        assert reasons(seen)[str(absent.id)] == expected
    for manager in (g.t.manager, g.t.head, g.t.other_manager):
        seen = (await client.get(url, headers=bearer(app, manager))).json()
        assert seen["access"] == "management"
        assert seen["record"]["notes"] == NOTES
        assert set(reasons(seen).values()) == {None}
    admin = (await client.get(url, headers=bearer(app, g.t.admin))).json()
    assert admin["access"] == "metadata"
    assert admin["record"] is None
    assert [a["attendance"] for a in admin["attendees"]] == ["attended"] * 3 + ["absent"]
    assert set(reasons(admin).values()) == {None}
    assert "CP-4410" not in str(admin)
    for person in (g.t.hr, g.t.colleague, g.t.outsider):
        assert (await client.get(url, headers=bearer(app, person))).status_code == 404
        assert (await client.get(GROUPS, headers=bearer(app, person))).json()["data"] == []
    listed = await client.get(GROUPS, headers=bearer(app, g.t.manager))
    assert [s["id"] for s in listed.json()["data"]] == [put.json()["id"]]
    assert listed.json()["data"][0]["attended_count"] == 3
    # Managers' and admins' reads are in every attendee's access log.
    logged = (
        await db.exec(
            select(
                col(AccessLog.reader_id), col(AccessLog.subject_id), col(AccessLog.reason)
            ).where(col(AccessLog.resource_id) == uuid.UUID(put.json()["id"]))
        )
    ).all()
    for reader, reason in ((g.t.manager, "management_oversight"), (g.t.admin, "administration")):
        subjects = {s for r, s, why in logged if r == reader.id and why == reason}
        assert subjects == {a.id for a in g.attendees}
    assert not {r for r, _, _ in logged} & {g.t.supervisor.id, *(a.id for a in g.attendees)}


async def test_reflections_stay_private_to_their_author(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    g = await _group_team(db, now_of(app))
    author = g.attendees[0]
    note = note_body(title="What the Elm Street visit did to me")
    made = await client.post("/api/v1/reflections", json=note, headers=bearer(app, author))
    assert made.status_code == 201
    shared = await client.post(
        f"/api/v1/reflections/{note['id']}/share",
        json={"bring_to_supervision": True},
        headers=bearer(app, author),
    )
    assert shared.status_code == 200
    put = await _recorded(client, app, g)
    url = f"{GROUPS}/{put.json()['id']}"
    for person in (g.t.supervisor, *g.attendees[1:], g.t.manager):
        seen = await client.get(url, headers=bearer(app, person))
        feed = await client.get("/api/v1/sync?limit=200", headers=bearer(app, person))
        groups = [c for c in feed.json()["changes"] if c["type"] == "supervision_group_session"]
        for text in ("Elm Street", "anxious and unheard"):
            assert text not in seen.text
            assert text not in str(groups)


async def test_attended_group_sessions_count_toward_cadence_when_the_policy_says_so(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    g = await _group_team(db, now_of(app))
    await _recorded(client, app, g)
    status = "/api/v1/supervision/status"

    async def last_held(person: Staff) -> str | None:
        response = await client.get(status, headers=bearer(app, person))
        held: str | None = response.json()["last_held_on"]
        return held

    assert await last_held(g.attendees[0]) is None
    policy = await client.get("/api/v1/supervision/policy", headers=bearer(app, g.t.admin))
    counted = {**policy.json(), "counted_kinds": ["one_to_one", "group"]}
    put = await client.put(
        "/api/v1/supervision/policy",
        json=counted,
        headers={**bearer(app, g.t.admin), "If-Match": policy.headers["ETag"]},
    )
    assert put.status_code == 200
    assert await last_held(g.attendees[0]) == "2026-11-20"
    assert await last_held(g.attendees[-1]) is None  # absent: it does not count for them
    listed = await client.get(GROUPS, headers=bearer(app, g.t.supervisor))
    assert listed.json()["data"][0]["counts_toward_cadence"] is True
    # Shorter than the policy minimum: held, but it counts for nobody.
    longer = {**put.json(), "minimum_minutes": 120}
    await client.put(
        "/api/v1/supervision/policy",
        json=longer,
        headers={**bearer(app, g.t.admin), "If-Match": put.headers["ETag"]},
    )
    assert await last_held(g.attendees[0]) is None


async def test_cancel_feed_export_and_sealing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    g = await _group_team(db, now_of(app))
    put = await _recorded(client, app, g)
    group_id = put.json()["id"]
    for person in (g.t.supervisor, *g.attendees):
        feed = (await client.get("/api/v1/sync?limit=200", headers=bearer(app, person))).json()
        [change] = [c for c in feed["changes"] if c["type"] == "supervision_group_session"]
        assert change["id"] == group_id
        assert change["data"]["record"]["notes"] == NOTES
        mine = (await client.get("/api/v1/me/export", headers=bearer(app, person))).json()
        assert [s["id"] for s in mine["group_supervision"]] == [group_id]
    for person in (g.t.manager, g.t.admin, g.t.hr):
        feed = (await client.get("/api/v1/sync?limit=200", headers=bearer(app, person))).json()
        assert all(c["type"] != "supervision_group_session" for c in feed["changes"])

    dump = ""
    for table in ("supervision_group_sessions", "supervision_group_attendees"):
        rows = (await db.exec(sa.text(f"SELECT * FROM {table}"))).all()  # type: ignore[call-overload]
        dump += " ".join(str(v) for row in rows for v in row)
    for text in (
        *(v for v in CASE.values() if isinstance(v, str) and v != "CP-4410"),
        NOTES,
        ABSENT_REASON,
    ):
        assert text[:14] not in dump

    # The facilitator calls off the next one; an attendee may not; a held one cannot be.
    made = await _scheduled(client, app, g)
    url = f"{GROUPS}/{made.json()['id']}/cancel"
    refused = await client.post(url, json={"reason": "Ill"}, headers=bearer(app, g.attendees[0]))
    assert refused.status_code == 403
    done = await client.post(
        url, json={"reason": "Court ran over"}, headers=bearer(app, g.t.supervisor)
    )
    assert done.status_code == 200
    assert done.json()["status"] == "cancelled"
    assert done.json()["cancelled_reason"] == "Court ran over"
    admin = await client.get(f"{GROUPS}/{made.json()['id']}", headers=bearer(app, g.t.admin))
    assert admin.json()["cancelled_reason"] is None
    held = await client.post(
        f"{GROUPS}/{group_id}/cancel", json={"reason": "x"}, headers=bearer(app, g.t.supervisor)
    )
    assert held.status_code == 409


async def test_the_group_size_is_the_organisations_policy(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    g = await _group_team(db, now_of(app))
    policy = await client.get("/api/v1/supervision/policy", headers=bearer(app, g.t.admin))
    smaller = {**policy.json(), "group_min_attendees": 2, "group_max_attendees": 3}
    put = await client.put(
        "/api/v1/supervision/policy",
        json=smaller,
        headers={**bearer(app, g.t.admin), "If-Match": policy.headers["ETag"]},
    )
    assert put.status_code == 200
    ids = [str(a.id) for a in g.attendees]
    four = await client.post(GROUPS, json=_create(g), headers=bearer(app, g.t.supervisor))
    assert four.status_code == 422
    two = await client.post(
        GROUPS, json=_create(g, attendee_ids=ids[:2]), headers=bearer(app, g.t.supervisor)
    )
    assert two.status_code == 201
    upside_down = {**put.json(), "group_min_attendees": 5, "group_max_attendees": 4}
    refused = await client.put(
        "/api/v1/supervision/policy",
        json=upside_down,
        headers={**bearer(app, g.t.admin), "If-Match": put.headers["ETag"]},
    )
    assert refused.status_code == 422
