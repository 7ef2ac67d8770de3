"""The load benchmark's yardstick app: what the same work costs without Harbour's layers.

Served by uvicorn exactly as Harbour is (one worker, the same logging), against the same
PostgreSQL database, by `bench/bench_load.py`:

- `GET /constant`: a FastAPI route returning a constant (the framework's floor).
- `POST /raw/checkins`: one single-row INSERT on a raw asyncpg pool, no ORM, no
  transaction block, no authentication: the practical limit of a durable write here.
- `POST /typical/checkins`: the same row through a sync SQLModel session, written the way
  the SQLModel tutorial (and so a typical FastAPI project) writes one: a `def` route in the
  thread pool, `session.add`, `commit`, `refresh`, return the table model.
- `GET /me` and `GET /sync`: Harbour's `GET /api/v1/me` and `GET /api/v1/sync` done by
  hand with the minimum work: decode the same JWT with the same library (PyJWT, the same
  key and checks), read the same rows with raw asyncpg (no transaction block), open sealed
  notes with the same cipher, and serialise with the same JSON library (pydantic-core).
  The sync page is built for the entities the benchmark seeds (a practitioner's own
  check-ins, with their shares, and own reflective notes); the benchmark checks that it
  answers exactly Harbour's document before it times anything.
- `POST /checkins`: Harbour's `POST /api/v1/wellbeing/checkins` (a plain check-in) done by
  hand in the same way: the same JWT checks and body model, the answers scored by Harbour's
  own instrument code, Harbour's two statements (the caller with the organisation's
  settings, the band's support text and the path up the unit tree; then the check-in with
  its change row) on raw asyncpg in autocommit, and the check-in answered from them.
- `POST /reflections`: Harbour's `POST /api/v1/reflections` (a new note) done by hand with
  the minimum work that keeps its integrity: the same JWT checks, the body validated by the
  same model from its bytes, the content sealed with the same cipher, Harbour's own one
  statement sent by raw asyncpg in autocommit (the note only if its author is an active
  member of the token's organisation, its change row in the same statement, numbered at
  commit by the same trigger), and the note answered from what was sent. So the note
  create's ratio to it is the price of Harbour's layers alone, and its own ratio to the raw
  insert the price of what a note must do. The benchmark checks that Harbour reads a note
  (and a check-in) made here exactly as it answered it.

Settings come from the environment: `BENCH_PG_DSN` (asyncpg DSN), `BENCH_PSYCOPG_URL`
(SQLAlchemy URL for the sync driver), and Harbour's own `HARBOUR_SECRET_KEY`,
`HARBOUR_ENCRYPTION_KEYS`, `HARBOUR_JWT_ISSUER`, `HARBOUR_JWT_AUDIENCE`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import jwt
import pydantic_core
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request, Response
from sqlmodel import Field, Session, SQLModel, create_engine

from api.logs import configure_logging
from models.analytics.periods import role_group, tenure_band
from models.crypto import KeyRing, parse_key_ring, seal_json
from models.reflection import CONTENT_COLUMN, REFLECTIONS_TABLE
from models.scope import top_down
from supervision.reflections.schemas import ReflectionCreate, public_body
from wellbeing.checkins import request_hash, signposts
from wellbeing.instruments import latest
from wellbeing.schemas import CheckInCreate
from wellbeing.scoring import ScoringError, score
from wellbeing.support import _FALLBACK as FALLBACK_TEXT
from wellbeing.support import DEFAULT_TEXTS, text_or_default

RAW_TABLE = """
CREATE TABLE IF NOT EXISTS yardstick_raw_checkins (
    id uuid PRIMARY KEY,
    staff_id uuid NOT NULL,
    instrument varchar(40) NOT NULL,
    answers json NOT NULL,
    created_at timestamptz NOT NULL
)
"""
SAMARITANS = {"name": "Samaritans (free, 24 hours)", "contact": "116 123"}
DEFAULT_EAP = "Your employee assistance programme: ask HR or see your intranet"
JSON_TYPE = "application/json"

# Harbour's two statements for a plain check-in on PostgreSQL (`wellbeing.checkins`: the
# context read, then the insert with its owner's change), with the parameters renumbered.
CHECKIN_CONTEXT = """
WITH RECURSIVE up(id, parent_id, depth) AS (
    SELECT units.id, units.parent_id, 0 FROM units
    WHERE units.organisation_id = $1 AND units.id = (
        SELECT staff.unit_id FROM staff WHERE staff.organisation_id = $1 AND staff.id = $2)
    UNION ALL
    SELECT units.id, units.parent_id, up.depth + 1 FROM units, up
    WHERE units.organisation_id = $1 AND units.id = up.parent_id AND up.depth < 64)
