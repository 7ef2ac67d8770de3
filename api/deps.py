"""Dependencies: the request's session and clock, the caller, and role guards.

Every dependency is `async def`, even those that do no I/O: FastAPI runs a plain `def`
dependency in a worker thread, a hop per dependency per request (about 8% of `GET /me` in a
profile; docs/PERFORMANCE.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from api.oidc import OidcVerifier
from api.security import AccessTokens, InvalidToken, Passwords
from api.settings import Settings
from models.actor import Actor
from models.crypto import KeyRing
from models.db import session_scope
from models.directory.service import actor_for, load_active_staff
from models.directory.staff import Role, Staff
from models.errors import Forbidden
from models.pagination import MAX_LIMIT

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit before the response is sent, roll back on error."""
    async with session_scope(request.app.state.session_factory) as session:
        yield session


async def get_now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


async def get_tokens(request: Request) -> AccessTokens:
    tokens: AccessTokens = request.app.state.tokens
    return tokens


async def get_key_ring(request: Request) -> KeyRing:
    ring: KeyRing = request.app.state.key_ring
    return ring


async def get_oidc(request: Request) -> OidcVerifier:
    verifier: OidcVerifier = request.app.state.oidc
    return verifier


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
Now = Annotated[datetime, Depends(get_now)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
TokensDep = Annotated[AccessTokens, Depends(get_tokens)]
KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
OidcDep = Annotated[OidcVerifier, Depends(get_oidc)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]

_bearer = HTTPBearer(auto_error=False)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def current_staff(
    session: SessionDep,
    tokens: TokensDep,
    now: Now,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff:
    """The staff member the bearer token names, if the token is valid and they are still active."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "Sign in first.", headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = tokens.verify(credentials.credentials, now)
    except InvalidToken as exc:
        raise _unauthorized("The access token is not valid.") from exc
    staff = await load_active_staff(session, claims.organisation_id, claims.staff_id)
    if staff is None:
        raise _unauthorized("The access token is not valid.")
    return staff


CurrentStaff = Annotated[Staff, Depends(current_staff)]


async def current_actor(request: Request, staff: CurrentStaff) -> Actor:
    actor = actor_for(staff)
    request.state.actor = actor  # for dependencies that outlive a refusal (api/refusals.py)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def require(*roles: Role) -> Callable[[Actor], Coroutine[Any, Any, Actor]]:
    """A dependency that lets through callers holding any of `roles` (403 otherwise)."""

    async def guard(actor: CurrentActor) -> Actor:
        if not any(actor.has(role) for role in roles):
            names = " or ".join(r.value for r in roles)
            raise Forbidden(f"This needs the {names} role.")
        return actor

    return guard


AdminActor = Annotated[Actor, Depends(require(Role.admin))]
SupervisorActor = Annotated[Actor, Depends(require(Role.supervisor))]
HrActor = Annotated[Actor, Depends(require(Role.hr))]
ManagerActor = Annotated[Actor, Depends(require(Role.manager))]
AdminOrManager = Annotated[Actor, Depends(require(Role.admin, Role.manager))]
SupervisorOrManager = Annotated[Actor, Depends(require(Role.supervisor, Role.manager))]
ReportReader = Annotated[Actor, Depends(require(Role.manager, Role.hr))]
Overseer = Annotated[Actor, Depends(require(Role.manager, Role.admin, Role.hr))]
