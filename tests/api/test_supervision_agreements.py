"""Supervision agreements over HTTP: drafted by either person, signed by both, superseded by
a new version that keeps the old; the terms only for the two people in it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from models.directory.staff import Staff
from tests.factories.directory import bearer, make_staff, now_of
from tests.factories.supervision import Team, make_team

AGREEMENTS = "/api/v1/supervision/agreements"
TERMS: dict[str, Any] = {
    "frequency_days": 28,
    "duration_minutes": 90,
    "cancellation": "Rebooked within five working days; the supervisor cancels only in a crisis.",
    "confidentiality": "Safeguarding and fitness-to-practise concerns are shared.",
    "record_keeping": "Recorded in Harbour within five working days, signed by both.",
    "disagreements": "Raised first between us, then with the head of service.",
    "learning_needs": "Court skills and chronologies.",
}


def _body(supervisee: Staff, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "supervisee_id": str(supervisee.id),
        "starts_on": "2026-11-23",
        "terms": dict(TERMS),
    }
    body.update(changes)
    return body


async def _draft(
    client: httpx.AsyncClient, app: FastAPI, by: Staff, supervisee: Staff, **changes: Any
) -> httpx.Response:
    return await client.post(AGREEMENTS, json=_body(supervisee, **changes), headers=bearer(app, by))


async def _sign(
    client: httpx.AsyncClient, app: FastAPI, who: Staff, agreement_id: str
) -> httpx.Response:
    current = await client.get(f"{AGREEMENTS}/{agreement_id}", headers=bearer(app, who))
    return await client.post(
        f"{AGREEMENTS}/{agreement_id}/sign",
        headers={**bearer(app, who), "If-Match": current.headers["ETag"]},
    )


async def _in_force(client: httpx.AsyncClient, app: FastAPI, t: Team, **changes: Any) -> str:
    made = await _draft(client, app, t.supervisor, t.supervisee, **changes)
    assert made.status_code == 201, made.text
    agreement_id: str = made.json()["id"]
    assert (await _sign(client, app, t.supervisee, agreement_id)).status_code == 200
    signed = await _sign(client, app, t.supervisor, agreement_id)
    assert signed.json()["status"] == "in_force"
    return agreement_id


async def test_draft_edit_and_sign_from_the_phone(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    body = _body(t.supervisee)
    made = await client.post(AGREEMENTS, json=body, headers=bearer(app, t.supervisor))
    assert made.status_code == 201
    draft = made.json()
    assert draft["status"] == "draft"
    assert draft["number"] == 1
    assert draft["supervisor_id"] == str(t.supervisor.id)
    assert draft["drafted_by"] == str(t.supervisor.id)
    assert draft["review_due_on"] == "2027-02-23"  # three months after a first agreement starts
    assert draft["terms"] == TERMS
    assert draft["access"] == "full"
    # Offline replay: the same id and body answer the same draft; another body is a conflict.
    again = await client.post(AGREEMENTS, json=body, headers=bearer(app, t.supervisor))
    assert again.status_code == 200
    assert again.json() == draft
    other = {**body, "starts_on": "2026-12-01"}
    clash = await client.post(AGREEMENTS, json=other, headers=bearer(app, t.supervisor))
    assert clash.status_code == 409
    url = f"{AGREEMENTS}/{draft['id']}"

    # The supervisor signs; the supervisee then edits, which clears that signature.
    signed = await _sign(client, app, t.supervisor, draft["id"])
    assert signed.json()["supervisor_signed_at"] is not None
    assert signed.json()["status"] == "draft"
    edit = {"starts_on": "2026-12-01", "terms": {**TERMS, "learning_needs": "Court skills."}}
    missing = await client.put(url, json=edit, headers=bearer(app, t.supervisee))
    assert missing.status_code == 428
    stale = await client.put(
        url, json=edit, headers={**bearer(app, t.supervisee), "If-Match": made.headers["ETag"]}
    )
    assert stale.status_code == 412
    edited = await client.put(
        url, json=edit, headers={**bearer(app, t.supervisee), "If-Match": signed.headers["ETag"]}
    )
    assert edited.status_code == 200
    assert edited.json()["terms"]["learning_needs"] == "Court skills."
    assert edited.json()["supervisor_signed_at"] is None
    assert edited.json()["review_due_on"] == "2027-03-01"

    first = await _sign(client, app, t.supervisee, draft["id"])
    assert first.json()["supervisee_signed_at"] == "2026-11-23T09:30:00Z"
    twice = await client.post(
        f"{url}/sign", headers={**bearer(app, t.supervisee), "If-Match": first.headers["ETag"]}
    )
    assert twice.status_code == 409
    done = await _sign(client, app, t.supervisor, draft["id"])
    assert done.status_code == 200
    assert done.json()["status"] == "in_force"
    assert done.json()["in_force_at"] == "2026-11-23T09:30:00Z"
    locked = await client.put(
        url, json=edit, headers={**bearer(app, t.supervisor), "If-Match": done.headers["ETag"]}
    )
    assert locked.status_code == 409


async def test_a_new_version_supersedes_and_keeps_the_old(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    first = await _in_force(client, app, t)
    app.state.clock.advance(days=89)  # the review, three months on: 20 February 2027
    # The supervisee drafts the review: version 2, reviewed a year after it starts.
    made = await _draft(client, app, t.supervisee, t.supervisee, starts_on="2027-02-20")
    assert made.status_code == 201
    second = made.json()
    assert second["number"] == 2
    assert second["supersedes_id"] == first
    assert second["review_due_on"] == "2028-02-20"
    # While it is a draft, the first stays in force.
    listed = await client.get(AGREEMENTS, headers=bearer(app, t.supervisor))
    assert [(a["number"], a["status"]) for a in listed.json()["data"]] == [
        (2, "draft"),
        (1, "in_force"),
    ]
    await _sign(client, app, t.supervisor, second["id"])
    await _sign(client, app, t.supervisee, second["id"])
    listed = await client.get(
        AGREEMENTS, params={"supervisee_id": str(t.supervisee.id)}, headers=bearer(app, t.manager)
    )
    assert [(a["number"], a["status"]) for a in listed.json()["data"]] == [
        (2, "in_force"),
        (1, "superseded"),
    ]
    old = await client.get(f"{AGREEMENTS}/{first}", headers=bearer(app, t.supervisee))
    assert old.json()["status"] == "superseded"
    assert old.json()["superseded_at"] == "2027-02-20T09:30:00Z"
    assert old.json()["terms"] == TERMS  # still readable in full by the two people
    only = await client.get(
        AGREEMENTS, params={"status": "superseded"}, headers=bearer(app, t.supervisee)
    )
    assert [a["id"] for a in only.json()["data"]] == [first]


async def test_who_sees_the_terms_and_who_sees_only_the_dates(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    agreement_id = await _in_force(client, app, t)
    url = f"{AGREEMENTS}/{agreement_id}"
    for person in (t.supervisee, t.supervisor):
        seen = await client.get(url, headers=bearer(app, person))
        assert seen.json()["access"] == "full"
        assert seen.json()["terms"] == TERMS
    for person in (t.manager, t.head, t.admin):
        seen = await client.get(url, headers=bearer(app, person))
        assert seen.status_code == 200
        assert seen.json()["access"] == "metadata"
        assert seen.json()["terms"] is None
        assert seen.json()["supervisee_signed_at"] is not None
        for text in TERMS.values():
            if isinstance(text, str):
                assert text not in seen.text
        listed = await client.get(AGREEMENTS, headers=bearer(app, person))
        assert [a["id"] for a in listed.json()["data"]] == [agreement_id]
        assert "terms" not in listed.json()["data"][0]
    for person in (t.hr, t.colleague, t.other_manager, t.outsider):
        assert (await client.get(url, headers=bearer(app, person))).status_code == 404
        listed = await client.get(AGREEMENTS, headers=bearer(app, person))
        assert listed.json()["data"] == []
    # Managers above and admins may look, not change.
    etag = (await client.get(url, headers=bearer(app, t.manager))).headers["ETag"]
    edit = {"starts_on": "2026-12-01", "terms": TERMS}
    for person in (t.manager, t.admin):
        headers = {**bearer(app, person), "If-Match": etag}
        assert (await client.put(url, json=edit, headers=headers)).status_code == 403
        assert (await client.post(f"{url}/sign", headers=headers)).status_code == 403
    # Each read by someone other than the supervisee is in the supervisee's access log.
    reasons = (
        await db.exec(
            select(col(AccessLog.reader_id), col(AccessLog.reason)).where(
                col(AccessLog.subject_id) == t.supervisee.id,
                col(AccessLog.resource_id) == uuid.UUID(agreement_id),
            )
        )
    ).all()
    by_reader = dict(reasons)
    assert by_reader[t.supervisor.id] == "supervision"
    assert by_reader[t.manager.id] == "management_oversight"
    assert by_reader[t.head.id] == "management_oversight"
    assert by_reader[t.admin.id] == "administration"
    assert t.supervisee.id not in by_reader


async def test_only_the_two_people_draft_and_one_draft_is_open_at_a_time(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    for person in (t.colleague, t.manager, t.head, t.hr, t.admin, t.outsider):
        refused = await _draft(client, app, person, t.supervisee)
        assert refused.status_code == 404, person.display_name
    mine = await _draft(client, app, t.supervisee, t.supervisee)
    assert mine.status_code == 201
    assert mine.json()["supervisor_id"] == str(t.supervisor.id)
    second = await _draft(client, app, t.supervisor, t.supervisee)
    assert second.status_code == 409
    assert mine.json()["id"] in second.json()["detail"]
    # Someone without a line supervisor has no relationship to agree.
    loner = await make_staff(db, t.org, unit=t.team, now=now_of(app))
    assert (await _draft(client, app, loner, loner)).status_code == 409


async def test_bad_input_and_incomplete_terms_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    for bad in (
        {"terms": {**TERMS, "frequency_days": 0}},
        {"terms": {**TERMS, "learning_needs": "x" * 4001}},
        {"starts_on": "1999-12-31"},
        {"extra": True},
        {"terms": {**TERMS, "cancellation": "a\x00b"}},
    ):
        refused = await _draft(client, app, t.supervisor, t.supervisee, **bad)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"] == "application/problem+json"
    listed = await client.get(AGREEMENTS, headers=bearer(app, t.supervisor))
    assert listed.json()["data"] == []
    made = await _draft(
        client, app, t.supervisor, t.supervisee, terms={**TERMS, "learning_needs": ""}
    )
    assert made.status_code == 201
    incomplete = await _sign(client, app, t.supervisor, made.json()["id"])
    assert incomplete.status_code == 422
    assert incomplete.json()["errors"][0]["loc"] == ["terms", "learning_needs"]
    still = await client.get(f"{AGREEMENTS}/{made.json()['id']}", headers=bearer(app, t.supervisor))
    assert still.json()["supervisor_signed_at"] is None


async def test_a_draft_with_a_former_supervisor_cannot_come_into_force(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    made = await _draft(client, app, t.supervisor, t.supervisee)
    await _sign(client, app, t.supervisee, made.json()["id"])
    t.supervisee.supervisor_id = t.colleague.id
    await db.flush()
    refused = await _sign(client, app, t.supervisor, made.json()["id"])
    assert refused.status_code == 409
    # The new supervisor drafts their own (reviewed three months on: a new relationship).
    fresh = await _draft(client, app, t.colleague, t.supervisee)
    assert fresh.status_code == 201
    assert fresh.json()["supervisor_id"] == str(t.colleague.id)
    assert fresh.json()["review_due_on"] == "2027-02-23"


async def test_terms_are_sealed_at_rest(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    await _in_force(client, app, t)
    rows = (await db.exec(sa.text("SELECT * FROM supervision_agreements"))).all()  # type: ignore[call-overload]
    dump = " ".join(str(v) for row in rows for v in row)
    assert "v1.k1." in dump
    for text in TERMS.values():
        if isinstance(text, str):
            assert text[:15] not in dump


async def test_the_feed_and_the_export_carry_agreements_to_the_two_people(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    agreement_id = await _in_force(client, app, t)
    for person in (t.supervisee, t.supervisor):
        feed = (await client.get("/api/v1/sync?limit=200", headers=bearer(app, person))).json()
        [change] = [c for c in feed["changes"] if c["type"] == "supervision_agreement"]
        assert change["id"] == agreement_id
        assert change["data"]["terms"] == TERMS
        assert change["data"]["status"] == "in_force"
        mine = (await client.get("/api/v1/me/export", headers=bearer(app, person))).json()
        assert [a["terms"] for a in mine["supervision_agreements"]] == [TERMS]
    for person in (t.manager, t.admin, t.hr):
        feed = (await client.get("/api/v1/sync?limit=200", headers=bearer(app, person))).json()
        assert all(c["type"] != "supervision_agreement" for c in feed["changes"])
        mine = (await client.get("/api/v1/me/export", headers=bearer(app, person))).json()
        assert mine["supervision_agreements"] == []


async def test_the_review_interval_is_the_organisations_policy(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    policy = await client.get("/api/v1/supervision/policy", headers=bearer(app, t.admin))
    assert policy.json()["agreement_first_review_months"] == 3
    assert policy.json()["agreement_review_months"] == 12
    changed = {**policy.json(), "agreement_first_review_months": 2}
    put = await client.put(
        "/api/v1/supervision/policy",
        json=changed,
        headers={**bearer(app, t.admin), "If-Match": policy.headers["ETag"]},
    )
    assert put.status_code == 200
    made = await _draft(client, app, t.supervisor, t.supervisee)
    assert made.json()["review_due_on"] == "2027-01-23"