SELECT staff.roles, staff.started_on,
    (SELECT share_days FROM wellbeing_settings WHERE organisation_id = $1) AS share_days,
    (SELECT employee_assistance FROM wellbeing_settings WHERE organisation_id = $1) AS eap,
    (SELECT text FROM wellbeing_support_texts WHERE organisation_id = $1
     AND instrument = $3 AND band = $4) AS text,
    up.id AS path_unit
FROM staff LEFT OUTER JOIN up ON true
WHERE staff.organisation_id = $1 AND staff.id = $2 AND staff.active IS true
ORDER BY up.depth
"""
NEW_CHECKIN = """
WITH created_wellbeing_checkins AS (
    INSERT INTO wellbeing_checkins (id, organisation_id, staff_id, instrument,
        instrument_version, content_hash, answers, scores, bands, band, wants_to_talk,
        talk_supervisor_id, request_hash, taken_at, unit_path, role_group, tenure_band,
        incident_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, false, NULL, $11, $12, $13, $14, $15,
        NULL)
    ON CONFLICT (id) DO NOTHING
    RETURNING wellbeing_checkins.id, wellbeing_checkins.organisation_id)
INSERT INTO changes (id, organisation_id, staff_id, entity_type, entity_id, op, seq, at, owned)
SELECT $16, created_wellbeing_checkins.organisation_id, $3, 'wellbeing_checkin',
    created_wellbeing_checkins.id, 'upsert', 0, $12, true
FROM created_wellbeing_checkins
ON CONFLICT (organisation_id, staff_id, entity_type, entity_id)
DO UPDATE SET op = excluded.op, seq = excluded.seq, at = excluded.at, owned = excluded.owned
RETURNING changes.entity_id
"""

# Harbour's statement for a new note on PostgreSQL (`models.idempotent.create_once_as` with
# `models.changes.logged_insert`), as its driver sends it, with the parameters renumbered.
NEW_NOTE = """
WITH created_reflections AS (
    INSERT INTO reflections (id, organisation_id, author_id, template, content, shared_with_id,
        shared_at, bring_to_supervision, version, created_at, updated_at, deleted_at)
    SELECT $1, $2, $3, $4, $5, NULL, NULL, false, 1, $6, $6, NULL
    WHERE EXISTS (SELECT * FROM staff WHERE staff.organisation_id = $2 AND staff.id = $3
                  AND staff.active IS true)
    ON CONFLICT (id) DO NOTHING
    RETURNING reflections.id, reflections.organisation_id)
INSERT INTO changes (id, organisation_id, staff_id, entity_type, entity_id, op, seq, at, owned)
SELECT $7, created_reflections.organisation_id, $3, 'reflection', created_reflections.id,
    'upsert', 0, $6, true
