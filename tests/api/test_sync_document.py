"""The sync page is written straight from the renderers' fields (no page model is built), so
its bytes are held here to what the documented `SyncPage` model writes for the same page,
and each check-in and note to the view its own route answers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import TypeAdapter
from sqlmodel.ext.asyncio.session import AsyncSession

from api.routes.sync import SyncPage
from models.directory.staff import Staff
from models.wellbeing import SupportText, WellbeingSettings
from tests.factories.directory import bearer, now_of
from tests.factories.reflections import note_body
from tests.factories.supervision import make_team
from tests.factories.wellbeing import pulse_answers

CHECKINS = "/api/v1/wellbeing/checkins"
NOTES = "/api/v1/reflections"
PAGE = TypeAdapter(SyncPage)


def _checkin(**changes: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "instrument": "pulse", "answers": pulse_answers(14)} | changes


async def _page(client: httpx.AsyncClient, app: FastAPI, who: Staff) -> httpx.Response:
    page = await client.get("/api/v1/sync?limit=50", headers=bearer(app, who))
    assert page.status_code == 200
    assert page.headers["content-type"] == "application/json"
    # Exactly the model's document: the same keys in the same order, the same types
    # (scores as floats), the same datetimes and nested views.
    assert page.content == PAGE.dump_json(PAGE.validate_json(page.content))
    return page


async def test_a_sync_page_is_exactly_the_documented_page(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    me = bearer(app, t.supervisee)
    made = [
        _checkin(answers=pulse_answers(n))
        for n in (5, 14, 22)  # three bands on one page
    ]
    made.append(_checkin(answers=pulse_answers(8), wants_to_talk=True, tell_supervisor=True))
    made.append(_checkin(share_with_supervisor=True))
    for body in made:
        assert (await client.post(CHECKINS, json=body, headers=me)).status_code == 201
    note = note_body()
    assert (await client.post(NOTES, json=note, headers=me)).status_code == 201
    shared = await client.post(f"{NOTES}/{note['id']}/share", json={}, headers=me)
    assert shared.status_code == 200
    deleted = note_body()
    assert (await client.post(NOTES, json=deleted, headers=me)).status_code == 201
    gone = await client.delete(f"{NOTES}/{deleted['id']}", headers=me)
    assert gone.status_code in {200, 204}

    mine = (await _page(client, app, t.supervisee)).json()["changes"]
    kinds = {c["type"] for c in mine}
    assert {"wellbeing_checkin", "reflection", "tombstone"} <= kinds
    talk = next(c for c in mine if c["id"] == made[3]["id"])["data"]
    assert talk["talk_request"] is not None
    assert talk["talk_options"]
    # Each view on the feed is the one its own route answers.
    for change in mine:
        if change["type"] == "wellbeing_checkin":
            own = await client.get(f"{CHECKINS}/{change['id']}", headers=me)
            assert own.json() == change["data"]
        if change["type"] == "reflection":
            own = await client.get(f"{NOTES}/{change['id']}", headers=me)
            assert own.json() == change["data"]

    theirs = (await _page(client, app, t.supervisor)).json()["changes"]
    assert {c["type"] for c in theirs} >= {"wellbeing_checkin_shared", "reflection"}


async def test_a_sync_page_shows_the_organisations_own_contact_and_texts(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    """The page's texts and the signposting contact are read with one statement: an
    organisation's own words for one band, the default for the others, and its own employee
    assistance contact, each as the check-in's own route shows it."""
    now = now_of(app)
    t = await make_team(db, now=now)
    me = bearer(app, t.supervisee)
    made = [_checkin(answers=pulse_answers(n)) for n in (5, 14, 22)]
    for body in made:
        assert (await client.post(CHECKINS, json=body, headers=me)).status_code == 201
    default = (await _page(client, app, t.supervisee)).json()["changes"]
    bands = [c["data"]["band"] for c in default]
    assert len(set(bands)) == 3
    assert default[0]["data"]["signposting"][0]["contact"].startswith("Your employee assistance")
    contact = "Care First 0800 000 000"
    db.add(WellbeingSettings(organisation_id=t.org.id, employee_assistance=contact, updated_at=now))
    db.add(
        SupportText(
            organisation_id=t.org.id,
            instrument="pulse",
            band=bands[1],
            text="Our own words for this band.",
            updated_at=now,
        )
    )
    await db.flush()
    changes = (await _page(client, app, t.supervisee)).json()["changes"]
    assert [c["data"]["support"] for c in changes] == [
        default[0]["data"]["support"],
        "Our own words for this band.",
        default[2]["data"]["support"],
    ]
    for change in changes:
        assert change["data"]["signposting"][0] == {
            "name": "Employee assistance",
            "contact": contact,
        }
        own = await client.get(f"{CHECKINS}/{change['id']}", headers=me)
        assert own.json() == change["data"]
