"""The person a request to talk was sent to acknowledges it and closes it with an outcome on
the web: the API's domain calls, its If-Match (the form's version), CSRF on every form."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.wellbeing import TalkRequest
from tests.api.web.conftest import form_token, signed_in
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import Team, make_team
from tests.factories.wellbeing import pulse_answers


async def _raised(client: httpx.AsyncClient, app: FastAPI, team: Team) -> uuid.UUID:
    """The supervisee asks to talk from a check-in, telling their supervisor."""
    made = await client.post(
        "/api/v1/wellbeing/checkins",
        json={
            "id": str(uuid.uuid4()),
            "instrument": "pulse",
            "answers": pulse_answers(8),
            "wants_to_talk": True,
            "tell_supervisor": True,
        },
        headers=bearer(app, team.supervisee),
    )
    assert made.status_code == 201, made.text
    return uuid.UUID(made.json()["talk_request"]["id"])


async def test_the_supervisor_acknowledges_then_closes_with_an_outcome(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    request_id = await _raised(web, app, team)
    await signed_in(web, db, app, team.supervisor)
    listed = await web.get("/app/supervisees/talk-requests")
    url = f"/app/supervisees/talk-requests/{request_id}"
    assert f'href="{url}"' in listed.text

    opened = await web.get(url)
    assert opened.status_code == 200
    assert "Acknowledge" in opened.text
    assert 'name="version" value="1"' in opened.text
    token = await form_token(web, url)

    no_token = await web.post(f"{url}/acknowledge", data={"version": "1"})
    assert no_token.status_code == 403
    acked = await web.post(f"{url}/acknowledge", data={"csrf_token": token, "version": "1"})
    assert acked.status_code == 303
    assert acked.headers["location"] == f"{url}?done=acknowledged"
    row = await db.get(TalkRequest, request_id)
    assert row is not None
    await db.refresh(row)
    assert row.acknowledged_at is not None
    again = await web.get(acked.headers["location"])
    assert "You acknowledged this request" in again.text
    assert ">Acknowledge</button>" not in again.text  # done: only closing is left

    # The version read before the acknowledgement is stale: nothing changes.
    stale = await web.post(
        f"{url}/close", data={"csrf_token": token, "version": "1", "outcome": "talked"}
    )
    assert stale.status_code == 412
    unsaid = await web.post(f"{url}/close", data={"csrf_token": token, "version": str(row.version)})
    assert unsaid.status_code == 422
    assert "Select how it ended" in unsaid.text
    closed = await web.post(
        f"{url}/close",
        data={"csrf_token": token, "version": str(row.version), "outcome": "signposted"},
    )
    assert closed.status_code == 303
    await db.refresh(row)
    assert row.outcome == "signposted"
    assert row.closed_by == team.supervisor.id
    shown = await web.get(closed.headers["location"])
    assert "Signposted to other support" in shown.text
    assert "Close request" not in shown.text
    # The owner sees how it ended through the API.
    mine = await web.get(
        "/api/v1/wellbeing/talk-requests/mine", headers=bearer(app, team.supervisee)
    )
    assert mine.json()["data"][0]["outcome"] == "signposted"


async def test_nobody_else_sees_or_acts_on_it(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    request_id = await _raised(web, app, team)
    url = f"/app/supervisees/talk-requests/{request_id}"
    for who in (team.colleague, team.manager, team.admin, team.supervisee):
        await signed_in(web, db, app, who)
        assert (await web.get(url)).status_code == 404
        token = await form_token(web, "/app")
        for action, data in (("acknowledge", {}), ("close", {"outcome": "talked"})):
            answer = await web.post(
                f"{url}/{action}", data={"csrf_token": token, "version": "1", **data}
            )
            # The one who asked may only withdraw it (the API's rule, 422), never record how
            # it ended; everyone else is out of scope.
            owner_closing = who is team.supervisee and action == "close"
            assert answer.status_code == (422 if owner_closing else 404), (who.email, action)
    row = await db.get(TalkRequest, request_id)
    assert row is not None
    await db.refresh(row)
    assert row.acknowledged_at is None
    assert row.closed_at is None


async def test_a_unit_manager_who_was_asked_lists_and_closes_it_without_the_supervisor_role(
    web: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    team = await make_team(db, now=now_of(app))
    made = await web.post(
        "/api/v1/wellbeing/talk-requests",
        json={"id": str(uuid.uuid4()), "to": "unit_manager"},
        headers=bearer(app, team.supervisee),
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert "supervisor" not in team.manager.roles
    await signed_in(web, db, app, team.manager)
    home = await web.get("/app")
    assert 'href="/app/supervisees/talk-requests"' in home.text
    listed = await web.get("/app/supervisees/talk-requests")
    assert listed.status_code == 200
    url = f"/app/supervisees/talk-requests/{request_id}"
    assert f'href="{url}"' in listed.text
    assert 'href="/app/supervisees/notes"' not in listed.text  # no supervisor's sections
    token = await form_token(web, url)
    closed = await web.post(
        f"{url}/close", data={"csrf_token": token, "version": "1", "outcome": "talked"}
    )
    assert closed.status_code == 303
    assert "as their unit" in (await web.get(url)).text
    # The supervisor was not asked: not in their list, 404 on the page.
    await signed_in(web, db, app, team.supervisor)
    assert (
        f'href="{url}"' not in (await web.get("/app/supervisees/talk-requests?status=closed")).text
    )
    assert (await web.get(url)).status_code == 404