FROM created_reflections
ON CONFLICT (organisation_id, staff_id, entity_type, entity_id)
DO UPDATE SET op = excluded.op, seq = excluded.seq, at = excluded.at, owned = excluded.owned
RETURNING changes.entity_id
"""


# --- the typical project ------------------------------------------------------------------


class TypicalCheckInBase(SQLModel):
    staff_id: uuid.UUID
    instrument: str = Field(max_length=40)
    answers: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON())


class TypicalCheckIn(TypicalCheckInBase, table=True):
    __tablename__ = "yardstick_typical_checkins"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), sa_type=sa.DateTime(timezone=True)
    )


class TypicalCheckInCreate(TypicalCheckInBase):
    pass


class TypicalCheckInPublic(TypicalCheckInBase):
    id: uuid.UUID
    created_at: datetime


_ENGINE: list[sa.Engine] = []  # set by create_app


def get_session() -> Iterator[Session]:
    with Session(_ENGINE[0]) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


# --- by hand -------------------------------------------------------------------------------


class _Unauthorised(Exception):
    pass


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad cursor") from exc
    return int(value["seq"])


def _encode_cursor(seq: int) -> str:
    raw = json.dumps({"seq": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ByHand:
    """The minimum work behind `/me` and a sync page."""

    def __init__(self, pool: asyncpg.Pool, secret: str, ring: KeyRing) -> None:
        self.pool = pool
        self.key = hashlib.sha256(b"harbour/access-token/v1\x00" + secret.encode()).digest()
        self.issuer = os.environ.get("HARBOUR_JWT_ISSUER", "harbour")
        self.audience = os.environ.get("HARBOUR_JWT_AUDIENCE", "harbour-api")
        self.ring = ring

    def claims(self, request: Request) -> tuple[uuid.UUID, uuid.UUID]:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise _Unauthorised
        try:
            claims = jwt.decode(
                header[7:],
                self.key,
                algorithms=["HS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud", "typ", "org"],
                    "verify_iat": False,
                    "verify_exp": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise _Unauthorised from exc
        now = int(datetime.now(UTC).timestamp())
        if claims.get("typ") != "access" or not isinstance(claims["exp"], int):
            raise _Unauthorised
        if claims["exp"] <= now:
            raise _Unauthorised
        return uuid.UUID(claims["org"]), uuid.UUID(claims["sub"])

    async def me(self, request: Request) -> Response:
        org, sub = self.claims(request)
        row = await self.pool.fetchrow(
            "SELECT id, email, display_name, roles, unit_id, supervisor_id, cohort, started_on,"
            " timezone FROM staff WHERE organisation_id = $1 AND id = $2 AND active",
            org,
            sub,
        )
        if row is None:
            raise _Unauthorised
        body = dict(row)
        body["roles"] = json.loads(body["roles"])
        return Response(pydantic_core.to_json(body), media_type=JSON_TYPE)

    async def new_checkin(self, request: Request) -> Response:
        org, sub = self.claims(request)
        try:
            data = CheckInCreate.model_validate_json(await request.body())
        except ValueError:
            return Response(status_code=422)
        instrument = latest(data.instrument)
        plain = not (data.wants_to_talk or data.share_with_supervisor or data.incident_id)
        if instrument is None or not instrument.wording_shipped or not plain:
            return Response(status_code=422)  # not the benchmark's plain check-in
        try:
            scored = score(instrument, data.answers)
        except ScoringError:
            return Response(status_code=422)
        rows = await self.pool.fetch(CHECKIN_CONTEXT, org, sub, instrument.key, scored.band)
        if not rows:
            raise _Unauthorised
        first, now = rows[0], datetime.now(UTC)
        created = await self.pool.fetchval(
            NEW_CHECKIN,
            data.id,
            org,
            sub,
            instrument.key,
            instrument.version,
            instrument.content_hash,
            json.dumps(data.answers),
            json.dumps(scored.scores),
            json.dumps(scored.bands),
            scored.band,
            request_hash(data),
            now,
            json.dumps(top_down(r["path_unit"] for r in rows if r["path_unit"] is not None)),
            role_group(json.loads(first["roles"])),
            tenure_band(first["started_on"], now.date()),
            uuid.uuid4(),
        )
        if created is None:  # a repeat or a taken id: not timed here
            return Response(status_code=409)
        body = {
            "id": data.id,
            "instrument": instrument.key,
            "instrument_version": instrument.version,
            "content_hash": instrument.content_hash,
            "answers": data.answers,
            "scores": scored.scores,
            "bands": scored.bands,
            "band": scored.band,
            "wants_to_talk": False,
            "supervisor_told": False,
            "shared_with_supervisor": False,
            "share_expires_at": None,
            "taken_at": now,
            "incident_id": None,
            "signposting": [
                {"name": name, "contact": contact} for name, contact in signposts(first["eap"])
            ],
            "support": text_or_default(instrument.key, scored.band, first["text"]),
            "talk_request": None,
            "talk_options": [],
        }
        return Response(pydantic_core.to_json(body), status_code=201, media_type=JSON_TYPE)

    async def new_note(self, request: Request) -> Response:
        org, sub = self.claims(request)
        try:
            note = ReflectionCreate.model_validate_json(await request.body())
        except ValueError:
            return Response(status_code=422)
        content = note.content()
        sealed = seal_json(self.ring, content, REFLECTIONS_TABLE, note.id, CONTENT_COLUMN)
        now = datetime.now(UTC)
        created = await self.pool.fetchval(
            NEW_NOTE, note.id, org, sub, note.template.value, sealed, now, uuid.uuid4()
        )
        if created is None:  # a repeat, a taken id or an inactive author: not timed here
            return Response(status_code=409)
        body = {
            "id": note.id,
            "author_id": sub,
            "template": note.template.value,
            "title": content["title"],
            "body": public_body(content["body"]),  # type: ignore[arg-type]
            "tags": content["tags"],
            "mood": content["mood"],
            "shared": False,
            "bring_to_supervision": False,
            "shared_at": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        return Response(
            pydantic_core.to_json(body),
            status_code=201,
            media_type=JSON_TYPE,
            headers={"ETag": '"1"'},
        )

    async def sync(self, request: Request) -> Response:
        org, sub = self.claims(request)
        limit = int(request.query_params.get("limit", "50"))
        after = _decode_cursor(request.query_params.get("cursor"))
        async with self.pool.acquire() as conn:
            me = await conn.fetchrow(
                "SELECT id, supervisor_id FROM staff"
                " WHERE organisation_id = $1 AND id = $2 AND active",
                org,
                sub,
            )
            if me is None:
                raise _Unauthorised
            rows = await conn.fetch(
                "SELECT entity_type, entity_id, op, seq FROM changes"
                " WHERE organisation_id = $1 AND staff_id = $2 AND seq > $3"
                " ORDER BY seq LIMIT $4",
                org,
                sub,
                after,
                limit + 1,
            )
            has_more = len(rows) > limit
            rows = rows[:limit]
            wanted: dict[str, list[uuid.UUID]] = {}
            for row in rows:
                if row["op"] == "upsert":
                    wanted.setdefault(row["entity_type"], []).append(row["entity_id"])
            rendered: dict[uuid.UUID, dict[str, Any]] = {}
            if wanted.get("wellbeing_checkin"):
                rendered |= await self._checkins(conn, org, sub, me, wanted["wellbeing_checkin"])
            if wanted.get("reflection"):
                rendered |= await self._notes(conn, org, sub, wanted["reflection"])
        changes = []
        for row in rows:
            data = rendered.get(row["entity_id"])
            changes.append(
                {
                    "type": row["entity_type"],
                    "op": "upsert" if data is not None else "delete",
                    "id": row["entity_id"],
                    "data": data,
                }
            )
        last = rows[-1]["seq"] if rows else after
        page = {"changes": changes, "next_cursor": _encode_cursor(last), "has_more": has_more}
        return Response(pydantic_core.to_json(page), media_type=JSON_TYPE)

    async def _checkins(
        self,
        conn: asyncpg.Connection,
        org: uuid.UUID,
        sub: uuid.UUID,
        me: asyncpg.Record,
        ids: list[uuid.UUID],
    ) -> dict[uuid.UUID, dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT c.id, c.instrument, c.instrument_version, c.content_hash, c.answers,"
            " c.scores, c.bands, c.band, c.wants_to_talk, c.incident_id, c.taken_at,"
            " s.supervisor_id AS share_to, s.expires_at, s.revoked_at"
            " FROM wellbeing_checkins c LEFT JOIN wellbeing_checkin_shares s"
            " ON s.organisation_id = c.organisation_id AND s.checkin_id = c.id"
            " WHERE c.organisation_id = $1 AND c.staff_id = $2 AND c.id = ANY($3)",
            org,
            sub,
            ids,
        )
        eap = await conn.fetchval(
            "SELECT employee_assistance FROM wellbeing_settings WHERE organisation_id = $1", org
        )
        signs = [{"name": "Employee assistance", "contact": eap or DEFAULT_EAP}, SAMARITANS]
        support = {
            (r["instrument"], r["band"]): r["text"]
            for r in await conn.fetch(
                "SELECT instrument, band, text FROM wellbeing_support_texts"
                " WHERE organisation_id = $1",
                org,
            )
        }
        now = datetime.now(UTC)
        out = {}
        for r in rows:
            live = (
                r["share_to"] is not None
                and r["revoked_at"] is None
                and r["expires_at"] > now
                and r["share_to"] == me["supervisor_id"]
            )
            out[r["id"]] = {
                "id": r["id"],
                "instrument": r["instrument"],
                "instrument_version": r["instrument_version"],
                "content_hash": r["content_hash"],
                "answers": json.loads(r["answers"]),
                "scores": {k: float(v) for k, v in json.loads(r["scores"]).items()},
                "bands": json.loads(r["bands"]),
                "band": r["band"],
                "wants_to_talk": r["wants_to_talk"],
                # The benchmark's check-ins raise no talk request (nobody told, no options).
                "supervisor_told": False,
                "shared_with_supervisor": live,
                "share_expires_at": r["expires_at"] if live else None,
                "taken_at": r["taken_at"],
                "incident_id": r["incident_id"],
                "signposting": signs,
                "support": None
                if r["band"] is None
                else support.get(
                    (r["instrument"], r["band"]),
                    DEFAULT_TEXTS.get((r["instrument"], r["band"]), FALLBACK_TEXT),
                ),
                "talk_request": None,
                "talk_options": [],
            }
        return out

    async def _notes(
        self, conn: asyncpg.Connection, org: uuid.UUID, sub: uuid.UUID, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT id, author_id, template, content, shared_at, bring_to_supervision, version,"
            " created_at, updated_at FROM reflections"
            " WHERE organisation_id = $1 AND author_id = $2 AND deleted_at IS NULL"
            " AND id = ANY($3)",
            org,
            sub,
            ids,
        )
        out = {}
        for r in rows:
            content: dict[str, Any] = {}
            if r["content"] is not None:
                aad = f"harbour/reflections/{r['id']}/content".encode()
                content = json.loads(self.ring.open(r["content"], aad))
            out[r["id"]] = {
                "id": r["id"],
                "author_id": r["author_id"],
                "template": r["template"],
                "title": content.get("title", ""),
                "body": content.get("body", {}),
                "tags": content.get("tags", []),
                "mood": content.get("mood"),
                "shared": r["shared_at"] is not None,
                "bring_to_supervision": r["bring_to_supervision"],
                "shared_at": r["shared_at"],
                "version": r["version"],
                "created_at": r["created_at"],
                "updated_at": r["updated_at"],
            }
        return out


# --- the app -------------------------------------------------------------------------------


def create_app() -> FastAPI:
    """Entry point for `uvicorn --factory` (as `harbour serve` starts Harbour)."""
    configure_logging()
    dsn = os.environ["BENCH_PG_DSN"]
    engine = create_engine(os.environ["BENCH_PSYCOPG_URL"])
    _ENGINE[:] = [engine]
    ring = parse_key_ring(os.environ["HARBOUR_ENCRYPTION_KEYS"])
    secret = os.environ["HARBOUR_SECRET_KEY"]
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        await pool.execute(RAW_TABLE)
        SQLModel.metadata.create_all(engine, tables=[TypicalCheckIn.__table__])  # type: ignore[attr-defined]
        state["pool"] = pool
        state["hand"] = ByHand(pool, secret, ring)
        try:
            yield
        finally:
            await pool.close()
            engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/constant")
    async def constant() -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/raw/checkins", status_code=201)
    async def raw_insert(request: Request) -> Response:
        body = json.loads(await request.body())
        checkin_id = uuid.UUID(body["id"])
        await state["pool"].execute(
            "INSERT INTO yardstick_raw_checkins (id, staff_id, instrument, answers, created_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            checkin_id,
            uuid.UUID(body["staff_id"]),
            body["instrument"],
            json.dumps(body["answers"]),
            datetime.now(UTC),
        )
        return Response(
            pydantic_core.to_json({"id": checkin_id}), status_code=201, media_type=JSON_TYPE
        )

    @app.post("/typical/checkins", status_code=201, response_model=TypicalCheckInPublic)
    def typical_insert(checkin: TypicalCheckInCreate, session: SessionDep) -> TypicalCheckIn:
        db_checkin = TypicalCheckIn.model_validate(checkin)
        session.add(db_checkin)
        session.commit()
        session.refresh(db_checkin)
        return db_checkin

    def by_hand(method: str, path: str, work: str) -> None:
        """A route answered by `ByHand.<work>` (401 for a token it refuses)."""

        async def route(request: Request) -> Response:
            try:
                return await getattr(state["hand"], work)(request)  # type: ignore[no-any-return]
            except _Unauthorised:
                return Response(status_code=401)

        app.add_api_route(path, route, methods=[method], name=work)

    by_hand("GET", "/me", "me")
    by_hand("GET", "/sync", "sync")
    by_hand("POST", "/checkins", "new_checkin")
    by_hand("POST", "/reflections", "new_note")

    return app
