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
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.mail import Mailer
from api.oidc import OidcVerifier
from api.security import AccessClaims, AccessTokens, InvalidToken, Passwords
from api.settings import Settings
from models.actor import Actor
from models.crypto import KeyRing
from models.db import OneWrite, end_session
from models.directory.service import load_active_actor
from models.directory.staff import Role
from models.errors import Forbidden
from models.pagination import MAX_LIMIT

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit before the response is sent, roll back on error
    (`end_session`: the commit and the close in one hop, no task of their own)."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    except BaseException:
        await end_session(session, commit=False)
        raise
    await end_session(session, commit=True)


def one_write(request: Request) -> OneWrite:
    """`async with one_write(request) as session`: the request's session for a route whose
    writes are one statement (a new check-in or note; `models.db.one_write_session`): on
    PostgreSQL outside a transaction block, saving the BEGIN and COMMIT round trips, and
    code writing more than one statement begins one itself (`models.db.in_transaction`).
    Opened in the route, not as a dependency: a generator dependency costs FastAPI an exit
    stack and a cancel scope per request."""
    return OneWrite(request.app.state.session_factory)


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


async def get_mailer(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


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
MailerDep = Annotated[Mailer, Depends(get_mailer)]
# If-Match where a change may also be made blind (cancel, sign off, delete: the state machine
# guards them); IfMatchRequired where the server refuses a change without it. A missing
# required one answers 428 (api/problems.py), as an empty one does.
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IfMatchRequired = Annotated[
    str,
    Header(
        alias="If-Match",
        description='The ETag you read (`"3"`), or the `version` of a list or sync entry, quoted',
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=500)]

_bearer = HTTPBearer(auto_error=False)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def access_claims(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> AccessClaims:
    """What a valid bearer token says (401 otherwise). Tokens and clock come from app state,
    not as dependencies: every request pays for each dependency FastAPI resolves."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "Sign in first.", headers={"WWW-Authenticate": "Bearer"})
    tokens: AccessTokens = request.app.state.tokens
    clock: Clock = request.app.state.clock
    try:
        return tokens.verify(credentials.credentials, clock())
    except InvalidToken as exc:
        raise _unauthorized("The access token is not valid.") from exc


# What `Credentials` declares in the document, for a route that checks the token itself
# with `bearer_claims` (`openapi_extra=`): the same operation, no dependency to solve.
BEARER_SECURITY: dict[str, Any] = {"security": [{"HTTPBearer": []}]}


async def bearer_claims(request: Request) -> AccessClaims:
    """`access_claims` of the request's bearer token, read as `Credentials` reads it, called
    in the route rather than solved by FastAPI as a dependency (about 10-15 us of CPU a
    request, measured in-process: `GET /me`)."""
    return access_claims(request, await _bearer(request))


class _BearerClaims(HTTPBearer):
    """A route's check of the bearer token, for a route that reads the person it names
    itself (`GET /sync` reads them with its page): 401 before any parameter is looked at,
    as `current_actor` answers. One dependency that is also the document's bearer scheme
    (the same `HTTPBearer` as `Credentials`), not one depending on the other: FastAPI solves
    each level per request."""

    async def __call__(self, request: Request) -> AccessClaims:  # type: ignore[override]
        return access_claims(request, await super().__call__(request))


BearerClaims = Annotated[
    AccessClaims, Depends(_BearerClaims(auto_error=False, scheme_name="HTTPBearer"))
]


def invalid_token() -> HTTPException:
    """A valid token for someone who is gone (deactivated, or never in that organisation)."""
    return _unauthorized("The access token is not valid.")


async def current_actor(request: Request, session: SessionDep, credentials: Credentials) -> Actor:
    """The caller, if the bearer token is valid and they are still active, read in the
    request's transaction (one dependency: the token check and the read are not dependencies
    of their own, each of which FastAPI would solve per request)."""
    claims = access_claims(request, credentials)
    actor = await load_active_actor(session, claims.organisation_id, claims.staff_id)
    if actor is None:
        raise invalid_token()
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
