"""HTTP conventions: problem+json everywhere, body limits, OpenAPI, health, metrics."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from api.delivery.scheduler import Scheduler
from api.settings import Settings
from models.directory.staff import Role
from models.ops import claim_lease, last_heartbeat
from tests.conftest import AppFactory, FrozenClock, joined_sessions
from tests.factories.directory import bearer, make_org, make_staff, now_of


async def test_unknown_path_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:harbour:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
    }


async def test_wrong_method_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/me")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:harbour:problem:method-not-allowed"


async def test_405_allow_names_every_method_of_the_path(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    admin = await make_staff(db, await make_org(db, now=now_of(app)), Role.admin, now=now_of(app))
    response = await client.delete("/api/v1/wellbeing/settings", headers=bearer(app, admin))
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PUT"
    # A literal sub-path is not an id of the route beside it: 405, not 422.
    templates = await client.put("/api/v1/reflections/templates", headers=bearer(app, admin))
    assert templates.status_code == 405
    assert templates.headers["Allow"] == "GET"
    # A malformed id is still a validation problem.
    bad = await client.get("/api/v1/reflections/not-a-uuid", headers=bearer(app, admin))
    assert bad.status_code == 422
    assert bad.json()["type"] == "urn:harbour:problem:validation"
    assert bad.json()["errors"][0]["loc"] == ["path", "reflection_id"]


async def test_a_missing_if_match_is_428_with_its_problem_type(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    admin = await make_staff(db, await make_org(db, now=now_of(app)), Role.admin, now=now_of(app))
    response = await client.put(
        "/api/v1/wellbeing/settings", json={"share_days": 7}, headers=bearer(app, admin)
    )
    assert response.status_code == 428
    assert response.json()["type"] == "urn:harbour:problem:if-match-required"
    stale = await client.put(
        "/api/v1/wellbeing/settings",
        json={"share_days": 7},
        headers={**bearer(app, admin), "If-Match": '"999"'},
    )
    assert stale.status_code == 412
    assert stale.json()["type"] == "urn:harbour:problem:stale-etag"


async def test_malformed_json_is_422_problem(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    admin = await make_staff(db, await make_org(db, now=now_of(app)), Role.admin, now=now_of(app))
    response = await client.post(
        "/api/v1/org/units",
        content=b'{"name": ',
        headers={**bearer(app, admin), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_validation_errors_never_echo_input(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    admin = await make_staff(db, await make_org(db, now=now_of(app)), Role.admin, now=now_of(app))
    response = await client.post(
        "/api/v1/staff",
        json={
            "email": "a@b.example",
            "display_name": "A",
            "started_on": "2026-01-01",
            "password": "secret1",
        },
        headers=bearer(app, admin),
    )
    assert response.status_code == 422
    assert "secret1" not in response.text


@pytest.fixture
async def small_client(make_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(max_body_bytes=1024)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        yield c


async def test_declared_oversized_body_is_413(small_client: httpx.AsyncClient) -> None:
    response = await small_client.post(
        "/api/v1/auth/token",
        content=b"grant_type=password&username=" + b"a" * 2000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_streamed_oversized_body_is_413(small_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 200

    response = await small_client.post(
        "/api/v1/staff/import", content=chunks(), headers={"Content-Type": "text/csv"}
    )
    # No Content-Length: the limit is enforced while reading. Authentication runs first here,
    # so an anonymous caller is refused before the body is read; either way, no 500.
    assert response.status_code in {401, 413}


async def test_streamed_oversized_body_is_413_when_read(
    make_app: AppFactory, db: AsyncSession
) -> None:
    app = make_app(max_body_bytes=1024)
    admin = await make_staff(db, await make_org(db, now=now_of(app)), Role.admin, now=now_of(app))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"email,display_name,started_on\n" * 10

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        response = await c.post(
            "/api/v1/staff/import",
            content=chunks(),
            headers={**bearer(app, admin), "Content-Type": "text/csv"},
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_openapi_has_stable_unique_operation_ids_and_problem_errors(app: FastAPI) -> None:
    schema = app.openapi()
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"issue_token", "get_me", "create_unit", "update_staff", "import_staff"} <= set(ids)
    update = schema["paths"]["/api/v1/staff/{staff_id}"]["patch"]["responses"]
    for status in ("401", "403", "404", "412", "422", "428"):
        assert "application/problem+json" in update[status]["content"], status
    token = schema["paths"]["/api/v1/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_needs_a_fresh_scheduler_heartbeat(
    client: httpx.AsyncClient, db: AsyncSession, clock: FrozenClock
) -> None:
    # The heartbeat row is shared by the whole database; start from a known holder.
    assert await claim_lease(db, "test-holder", clock.now, timedelta(seconds=0))
    await db.commit()
    fresh = await client.get("/readyz")
    assert fresh.status_code == 200
    assert fresh.json()["checks"] == {
        "database": "ok",
        "scheduler": "ok (runs in a separate `harbour worker`)",
    }
    clock.advance(minutes=5)
    stale = await client.get("/readyz")
    assert stale.status_code == 503
    assert stale.json()["checks"]["scheduler"].startswith("stale")


async def test_only_one_scheduler_holds_the_lease(db: AsyncSession, clock: FrozenClock) -> None:
    ttl = timedelta(seconds=90)
    assert await claim_lease(db, "first", clock.now, timedelta(seconds=0))
    assert not await claim_lease(db, "second", clock.now, ttl)
    clock.advance(seconds=30)
    assert await claim_lease(db, "first", clock.now, ttl)
    clock.advance(seconds=91)  # the first went quiet
    assert await claim_lease(db, "second", clock.now, ttl)
    assert not await claim_lease(db, "first", clock.now, ttl)


async def test_a_scheduler_that_stops_cleanly_hands_the_lease_over_at_once(
    connection: AsyncConnection, db: AsyncSession, clock: FrozenClock, test_settings: Settings
) -> None:
    sessions = joined_sessions(connection)
    first, second = (
        Scheduler(test_settings, sessions, clock),
        Scheduler(test_settings, sessions, clock),
    )
    assert await claim_lease(db, "someone-else", clock.now, timedelta(seconds=0))
    await db.commit()
    clock.advance(minutes=10)  # that holder is long gone
    assert await first.heartbeat()
    assert not await second.heartbeat()
    await second.shutdown()  # a standby stopping gives nothing away
    assert not await Scheduler(test_settings, sessions, clock).heartbeat()
    await first.shutdown()
    # No waiting for three silent beats: the next heartbeat of another scheduler wins, and the
    # beat time stayed fresh meanwhile (readiness did not flap).
    assert await last_heartbeat(db) == clock.now
    third = Scheduler(test_settings, sessions, clock)
    assert await third.heartbeat()
    await third.shutdown()


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    admin = await make_staff(db, await make_org(db, now=now_of(app)), Role.admin, now=now_of(app))
    await client.get(f"/api/v1/staff/{admin.id}", headers=bearer(app, admin))
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert (
        'harbour_http_requests_total{method="GET",route="/api/v1/staff/{staff_id}",status="200"} 1'
        in text
    )
    assert str(admin.id) not in text
    assert "harbour_http_request_duration_seconds_bucket" in text


async def test_startup_warms_up_without_a_trace_in_metrics(make_app: AppFactory) -> None:
    """The startup's warm-up request (api.app.warm_up) goes to the router, not through the
    middleware: an operator's request counts and the logs never show it. Startup freezes
    the heap it built (gc.freeze) and shutdown unfreezes it."""
    app = make_app()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 0  # what startup built is out of the collector's way
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/healthz")).status_code == 200
            text = (await c.get("/metrics")).text
    counted = [
        line for line in text.splitlines() if line.startswith("harbour_http_requests_total{")
    ]
    assert counted == ['harbour_http_requests_total{method="GET",route="/healthz",status="200"} 1']
    assert gc.get_freeze_count() == 0  # and shutdown gave it back


async def test_an_unexpected_error_is_a_500_problem_without_details(
    make_app: AppFactory,
) -> None:
    app = make_app()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me/access-log",
        "/api/v1/reflections",
        "/api/v1/wellbeing/checkins",
        "/api/v1/notifications",
        "/api/v1/supervision/sessions",
        "/api/v1/supervision/actions",
    ],
)
async def test_forged_time_cursors_are_422_on_every_time_ordered_list(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, path: str
) -> None:
    from models.pagination import encode_cursor

    me = await make_staff(db, await make_org(db, now=now_of(app)), now=now_of(app))
    for forged in (
        encode_cursor({"k": "2026-01-01T00:00:00", "id": "6a1f2b1e-0000-4000-8000-000000000000"}),
        encode_cursor({"k": "yesterday", "id": "x"}),
        encode_cursor({"seq": 3}),
    ):
        response = await client.get(path, params={"cursor": forged}, headers=bearer(app, me))
        assert response.status_code == 422, (path, forged)
        assert response.headers["content-type"] == "application/problem+json"


async def test_local_times_are_hh_mm_and_refuse_an_offset(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    me = await make_staff(db, await make_org(db, now=now_of(app)), now=now_of(app))
    prefs = "/api/v1/me/preferences"
    read = await client.get(prefs, headers=bearer(app, me))
    body = {**read.json(), "quiet_hours_start": "21:30+05:00"}
    tagged = {**bearer(app, me), "If-Match": read.headers["ETag"]}
    refused = await client.put(prefs, json=body, headers=tagged)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "quiet_hours_start"]
    assert (await client.get(prefs, headers=bearer(app, me))).json() == read.json()
    saved = await client.put(prefs, json={**body, "quiet_hours_start": "21:30"}, headers=tagged)
    assert saved.status_code == 200
    assert saved.json()["quiet_hours_start"] == "21:30:00"
    schema = app.openapi()["components"]["schemas"]["PreferencesBody"]["properties"]
    assert "pattern" in str(schema["quiet_hours_start"])


def test_the_document_is_typed_for_client_generators(app: FastAPI) -> None:
    schema = app.openapi()
    names = set(schema["components"]["schemas"])
    assert not [n for n in names if "_" in n or "Type0" in n]
    assert "ReflectionPublicPage" in names
    changes = schema["components"]["schemas"]["SyncPage"]["properties"]["changes"]["items"]
    assert changes["discriminator"]["propertyName"] == "type"
    token = schema["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert list(token["400"]["content"]) == ["application/json"]
    assert "Retry-After" in token["429"]["headers"]
    put = schema["paths"]["/api/v1/reflections/{reflection_id}"]["put"]
    if_match = next(p for p in put["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is True
    assert {"400", "401", "412", "413", "422", "428"} <= set(put["responses"])
    assert "ETag" in put["responses"]["200"]["headers"]
    create = schema["paths"]["/api/v1/supervision/sessions"]["post"]["responses"]
    assert {"200", "201"} <= set(create)


def test_scaling_is_one_type_in_reflections_and_case_discussions(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    case_in = schemas["CaseDiscussionIn"]["properties"]["scaling"]
    case_out = schemas["CaseDiscussionPublic"]["properties"]["scaling"]
    note_in = schemas["ReflectionCreate"]["properties"]["body"]["properties"]["scaling"]
    note_out = schemas["ReflectionPublic"]["properties"]["body"]["properties"]["scaling"]
    for scaling in (case_out, note_in, note_out):
        assert scaling["anyOf"] == case_in["anyOf"]
    assert case_in["anyOf"][0]["type"] == "integer"
    assert (case_in["anyOf"][0]["minimum"], case_in["anyOf"][0]["maximum"]) == (0, 10)


def test_instrument_answers_are_typed_per_instrument(app: FastAPI) -> None:
    from wellbeing.instruments import current_instruments

    schemas = app.openapi()["components"]["schemas"]
    create = schemas["CheckInCreate"]["properties"]
    assert create["instrument"]["$ref"] == "#/components/schemas/InstrumentKey"
    shapes = {ref["$ref"].rsplit("/", 1)[1] for ref in create["answers"]["anyOf"]}
    instruments = current_instruments()
    assert set(schemas["InstrumentKey"]["enum"]) == {i.key for i in instruments}
    assert len(shapes) == len(instruments)
    pulse = schemas["PulseAnswers"]
    assert "PulseAnswers" in shapes
    assert pulse["additionalProperties"] is False
    assert set(pulse["properties"]) == {"mood", "stress", "exposure", "supported", "sleep"}
    assert (pulse["properties"]["mood"]["minimum"], pulse["properties"]["mood"]["maximum"]) == (
        1,
        5,
    )
    assert set(schemas["Proqol5Answers"]["properties"]) == {str(n) for n in range(1, 31)}


async def test_answer_fields_that_always_have_a_value_are_required(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    schemas = app.openapi()["components"]["schemas"]
    public = schemas["CheckInPublic"]
    assert set(public["required"]) == set(public["properties"])
    assert {"support", "talk_request", "talk_options", "incident_id"} <= set(public["required"])
    # A request keeps its defaults optional; a problem's `errors` is sent only when there are.
    assert set(schemas["CheckInCreate"]["required"]) == {"id", "instrument", "answers"}
    assert "errors" not in schemas["Problem"]["required"]
    # ... and the server does send every one.
    me = await make_staff(db, await make_org(db, now=now_of(app)), now=now_of(app))
    answers = {"mood": 3, "stress": 2, "exposure": 2, "supported": 4, "sleep": 3}
    body = {"id": str(uuid.uuid4()), "instrument": "pulse", "answers": answers}
    made = await client.post("/api/v1/wellbeing/checkins", json=body, headers=bearer(app, me))
    assert made.status_code == 201
    assert set(made.json()) == set(public["properties"])


def test_etag_and_location_are_declared_where_they_are_sent(app: FastAPI) -> None:
    paths = app.openapi()["paths"]

    def headers(path: str, method: str, status: str) -> set[str]:
        return set(paths[path][method]["responses"][status].get("headers", {}))

    assert "ETag" in headers("/api/v1/reflections/{reflection_id}", "get", "200")
    assert "ETag" in headers("/api/v1/wellbeing/checkins/{checkin_id}", "get", "200")
    # A create answers the resource, so its first ETag; a repeat answers it again.
    for path in ("/api/v1/supervision/sessions", "/api/v1/wellbeing/incidents"):
        assert "ETag" in headers(path, "post", "201")
        assert "ETag" in headers(path, "post", "200")
    # A page has no one version.
    assert "ETag" not in headers("/api/v1/reflections", "get", "200")
    assert "ETag" not in headers("/api/v1/staff", "get", "200")
    # Nor has an answer that is not a resource changed with If-Match, even under one's path.
    assert "ETag" not in headers("/api/v1/me", "get", "200")
    assert "ETag" not in headers("/api/v1/supervision/sessions/{session_id}/agenda", "get", "200")
    assert "ETag" not in headers("/api/v1/supervision/sessions/{session_id}/feedback", "get", "200")
    assert "ETag" not in headers("/api/v1/staff/{staff_id}/absences", "post", "201")
    assert "ETag" not in headers("/api/v1/staff/{staff_id}/invitation", "post", "201")
    # Location only where a redirect sends it.
    assert "Location" in headers("/auth/sso/login", "get", "302")
    everywhere = [
        (path, method, status)
        for path, item in paths.items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if "Location" in response.get("headers", {})
    ]
    assert all(status.startswith("3") for _, _, status in everywhere)


async def test_a_checkin_read_sends_the_etag_it_declares(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    me = await make_staff(db, await make_org(db, now=now_of(app)), now=now_of(app))
    answers = {"mood": 3, "stress": 2, "exposure": 2, "supported": 4, "sleep": 3}
    body = {"id": str(uuid.uuid4()), "instrument": "pulse", "answers": answers}
    await client.post("/api/v1/wellbeing/checkins", json=body, headers=bearer(app, me))
    got = await client.get(f"/api/v1/wellbeing/checkins/{body['id']}", headers=bearer(app, me))
    assert got.status_code == 200
    assert got.headers["ETag"]
    listed = await client.get("/api/v1/wellbeing/checkins", headers=bearer(app, me))
    assert "etag" not in listed.headers


def test_every_problem_type_is_listed_for_app_developers(app: FastAPI) -> None:
    from pathlib import Path

    from api.problems import PROBLEM_KINDS

    page = (Path(__file__).resolve().parents[2] / "docs" / "app-developers.md").read_text()
    described = app.openapi()["components"]["schemas"]["Problem"]["properties"]["type"]
    for kind in PROBLEM_KINDS:
        assert f"`urn:harbour:problem:{kind}`" in page, kind
        assert f"urn:harbour:problem:{kind}" in described["description"], kind


async def test_cors_is_off_by_default_and_follows_the_setting(make_app: AppFactory) -> None:
    preflight = {
        "Origin": "https://app.council.example",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization,if-match",
    }
    for origins, allowed in (
        ("", None),
        ("https://app.council.example", "https://app.council.example"),
    ):
        app = make_app(cors_origins=origins)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as c:
            response = await c.options("/api/v1/me", headers=preflight)
        assert response.headers.get("access-control-allow-origin") == allowed


async def test_swagger_ui_is_served_locally_with_the_password_flow(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    page = (await client.get("/docs")).text
    assert "/app/assets/swagger/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    schemes = app.openapi()["components"]["securitySchemes"]
    assert schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
