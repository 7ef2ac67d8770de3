"""The FastAPI application factory: the composition root."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import configure_mappers
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import Message

from api import problems
from api.delivery.scheduler import Scheduler
from api.deps import Clock, system_clock
from api.heap import collect_less_often, freeze_startup_heap
from api.logs import configure_logging
from api.mail import Mailer
from api.metrics import Metrics
from api.middleware import BodyLimit, RequestMetrics
from api.oidc import OidcVerifier
from api.routes import (
    absences,
    admin,
    analytics,
    auth,
    closure_days,
    deliveries,
    health,
    incidents,
    notifications,
    org,
    org_sso,
    oversight_supervision,
    oversight_wellbeing,
    passwords,
    privacy,
    reflections,
    scim,
    sso,
    staff,
    supervision,
    supervision_agreements,
    supervision_groups,
    sync,
    talk_requests,
    webhook,
    wellbeing,
)
from api.security import AccessTokens, Passwords
from api.settings import PLACEHOLDER_SECRET, SchedulerMode, Settings, get_settings
from api.web import install as install_web
from models.db import create_engine, create_session_factory

log = logging.getLogger("harbour")
API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    clock: Clock = system_clock,
    scheduler: bool = True,
) -> FastAPI:
    """Build the app. Tests pass their own session factory and clock."""
    settings = settings or get_settings()
    owns_engine = engine is None and session_factory is None
    if session_factory is None:
        engine = engine or create_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        session_factory = create_session_factory(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedded = None
        if scheduler and settings.scheduler is SchedulerMode.embedded:
            embedded = Scheduler(settings, session_factory, clock)
            await embedded.start()
        if settings.secret_key.get_secret_value() == PLACEHOLDER_SECRET:
            log.warning("HARBOUR_SECRET_KEY is the development placeholder: never deploy this")
        app.state.scheduler = embedded
        await warm_up(app)
        try:
            yield
        finally:
            gc.unfreeze()
            if embedded is not None:
                await embedded.shutdown()
            if owns_engine and engine is not None:
                await engine.dispose()

    app = FastAPI(
        title="Harbour",
        version="1.0.0",
        summary="Reflective supervision and workforce wellbeing for children's social care.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served below, from local assets
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.clock = clock
    app.state.passwords = Passwords(settings)
    app.state.tokens = AccessTokens(settings)
    app.state.metrics = Metrics()
    app.state.key_ring = settings.key_ring()
    app.state.oidc = OidcVerifier(settings)
    app.state.mailer = Mailer(settings)

    problems.install(app)
    # Routes are matched in this order, one pattern after another, so the phone's hot paths
    # come first: matching `/sync` behind some 120 routes was 9% of an up-to-date sync
    # (docs/PERFORMANCE.md). No two modules share a path, so the order changes no answer.
    for module in (
        auth,
        sync,
        wellbeing,
        reflections,
        org,
        org_sso,
        staff,
        passwords,
        privacy,
        supervision,
        supervision_agreements,
        supervision_groups,
        closure_days,
        absences,
        oversight_supervision,
        talk_requests,
        incidents,
        analytics,
        oversight_wellbeing,
        notifications,
        webhook,
        deliveries,
        admin,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(sso.router)
    app.include_router(scim.router)
    install_web(app)  # after problems.install: the pages answer errors in HTML
    _install_docs(app)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.cors_origin_list():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match"],
            expose_headers=["ETag", "Retry-After", "Location"],
            max_age=600,
        )
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            app.openapi_schema = problems.rewrite_openapi(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


async def warm_up(app: FastAPI) -> None:
    """Pay the process's one-off costs at startup, not in the first caller's request.

    SQLAlchemy configures its mappers on the first ORM query of the process (0.1-0.4 s here),
    and FastAPI builds an included router's routes (their dependencies, the validators of
    their models) on the first request that reaches it (0.8 s for Harbour's): measured, the
    first request of a fresh server took 0.6-2.8 s, whichever it was (docs/PERFORMANCE.md).
    FastAPI has no public call for the second, so one request to a path that matches
    nothing goes through the router (not the middleware: no metrics, no access log), which
    makes it build every route on its way to the 404.

    Then what is alive after startup (modules, routes, models' validators, the mappers:
    hundreds of thousands of objects that live as long as the process) is moved out of the
    garbage collector's sight with `gc.freeze()`: a full collection otherwise walks all of
    them, a pause that showed as the slowest requests: over 60 two-year XLSX downloads, the
    longest collection took 368-842 ms unfrozen and 32-38 ms frozen, the slowest download
    484-1,412 ms and 121-124 ms (docs/PERFORMANCE.md). Shutdown unfreezes."""
    configure_mappers()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/.warm-up",
        "raw_path": b"/.warm-up",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: Message) -> None:
        return None

    await app.router(scope, receive, send)
    freeze_startup_heap()


SWAGGER = "/app/assets/swagger"  # built by `make assets` from swagger-ui-dist (no CDN)


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from Harbour's own assets; "Authorize" offers the password flow
    (the document's OAuth2Password scheme) as well as pasting a bearer token."""

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="Harbour API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            oauth2_redirect_url=None,
        )


def create_app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory` (and `harbour serve`): a server process collects
    garbage less often (`api.heap`); what startup built is frozen out of every collection
    by `warm_up`."""
    configure_logging()
    collect_less_often()
    return create_app()
