"""Load benchmark of the phone's hot paths against yardsticks, over real HTTP (`make bench-load`).

    .venv/bin/python -m bench.bench_load [--duration 8] [--rounds 2] [--connections 32]

Starts Harbour as it is deployed (`harbour serve`: uvicorn, one worker, scheduler off) and
the yardstick app of `bench/yardstick_app.py` under the same uvicorn settings, on one
PostgreSQL database (`harbour_bench_load`, dropped and made afresh). Seeds one council: a
unit tree of about 200 units, 64 practitioners in 8 teams (each with a supervisor, a token
and a year of history: two check-ins and three reflective notes a week, a fifth of the
check-ins shared for two weeks), so a phone three months behind has a full sync page.

Then drives both apps with wrk (`bench/wrk/rotate.lua`: rotating tokens, fresh UUIDs,
If-Match versions, rotated refresh tokens) for `--rounds` rounds of `--duration` seconds a
path, Harbour and its yardstick alternately (the order flips each round), and prints
requests/s, p50 and p99 of each, the ratios, and Harbour's resident memory under the load.
Before timing, it checks that the by-hand `/me` and sync pages answer exactly Harbour's
documents, and that a check-in and a note made by hand read back through Harbour as they
were answered.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from api.security import AccessTokens
from api.settings import Settings
from models.analytics.periods import role_group, tenure_band
from models.crypto import seal_json
from models.pagination import encode_cursor
from models.reflection import CONTENT_COLUMN, REFLECTIONS_TABLE
from wellbeing.checkins import request_hash
from wellbeing.instruments import latest
from wellbeing.schemas import CheckInCreate
from wellbeing.scoring import score

PG_ADMIN = os.environ.get("HARBOUR_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("HARBOUR_BENCH_LOAD_DB", "harbour_bench_load")
ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk" / "rotate.lua"
PRACTITIONERS = 64
TEAMS = 8
IDLE_UNITS = 190  # the rest of the council's tree: a check-in used to load all of it
THREADS = 2
UPDATE_NOTES_PER_PERSON = 10
REFRESH_TOKENS_PER_RUN = 400
EAP = "Call the council's EAP on 0800 000 0000 (bench)"
ANSWERS = [
    {"mood": 4, "stress": 5, "exposure": 4, "supported": 2, "sleep": 3},
    {"mood": 2, "stress": 3, "exposure": 2, "supported": 4, "sleep": 4},
    {"mood": 5, "stress": 1, "exposure": 1, "supported": 5, "sleep": 5},
    {"mood": 3, "stress": 4, "exposure": 5, "supported": 3, "sleep": 2},
]


def _note(i: int) -> dict[str, Any]:
    return {
        "title": f"A hard visit, week {i}",
        "body": {
            "description": "The home visit to the family on Elm Street went badly. " * 3,
            "feelings": "I felt anxious and unheard, and I want to think about why.",
        },
        "tags": ["compassion", "voice_of_the_child"],
        "mood": 1 + i % 5,
    }


@dataclass
class Person:
    id: uuid.UUID
    supervisor_id: uuid.UUID
    unit_path: list[str]
    token: str = ""
    behind_cursor: str = ""
    update_notes: list[uuid.UUID] = field(default_factory=list)


@dataclass
class World:
    org: uuid.UUID
    people: list[Person]
    now: datetime


# --- the database --------------------------------------------------------------------------


def _dsn(database: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{database}"


async def _recreate() -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    finally:
        await conn.close()


async def _drop() -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(settings: Settings) -> World:
    """One council, its tree, 64 practitioners with a year of history each (bulk COPY)."""
    ring = settings.key_ring()
    tokens = AccessTokens(settings)
    instrument = latest("pulse")
    assert instrument is not None
    now = datetime.now(UTC)
    rng = random.Random(20)
    org = uuid.uuid4()
    conn = await asyncpg.connect(_dsn(DB_NAME))
    try:
        await conn.execute(
            "INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)",
            org,
            "Bench Council",
            now,
        )
        head = uuid.uuid4()
        units: list[tuple[Any, ...]] = []
        staff: list[tuple[Any, ...]] = []

        def add_staff(
            sid: uuid.UUID, role: str, unit: uuid.UUID | None, sup: uuid.UUID | None
        ) -> None:
            staff.append(
                (
                    sid,
                    org,
                    f"{role}-{sid.hex[:12]}@bench.example",
                    f"{role.title()} {sid.hex[:6]}",
                    json.dumps([role]),
                    unit,
                    sup,
                    "qualified",
                    date(2022, 9, 5),
                    "Europe/London",
                    True,
                    1,
                    now,
                    now,
                )
            )

        add_staff(head, "manager", None, None)
        directorate = uuid.uuid4()
        units.append((directorate, org, "Children's services", None, head, 1, now, now))
        services = [uuid.uuid4() for _ in range(4)]
        for n, service in enumerate(services):
            units.append((service, org, f"Service {n}", directorate, None, 1, now, now))
        people: list[Person] = []
        for t in range(TEAMS):
            team = uuid.uuid4()
            service = services[t % len(services)]
            units.append((team, org, f"Team {t}", service, None, 1, now, now))
            supervisor = uuid.uuid4()
            add_staff(supervisor, "supervisor", team, None)
            for _ in range(PRACTITIONERS // TEAMS):
                person = Person(
                    uuid.uuid4(), supervisor, [str(directorate), str(service), str(team)]
                )
                add_staff(person.id, "practitioner", team, supervisor)
                people.append(person)
        for n in range(IDLE_UNITS):
            units.append((uuid.uuid4(), org, f"Idle team {n}", services[n % 4], None, 1, now, now))
        await conn.copy_records_to_table(
            "staff",
            records=[s for s in staff if s[0] == head],
            columns=_STAFF_COLUMNS,
        )
        await conn.copy_records_to_table("units", records=units, columns=_UNIT_COLUMNS)
        await conn.copy_records_to_table(
            "staff", records=[s for s in staff if s[0] != head], columns=_STAFF_COLUMNS
        )
        await conn.execute(
            "INSERT INTO wellbeing_settings (id, organisation_id, k_threshold, share_days,"
            " answers_retention_days, employee_assistance, updated_at)"
            " VALUES ($1, $2, 10, 14, 365, $3, $4)",
            uuid.uuid4(),
            org,
            EAP,
            now,
        )

        # A year of history: (time, person, type, id), sequenced in time order.
        checkins: list[tuple[Any, ...]] = []
        shares: list[tuple[Any, ...]] = []
        notes: list[tuple[Any, ...]] = []
        feed: list[tuple[datetime, uuid.UUID, str, uuid.UUID]] = []
        group = role_group(["practitioner"])
        for p, person in enumerate(people):
            start = now - timedelta(days=365, minutes=p)
            for k in range(104):
                taken = start + timedelta(hours=84 * k)
                cid = uuid.uuid4()
                answers = ANSWERS[(p + k) % len(ANSWERS)]
                body = CheckInCreate(id=cid, instrument="pulse", answers=answers)
                scored = score(instrument, answers)
                checkins.append(
                    (
                        cid,
                        org,
                        person.id,
                        "pulse",
                        instrument.version,
                        instrument.content_hash,
                        json.dumps(answers),
                        json.dumps(scored.scores),
                        json.dumps(scored.bands),
                        scored.band,
                        False,
                        None,
                        request_hash(body),
                        taken,
                        json.dumps(person.unit_path),
                        group,
                        tenure_band(date(2022, 9, 5), taken.date()),
                    )
                )
                if rng.random() < 0.2:
                    shares.append(
                        (
                            uuid.uuid4(),
                            org,
                            cid,
                            person.id,
                            person.supervisor_id,
                            taken,
                            taken + timedelta(days=14),
                            None,
                        )
                    )
                feed.append((taken, person.id, "wellbeing_checkin", cid))
            for k in range(156):
                written = start + timedelta(hours=56 * k, minutes=7)
                notes.append(_note_row(ring, org, person.id, uuid.uuid4(), k, written))
                feed.append((written, person.id, "reflection", notes[-1][0]))
        feed.sort()
        behind = now - timedelta(days=91)
        changes: list[tuple[Any, ...]] = []
        last_behind: dict[uuid.UUID, int] = {}
        for seq, (at, sid, kind, eid) in enumerate(feed, start=1):
            changes.append((uuid.uuid4(), org, sid, kind, eid, "upsert", seq, at))
            if at < behind:
                last_behind[sid] = seq
        seq = len(feed)
        # Notes the update run edits: ten per person, version 1, just written.
        for person in people:
            for k in range(UPDATE_NOTES_PER_PERSON):
                nid = uuid.uuid4()
                notes.append(_note_row(ring, org, person.id, nid, k, now - timedelta(minutes=1)))
                seq += 1
                changes.append(
                    (uuid.uuid4(), org, person.id, "reflection", nid, "upsert", seq, now)
                )
                person.update_notes.append(nid)
            person.token = "Bearer " + tokens.issue(person.id, org, now)
            person.behind_cursor = encode_cursor({"seq": last_behind[person.id]})
        await conn.copy_records_to_table(
            "wellbeing_checkins", records=checkins, columns=_CHECKIN_COLUMNS
        )
        await conn.copy_records_to_table(
            "wellbeing_checkin_shares", records=shares, columns=_SHARE_COLUMNS
        )
        await conn.copy_records_to_table("reflections", records=notes, columns=_NOTE_COLUMNS)
        owned = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = 'changes' AND column_name = 'owned'"
        )
        if owned:  # as record_change writes them now: each reader owns their own entities
            changes = [(*row, True) for row in changes]
        await conn.copy_records_to_table(
            "changes", records=changes, columns=_CHANGE_COLUMNS + (["owned"] if owned else [])
        )
        await conn.execute(
            "INSERT INTO change_counters (organisation_id, last_seq) VALUES ($1, $2)", org, seq
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return World(org, people, now)


def _note_row(
    ring: Any, org: uuid.UUID, author: uuid.UUID, nid: uuid.UUID, k: int, at: datetime
) -> tuple[Any, ...]:
    sealed = seal_json(ring, _note(k), REFLECTIONS_TABLE, nid, CONTENT_COLUMN)
    return (nid, org, author, "gibbs", sealed, None, None, False, 1, at, at, None)


_STAFF_COLUMNS = [
    "id",
    "organisation_id",
    "email",
    "display_name",
    "roles",
    "unit_id",
    "supervisor_id",
    "cohort",
    "started_on",
    "timezone",
    "active",
    "version",
    "created_at",
    "updated_at",
]
_UNIT_COLUMNS = [
    "id",
    "organisation_id",
    "name",
    "parent_id",
    "manager_id",
    "version",
    "created_at",
    "updated_at",
]
_CHECKIN_COLUMNS = [
    "id",
    "organisation_id",
    "staff_id",
    "instrument",
    "instrument_version",
    "content_hash",
    "answers",
    "scores",
    "bands",
    "band",
    "wants_to_talk",
    "talk_supervisor_id",
    "request_hash",
    "taken_at",
    "unit_path",
    "role_group",
    "tenure_band",
]
_SHARE_COLUMNS = [
    "id",
    "organisation_id",
    "checkin_id",
    "owner_id",
    "supervisor_id",
    "shared_at",
    "expires_at",
    "revoked_at",
]
_NOTE_COLUMNS = [
    "id",
    "organisation_id",
    "author_id",
    "template",
    "content",
    "shared_with_id",
    "shared_at",
    "bring_to_supervision",
    "version",
    "created_at",
    "updated_at",
    "deleted_at",
]
_CHANGE_COLUMNS = [
    "id",
    "organisation_id",
    "staff_id",
    "entity_type",
    "entity_id",
    "op",
    "seq",
    "at",
]


async def _fresh_refresh_tokens(world: World, n: int) -> list[str]:
    """`n` unused refresh tokens, each the first of its own sign-in (family)."""
    now = datetime.now(UTC)
    made, rows = [], []
    for i in range(n):
        token = secrets.token_urlsafe(32)
        person = world.people[i % len(world.people)]
        made.append(token)
        rows.append(
            (
                uuid.uuid4(),
                world.org,
                person.id,
                uuid.uuid4(),
                hashlib.sha256(token.encode()).hexdigest(),
                now,
                now + timedelta(days=30),
            )
        )
    conn = await asyncpg.connect(_dsn(DB_NAME))
    try:
        await conn.copy_records_to_table(
            "refresh_tokens",
            records=rows,
            columns=[
                "id",
                "organisation_id",
                "staff_id",
                "family_id",
                "token_hash",
                "created_at",
                "expires_at",
            ],
        )
    finally:
        await conn.close()
    return made


async def _latest_cursors(world: World) -> dict[uuid.UUID, str]:
    conn = await asyncpg.connect(_dsn(DB_NAME))
    try:
        rows = await conn.fetch(
            "SELECT staff_id, max(seq) AS seq FROM changes WHERE organisation_id = $1"
            " GROUP BY staff_id",
            world.org,
        )
    finally:
        await conn.close()
    return {r["staff_id"]: encode_cursor({"seq": r["seq"]}) for r in rows}


async def _note_versions(world: World) -> dict[uuid.UUID, int]:
    ids = [n for p in world.people for n in p.update_notes]
    conn = await asyncpg.connect(_dsn(DB_NAME))
    try:
        rows = await conn.fetch("SELECT id, version FROM reflections WHERE id = ANY($1)", ids)
    finally:
        await conn.close()
    return {r["id"]: r["version"] for r in rows}


# --- the servers ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base: str

    def rss_mb(self) -> float:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(name: str, args: list[str], env: dict[str, str], port: int, probe: str) -> Server:
    log = open(Path(tempfile.gettempdir()) / f"harbour-bench-{name}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited at start; see {log.name}")
        try:
            if httpx.get(base + probe, timeout=1).status_code < 500:
                return Server(name, process, base)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{name} did not start in 60 s; see {log.name}")


# --- wrk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    cpu_ms: float  # the server process's CPU time per request (user + system)
    db_ms: float  # PostgreSQL's, all of its processes (backends, WAL writer, ...), per request


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds() -> float:
    """The CPU time of every process named `postgres` on this machine (the database is on
    loopback: its backends, WAL writer and checkpointer do a request's other half of the
    work on the same two cores), with that of the backends that have exited (the
    postmaster's reaped children)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, _, rest = stat.read_text().rpartition(")")
        except OSError:  # the process has ended
            continue
        if head.endswith("(postgres"):
            fields = rest.split()  # utime, stime, then cutime, cstime (children waited for)
            total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def _settle(pid: int, limit: float = 5.0) -> None:
    """Wait until the server has finished the requests wrk left in flight when it stopped (its
    CPU time stands still for 0.2 s): the next run reads its data (an update's versions) from
    the database, and a write committed after that read would answer 412 there."""
    deadline = time.monotonic() + limit
    last = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = _cpu_seconds(pid)
        if now == last:
            return
        last = now


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def _write_data(path: Path, spec: dict[str, Any]) -> None:
    lines = ["return {"]
    lines.append(f"  method = {_lua_string(spec['method'])},")
    lines.append(f"  threads = {THREADS},")
    lines.append(f"  seed = {random.randrange(1 << 30)},")
    for flag in ("uuid", "version", "refresh"):
        lines.append(f"  {flag} = {'true' if spec.get(flag) else 'false'},")
    headers = ", ".join(
        f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in spec.get("headers", {}).items()
    )
    lines.append(f"  headers = {{{headers}}},")
    lines.append("  entries = {")
    for entry in spec["entries"]:
        parts = [f"path = {_lua_string(entry['path'])}"]
        for key in ("auth", "body", "token"):
            if entry.get(key) is not None:
                parts.append(f"{key} = {_lua_string(entry[key])}")
        if entry.get("version") is not None:
            parts.append(f"version = {int(entry['version'])}")
        lines.append("    {" + ", ".join(parts) + "},")
    lines.append("  },")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def run_wrk(
    server: Server,
    spec: dict[str, Any],
    duration: float,
    connections: int,
    work: Path,
    rss: RssProbe,
    profile: Path | None = None,
) -> Result:
    base = server.base
    data = work / "data.lua"
    _write_data(data, spec)
    pid = server.process.pid
    cpu_before, db_before = _cpu_seconds(pid), _postgres_cpu_seconds()
    rss.active = True
    spy = None
    if profile is not None:
        # py-spy samples the server while wrk drives it (collapsed stacks, for flame graphs).
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(rss.server.process.pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--duration",
                str(int(duration)),
                "--output",
                str(profile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        done = subprocess.run(
            [
                "wrk",
                f"-t{THREADS}",
                f"-c{connections}",
                f"-d{duration:g}s",
                "--timeout",
                "10s",
                "-s",
                str(LUA),
                base,
            ],
            env={**os.environ, "BENCH_DATA": str(data)},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        rss.active = False
        if spy is not None:
            spy.wait()
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[6:])
    cpu = _cpu_seconds(pid) - cpu_before
    db = _postgres_cpu_seconds() - db_before
    _settle(pid)
    return Result(
        cpu_ms=cpu * 1000 / max(1, raw["requests"]),
        db_ms=db * 1000 / max(1, raw["requests"]),
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=raw["status_errors"] + raw["socket_errors"],
        requests=raw["requests"],
    )


class RssProbe(threading.Thread):
    """Samples the Harbour process's resident memory while wrk drives it."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.active = False
        self.peak = 0.0
        self.stopped = False

    def run(self) -> None:
        while not self.stopped:
            if self.active:
                self.peak = max(self.peak, self.server.rss_mb())
            time.sleep(0.25)


# --- the scenarios -------------------------------------------------------------------------

JSON_HEADERS = {"Content-Type": "application/json"}


def _checkin_body(i: int, with_staff: uuid.UUID | None = None, with_id: bool = True) -> str:
    body: dict[str, Any] = {"instrument": "pulse", "answers": ANSWERS[i % len(ANSWERS)]}
    if with_id:
        body = {"id": "@UUID@", **body}
    if with_staff is not None:
        body["staff_id"] = str(with_staff)
    return json.dumps(body)


def _note_body(i: int, with_id: bool) -> str:
    body: dict[str, Any] = {"template": "gibbs", **_note(i)}
    if with_id:
        body = {"id": "@UUID@", **body}
    return json.dumps(body)


async def scenario(name: str, world: World, base: str) -> dict[str, Any]:
    """The wrk spec of one path (the data is read afresh where it moves between runs)."""
    people = world.people
    prefix = "" if base == "yardstick" else "/api/v1"  # the by-hand twins' paths
    if name == "constant":
        return {"method": "GET", "entries": [{"path": "/constant"}] * THREADS}
    if name == "raw insert":
        return {
            "method": "POST",
            "uuid": True,
            "headers": JSON_HEADERS,
            "entries": [
                {"path": "/raw/checkins", "body": _checkin_body(i, p.id)}
                for i, p in enumerate(people)
            ],
        }
    if name == "typical insert":
        return {
            "method": "POST",
            "headers": JSON_HEADERS,
            "entries": [
                {"path": "/typical/checkins", "body": _checkin_body(i, p.id, with_id=False)}
                for i, p in enumerate(people)
            ],
        }
    if name == "check-in create":
        checkins = "/checkins" if base == "yardstick" else "/api/v1/wellbeing/checkins"
        return {
            "method": "POST",
            "uuid": True,
            "headers": JSON_HEADERS,
            "entries": [
                {"path": checkins, "auth": p.token, "body": _checkin_body(i)}
                for i, p in enumerate(people)
            ],
        }
    if name == "reflection create":
        return {
            "method": "POST",
            "uuid": True,
            "headers": JSON_HEADERS,
            "entries": [
                {"path": f"{prefix}/reflections", "auth": p.token, "body": _note_body(i, True)}
                for i, p in enumerate(people)
            ],
        }
    if name == "reflection update":
        versions = await _note_versions(world)
        return {
            "method": "PUT",
            "version": True,
            "headers": JSON_HEADERS,
            "entries": [
                {
                    "path": f"/api/v1/reflections/{note}",
                    "auth": p.token,
                    "body": _note_body(k + 1, False),
                    "version": versions[note],
                }
                for k in range(UPDATE_NOTES_PER_PERSON)
                for p in people
                for note in [p.update_notes[k]]
            ],
        }
    if name == "token refresh":
        tokens = await _fresh_refresh_tokens(world, REFRESH_TOKENS_PER_RUN)
        return {
            "method": "POST",
            "refresh": True,
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "entries": [
                {
                    "path": "/api/v1/auth/token",
                    "body": "grant_type=refresh_token&refresh_token=@TOKEN@",
                    "token": t,
                }
                for t in tokens
            ],
        }
    if name == "GET /me":
        return {
            "method": "GET",
            "entries": [{"path": f"{prefix}/me", "auth": p.token} for p in people],
        }
    if name in ("sync, up to date", "sync, 3 months behind"):
        cursors = (
            await _latest_cursors(world)
            if name == "sync, up to date"
            else {p.id: p.behind_cursor for p in people}
        )
        return {
            "method": "GET",
            "entries": [
                {"path": f"{prefix}/sync?limit=50&cursor={cursors[p.id]}", "auth": p.token}
                for p in people
            ],
        }
    raise ValueError(name)


# Harbour's paths, each with the yardstick its targets compare it to.
PAIRS: list[tuple[str, str | None]] = [
    ("check-in create", "check-in create"),
    ("reflection create", "reflection create"),
    ("reflection update", None),
    ("sync, up to date", "sync, up to date"),
    ("sync, 3 months behind", "sync, 3 months behind"),
    ("GET /me", "GET /me"),
    ("token refresh", None),
]
YARDSTICKS = ["constant", "raw insert", "typical insert"]


async def check_by_hand(world: World, harbour: str, yard: str) -> None:
    """The by-hand routes must answer exactly Harbour's documents, or the ratio means nothing."""
    person = world.people[3]
    async with httpx.AsyncClient(headers={"Authorization": person.token}) as client:
        cursors = await _latest_cursors(world)
        for path in (
            "/me",
            f"/sync?limit=50&cursor={person.behind_cursor}",
            f"/sync?limit=50&cursor={cursors[person.id]}",
        ):
            ours = await client.get(harbour + "/api/v1" + path)
            theirs = await client.get(yard + path)
            assert ours.status_code == theirs.status_code == 200, (path, ours.text, theirs.text)
            if ours.json() != theirs.json():
                raise SystemExit(
                    f"the by-hand {path} differs from Harbour's:\n{ours.text}\n{theirs.text}"
                )
        # A check-in and a note made by hand read back through Harbour exactly as the
        # by-hand routes answered them; Harbour answers the same bodies the same, but for
        # their ids and times.
        for ours_at, theirs_at, sent, moving in (
            ("/wellbeing/checkins", "/checkins", _checkin_body(5), {"id", "taken_at"}),
            (
                "/reflections",
                "/reflections",
                _note_body(5, True),
                {"id", "created_at", "updated_at"},
            ),
        ):
            body = json.loads(sent.replace("@UUID@", str(uuid.uuid4())))
            theirs = await client.post(yard + theirs_at, json=body)
            ours = await client.get(f"{harbour}/api/v1{ours_at}/{body['id']}")
            if theirs.status_code != 201 or ours.json() != theirs.json():
                raise SystemExit(
                    f"a by-hand {ours_at} reads otherwise:\n{theirs.text}\n{ours.text}"
                )
            made = await client.post(
                f"{harbour}/api/v1{ours_at}", json=body | {"id": str(uuid.uuid4())}
            )
            if (
                made.status_code != 201
                or made.headers.get("ETag") != theirs.headers.get("ETag")
                or {k: v for k, v in made.json().items() if k not in moving}
                != {k: v for k, v in theirs.json().items() if k not in moving}
            ):
                raise SystemExit(
                    f"the by-hand {ours_at} create differs:\n{made.text}\n{theirs.text}"
                )
        page = (
            await client.get(f"{harbour}/api/v1/sync?limit=50&cursor={person.behind_cursor}")
        ).json()
        if len(page["changes"]) != 50 or not page["has_more"]:
            raise SystemExit("the page of a phone 3 months behind is not full")


def _fmt(r: Result) -> str:
    return (
        f"{r.rps:>8,.0f} req/s  p50 {r.p50_ms:>7.1f} ms  p99 {r.p99_ms:>7.1f} ms  "
        f"cpu {r.cpu_ms:>5.2f} ms/req  db {r.db_ms:>5.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per path, unreported")
    parser.add_argument("--only", default="", help="path names separated by ';' (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--profile", default="", help="a folder: py-spy samples Harbour in each run (raw stacks)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench-load installs it: apt-get install wrk)")

    key_spec = "bench:" + base64.b64encode(os.urandom(32)).decode()
    secret = "bench-" + secrets.token_hex(24)
    url = f"postgresql+asyncpg://{_dsn(DB_NAME).split('://', 1)[1]}"
    env = {
        **os.environ,
        "HARBOUR_ENV": "production",
        "HARBOUR_DATABASE_URL": url,
        "HARBOUR_SECRET_KEY": secret,
        "HARBOUR_ENCRYPTION_KEYS": key_spec,
        "HARBOUR_SCHEDULER": "off",
        "HARBOUR_ACCESS_TOKEN_MINUTES": "60",
        "BENCH_PG_DSN": _dsn(DB_NAME),
        "BENCH_PSYCOPG_URL": f"postgresql+psycopg://{_dsn(DB_NAME).split('://', 1)[1]}",
    }
    settings = Settings(
        env="production",
        database_url=url,
        secret_key=secret,
        encryption_keys=key_spec,
        scheduler="off",
        access_token_minutes=60,
    )
    asyncio.run(_recreate())
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "alembic"), "upgrade", "head"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    started = time.monotonic()
    world = asyncio.run(seed(settings))
    print(
        f"seeded {len(world.people)} practitioners, a year of history each, "
        f"in {time.monotonic() - started:.1f} s"
    )
    hp, yp = _free_port(), _free_port()
    harbour = _start(
        "harbour",
        [str(bin_dir / "harbour"), "serve", "--host", "127.0.0.1", "--port", str(hp)],
        env,
        hp,
        "/healthz",
    )
    yard = _start(
        "yardstick",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.yardstick_app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(yp),
            "--workers",
            "1",
        ],
        env,
        yp,
        "/constant",
    )
    rss = RssProbe(harbour)
    rss.start()
    only = {s.strip() for s in args.only.split(";") if s.strip()}
    results: dict[tuple[str, str], list[Result]] = {}
    try:
        asyncio.run(check_by_hand(world, harbour.base, yard.base))
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            plan: list[tuple[str, str]] = [("yardstick", y) for y in YARDSTICKS]
            for h, y in PAIRS:
                pair = [("harbour", h)] + ([("yardstick", y)] if y else [])
                plan += pair
            plan = [(s, n) for s, n in plan if not only or n in only]
            print(
                f"load: {os.cpu_count()} cores, {args.connections} connections, "
                f"wrk {THREADS} threads, {args.duration:g} s a run, {args.rounds} rounds; "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            if args.warmup > 0:
                for side, name in plan:
                    server = harbour if side == "harbour" else yard
                    spec = asyncio.run(scenario(name, world, side))
                    run_wrk(server, spec, args.warmup, args.connections, work, rss)
            rss.peak = 0.0
            for rnd in range(args.rounds):
                order = plan if rnd % 2 == 0 else _flip_pairs(plan)
                for side, name in order:
                    server = harbour if side == "harbour" else yard
                    spec = asyncio.run(scenario(name, world, side))
                    profile = None
                    if args.profile and side == "harbour":
                        Path(args.profile).mkdir(parents=True, exist_ok=True)
                        slug = "".join(c if c.isalnum() else "-" for c in name)
                        profile = Path(args.profile) / f"{slug}-round{rnd + 1}.txt"
                    result = run_wrk(
                        server, spec, args.duration, args.connections, work, rss, profile
                    )
                    results.setdefault((side, name), []).append(result)
                    flag = f"  ({result.errors} non-2xx/socket errors)" if result.errors else ""
                    print(
                        f"  round {rnd + 1}  {side:<9} {name:<22} {_fmt(result)}{flag}", flush=True
                    )
        report(results, rss.peak, harbour.rss_mb())
    finally:
        rss.stopped = True
        harbour.stop()
        yard.stop()
        if not args.keep:
            asyncio.run(_drop())


def _flip_pairs(plan: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same runs with each Harbour path and its by-hand yardstick in the other order."""
    flipped: list[tuple[str, str]] = []
    i = 0
    while i < len(plan):
        if (
            i + 1 < len(plan)
            and plan[i][0] == "harbour"
            and plan[i + 1][0] == "yardstick"
            and plan[i + 1][1] == plan[i][1]
        ):
            flipped += [plan[i + 1], plan[i]]
            i += 2
        else:
            flipped.append(plan[i])
            i += 1
    return flipped


def report(results: dict[tuple[str, str], list[Result]], peak: float, final: float) -> None:
    def span(values: list[float], fmt: str) -> str:
        lo, hi = min(values), max(values)
        return fmt.format(lo) if abs(hi - lo) < 1e-9 else f"{fmt.format(lo)}–{fmt.format(hi)}"

    print("\nsummary (range over rounds)")
    print(
        f"  {'path':<34} {'requests/s':>14} {'p50 ms':>12} {'p99 ms':>14} {'p99/p50':>10}"
        f" {'CPU ms/req':>11} {'DB CPU':>11}"
    )
    for (side, name), rs in results.items():
        label = f"{'yardstick' if side == 'yardstick' else 'Harbour'}: {name}"
        print(
            f"  {label:<34} {span([r.rps for r in rs], '{:,.0f}'):>14} "
            f"{span([r.p50_ms for r in rs], '{:.1f}'):>12} "
            f"{span([r.p99_ms for r in rs], '{:.1f}'):>14} "
            f"{span([r.p99_ms / r.p50_ms for r in rs], '{:.1f}x'):>10} "
            f"{span([r.cpu_ms for r in rs], '{:.2f}'):>11} "
            f"{span([r.db_ms for r in rs], '{:.2f}'):>11}"
        )

    def ratio(h: str, y: str, target: float | None, side: str = "harbour") -> None:
        hs, ys = results.get((side, h)), results.get(("yardstick", y))
        if not hs or not ys:
            return
        ratios = [a.rps / b.rps for a, b in zip(hs, ys, strict=False)]
        verdict = ""
        if target is not None:
            verdict = "  meets" if min(ratios) >= target else f"  BELOW target {target}x"
        # Against a path's own twin the yardstick is the same path done by hand.
        label = f"{'by hand: ' if side == 'yardstick' else ''}{h} ÷ {'by hand' if y == h else y}"
        print(f"  {label:<48} {span(ratios, '{:.2f}x'):>14}{verdict}")

    print("\nratios of requests/s (each against the yardstick of the same round)")
    for path in ("check-in create", "reflection create"):
        ratio(path, "raw insert", 0.5)
        ratio(path, "typical insert", 1.5)
    # No target: where Harbour's layers stand against the same create made by hand, and what
    # the create must do (its JWT, body, checks, sealing or scoring, change row) against the
    # raw insert.
    for path in ("check-in create", "reflection create"):
        ratio(path, path, None)
        ratio(path, "raw insert", None, side="yardstick")
    ratio("reflection update", "raw insert", None)
    ratio("token refresh", "raw insert", None)
    for path in ("sync, up to date", "sync, 3 months behind", "GET /me"):
        ratio(path, path, 0.5)
    print(
        f"\nHarbour resident memory: peak {peak:.0f} MB under the load, {final:.0f} MB after "
        f"(target < 200 MB)"
    )


if __name__ == "__main__":
    main()
