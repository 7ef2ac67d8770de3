"""Refused analytics calls are audited too.

A call the caller may not make (403: the wrong role; 404: a unit outside their scope) rolls
its request transaction back, so the domain's audit row would go with it. This dependency
sits outside the request's session: it is entered before the session opens and left after
the session has rolled back, and records the refusal in a transaction of its own. Callers
who did not authenticate (401) are not audited: there is no one to name.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError

from api.deps import Clock
from models.actor import Actor
from models.db import session_scope
from models.errors import Forbidden, NotFound
from models.wellbeing import audit_analytics

log = logging.getLogger("harbour.audit")

# At most this many of the caller's parameters are kept in the audit of a refusal.
MAX_PARAMS = 20


def audit_refusals(endpoint: str) -> Callable[[Request], AsyncIterator[None]]:
    """A route dependency (`dependencies=[Depends(audit_refusals("..."))]`) that audits a 403
    or 404 answered by the route or by its other dependencies."""

    async def dependency(request: Request) -> AsyncIterator[None]:
        try:
            yield
        except (Forbidden, NotFound) as refused:
            actor: Actor | None = getattr(request.state, "actor", None)
            if actor is not None:
                await _record(request, actor, endpoint, refused.status)
            raise

    return dependency


async def _record(request: Request, actor: Actor, endpoint: str, status: int) -> None:
    params = dict(request.path_params) | dict(request.query_params)
    clock: Clock = request.app.state.clock
    try:
        async with session_scope(request.app.state.session_factory) as session:
            await audit_analytics(
                session,
                actor,
                endpoint,
                dict(list(params.items())[:MAX_PARAMS]),
                clock(),
                status=status,
            )
    except SQLAlchemyError:
        # The caller still gets their 403/404, not a 500; the gap is in the log.
        log.exception("could not audit a refused %s call by %s", endpoint, actor.id)
