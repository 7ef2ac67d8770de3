"""No individual check-in reaches a manager, HR, admin or colleague through any endpoint;
a supervisor sees only what was shared with them, while shared, and the read is logged."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.access_log import AccessLog
from models.directory.organisation import Unit
from models.directory.staff import Role, Staff
from tests.conftest import FrozenClock
from tests.factories.directory import bearer, make_org, make_staff, make_unit, now_of
from tests.factories.wellbeing import make_checkin

ANSWERS = {"mood": 2, "stress": 4, "exposure": 5, "supported": 1, "sleep": 2}


async def _world(db: AsyncSession, app: FastAPI) -> tuple[dict[str, Staff], Unit]:
    now = now_of(app)
    org = await make_org(db, now=now)
    manager = await make_staff(db, org, Role.manager, now=now)
    top = await make_unit(db, org, "Children's services", manager=manager, now=now)
    team = await make_unit(db, org, "Team A", parent=top, now=now)
    supervisor = await make_staff(db, org, Role.supervisor, Role.practitioner, unit=team, now=now)
    owner = await make_staff(db, org, unit=team, supervisor=supervisor, now=now)
    world = {
        "owner": owner,
        "supervisor": supervisor,
        "manager": manager,
        "team_manager": await make_staff(
            db, org, Role.manager, Role.supervisor, unit=team, now=now
        ),
        "hr": await make_staff(db, org, Role.hr, now=now),
        "admin": await make_staff(db, org, Role.admin, now=now),
        "colleague": await make_staff(db, org, unit=team, supervisor=supervisor, now=now),
        "elsewhere": await make_staff(
            db, await make_org(db, now=now), Role.hr, Role.admin, now=now
        ),
    }
    return world, team


def _get_paths(app: FastAPI, ids: dict[str, str]) -> list[str]:
    """Every GET path of the API with its path parameters filled in."""
    paths = []
    for route in app.routes:
        if isinstance(route, APIRoute) and "GET" in (route.methods or set()):
            path = route.path
            for name in re.findall(r"{(\w+)}", path):
                path = path.replace("{" + name + "}", ids.get(name, ids["checkin_id"]))
            paths.append(path)
    return paths


async def _sweep(
    client: httpx.AsyncClient, app: FastAPI, viewer: Staff, ids: dict[str, str], secret: str
) -> None:
    queries = ["", "?instrument=pulse&period=week&by=unit", "?period=month&by=role"]
    for path in _get_paths(app, ids):
        for query in queries:
            response = await client.get(path + query, headers=bearer(app, viewer))
            assert response.status_code < 500, path
            assert secret not in response.text, (path, viewer.roles)
            if response.status_code == 200 and "cells" in response.text:
                for cell in response.json()["cells"]:
                    assert cell["suppressed"] is True, (path, cell)


async def test_nobody_but_the_owner_sees_an_unshared_checkin(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    world, team = await _world(db, app)
    checkin = await make_checkin(db, world["owner"], at=now_of(app), answers=ANSWERS)
    clock.advance(days=120)  # every period is complete, so analytics would release if allowed
    ids = {"checkin_id": str(checkin.id), "unit_id": str(team.id)}
    for role in ("supervisor", "manager", "team_manager", "hr", "admin", "colleague", "elsewhere"):
        viewer = world[role]
        one = await client.get(
            f"/api/v1/wellbeing/checkins/{checkin.id}", headers=bearer(app, viewer)
        )
        assert one.status_code == 404, role
        await _sweep(client, app, viewer, ids, str(checkin.id))
    mine = await client.get(
        f"/api/v1/wellbeing/checkins/{checkin.id}", headers=bearer(app, world["owner"])
    )
    assert mine.status_code == 200
    assert mine.json()["answers"] == ANSWERS
    assert (await db.exec(select(AccessLog))).all() == []


async def test_supervisor_sees_a_shared_checkin_while_shared_and_the_read_is_logged(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    world, team = await _world(db, app)
    checkin = await make_checkin(db, world["owner"], at=now_of(app), answers=ANSWERS, share=True)
    supervisor = world["supervisor"]
    listed = await client.get(
        "/api/v1/wellbeing/checkins/shared-with-me", headers=bearer(app, supervisor)
    )
    assert [c["id"] for c in listed.json()["data"]] == [str(checkin.id)]
    assert listed.json()["data"][0]["answers"] == ANSWERS
    assert "wants_to_talk" not in listed.json()["data"][0]
    one = await client.get(
        f"/api/v1/wellbeing/checkins/{checkin.id}", headers=bearer(app, supervisor)
    )
    assert one.status_code == 200
    assert one.json()["scores"] == checkin.scores
    assert "wants_to_talk" not in one.json()  # the supervisor's view, not the owner's
    assert one.json()["owner_id"] == str(world["owner"].id)
    log = await client.get("/api/v1/me/access-log", headers=bearer(app, world["owner"]))
    entries = log.json()["data"]
    assert len(entries) == 2
    assert {(e["reader_id"], e["reason"], e["resource_id"]) for e in entries} == {
        (str(supervisor.id), "shared_with_me", str(checkin.id))
    }
    # Everyone else still sees nothing of it.
    ids = {"checkin_id": str(checkin.id), "unit_id": str(team.id)}
    for role in ("manager", "team_manager", "hr", "admin", "colleague", "elsewhere"):
        one = await client.get(
            f"/api/v1/wellbeing/checkins/{checkin.id}", headers=bearer(app, world[role])
        )
        assert one.status_code == 404, role
        await _sweep(client, app, world[role], ids, str(checkin.id))
    # After 14 days the share lapses by itself.
    clock.advance(days=14, seconds=1)
    assert (
        await client.get(
            f"/api/v1/wellbeing/checkins/{checkin.id}", headers=bearer(app, supervisor)
        )
    ).status_code == 404
    listed = await client.get(
        "/api/v1/wellbeing/checkins/shared-with-me", headers=bearer(app, supervisor)
    )
    assert listed.json()["data"] == []


async def test_shared_with_me_needs_the_supervisor_role(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    world, team = await _world(db, app)
    for role in ("owner", "hr", "admin", "manager"):
        response = await client.get(
            "/api/v1/wellbeing/checkins/shared-with-me", headers=bearer(app, world[role])
        )
        assert response.status_code == 403, role


async def test_a_share_ends_with_the_supervision_relationship(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    world, _ = await _world(db, app)
    owner, old, new = world["owner"], world["supervisor"], world["team_manager"]
    checkin = await make_checkin(
        db, owner, at=now_of(app), share=True, wants_to_talk=True, tell_supervisor=True
    )
    url = f"/api/v1/wellbeing/checkins/{checkin.id}"
    assert (await client.get(url, headers=bearer(app, old))).status_code == 200
    owner.supervisor_id = new.id
    await db.flush()
    # The old supervisor loses the share and the talk request; the new one gets neither
    # until the owner chooses again.
    assert (await client.get(url, headers=bearer(app, old))).status_code == 404
    assert (await client.get(url, headers=bearer(app, new))).status_code == 404
    mine = await client.get(url, headers=bearer(app, owner))
    assert mine.json()["shared_with_supervisor"] is False
    for someone in (old, new):
        shared = await client.get(
            "/api/v1/wellbeing/checkins/shared-with-me", headers=bearer(app, someone)
        )
        assert shared.json()["data"] == []
        talk = await client.get("/api/v1/wellbeing/talk-requests", headers=bearer(app, someone))
        assert talk.json()["data"] == []


async def test_shared_with_me_is_paged_newest_share_first(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, clock: FrozenClock
) -> None:
    world, _ = await _world(db, app)
    made = []
    for _ in range(3):
        made.append(await make_checkin(db, world["owner"], at=now_of(app), share=True))
        clock.advance(minutes=5)
    url = "/api/v1/wellbeing/checkins/shared-with-me?limit=2"
    first = await client.get(url, headers=bearer(app, world["supervisor"]))
    assert [c["id"] for c in first.json()["data"]] == [str(made[2].id), str(made[1].id)]
    second = await client.get(
        f"{url}&cursor={first.json()['next_cursor']}", headers=bearer(app, world["supervisor"])
    )
    assert [c["id"] for c in second.json()["data"]] == [str(made[0].id)]
    assert second.json()["next_cursor"] is None
    log = await client.get("/api/v1/me/access-log", headers=bearer(app, world["owner"]))
    assert len(log.json()["data"]) == 3  # one entry per check-in actually returned
