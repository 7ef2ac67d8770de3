"""Liveness, readiness and metrics for the platform (outside /api/v1)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import Now, SettingsDep
from api.metrics import Metrics, render_state
from api.settings import SchedulerMode
from models.notifications.delivery_status import Backlog, delivery_backlog
from models.ops import database_ready, last_heartbeat

router = APIRouter(tags=["operations"])


@router.get("/healthz", name="healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no I/O)."""
    return {"status": "ok"}


@router.get("/readyz", name="readyz")
async def readyz(request: Request, settings: SettingsDep, now: Now) -> JSONResponse:
    """The database answers and the scheduler's heartbeat is fresh."""
    checks: dict[str, str] = {}
    ready = True
    try:
        async with request.app.state.session_factory() as session:
            await database_ready(session)
            beat = await last_heartbeat(session)
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError) as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    stale_after = timedelta(seconds=settings.scheduler_heartbeat_seconds * 3)
    if beat is None:
        checks["scheduler"] = "no heartbeat yet"
        ready = False
    elif now - beat > stale_after:
        checks["scheduler"] = f"stale: last beat {int((now - beat).total_seconds())}s ago"
        ready = False
    else:
        checks["scheduler"] = "ok"
    if settings.scheduler is SchedulerMode.off:
        checks["scheduler"] += " (runs in a separate `harbour worker`)"
    status = "ready" if ready else "unavailable"
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", name="metrics", response_class=PlainTextResponse)
async def metrics(request: Request, now: Now) -> PlainTextResponse:
    """Prometheus text exposition: this process's requests, and the deployment's delivery
    backlog and scheduler heartbeat (counts only: no organisation, person or device)."""
    registry: Metrics = request.app.state.metrics
    backlog: Backlog | None = None
    beat = None
    try:
        async with request.app.state.session_factory() as session:
            backlog = await delivery_backlog(session, now)
            beat = await last_heartbeat(session)
    except (SQLAlchemyError, OSError):
        backlog = None  # the request metrics still answer; harbour_database_up says 0
    text = registry.render() + render_state(backlog, beat, now)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")
