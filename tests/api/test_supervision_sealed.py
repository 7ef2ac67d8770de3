"""Supervision record text is sealed at rest, and every reader sees exactly what was written.

The raw tables hold `v1.<kid>.…` values only (no plaintext anywhere); each audience's view,
the case decision export (JSON and CSV), the personal export and the sync feed show the same
text as before sealing; and `harbour rotate-keys` walks every sealed record column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from models.crypto import SEALED_COLUMNS, SealedColumn
from models.supervision import SEALED_RECORD_COLUMNS
from tests.api.test_supervision_sessions import SESSIONS, _record, _recorded, _schedule
from tests.factories.directory import bearer, now_of
from tests.factories.supervision import Team, make_team

COMMENT = "The rota point was mine, not the team's."
ADDENDUM = "Strategy discussion held on 26th."
REASON = "Court hearing ran over"


async def _signed_with_addendum(client: httpx.AsyncClient, app: FastAPI, t: Team) -> dict[str, Any]:
    recorded = await _recorded(client, app, t)
    sid = recorded["id"]
    signed = await client.post(
        f"{SESSIONS}/{sid}/sign-off",
        json={"agreed": False, "comment": COMMENT},
        headers=bearer(app, t.supervisee),
    )
    assert signed.status_code == 200
    added = await client.post(
        f"{SESSIONS}/{sid}/addenda", json={"text": ADDENDUM}, headers=bearer(app, t.supervisor)
    )
    assert added.status_code == 201
    other = await _schedule(client, app, t.supervisor, t.supervisee, "2026-12-01T10:00:00+00:00")
    cancelled = await client.post(
        f"{SESSIONS}/{other.json()['id']}/cancel",
        json={"reason": REASON},
        headers=bearer(app, t.supervisee),
    )
    assert cancelled.status_code == 200
    body: dict[str, Any] = added.json()
    return body


def _plaintexts(t: Team) -> list[str]:
    body = _record(t)
    [case] = body["case_discussions"]
    return [
        *(body[k] for k in ("management", "development", "support", "mediation")),
        *(case[k] for k in ("worried_about", "working_well", "needs_to_happen")),
        *(case[k] for k in ("decision", "rationale")),
        COMMENT,
        ADDENDUM,
        REASON,
    ]


async def test_the_raw_columns_hold_no_plaintext(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    await _signed_with_addendum(client, app, t)
    for table, column in SEALED_RECORD_COLUMNS:
        values = (
            (await db.exec(sa.text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")))  # type: ignore[call-overload]
            .scalars()
            .all()
        )
        assert values, (table, column)
        assert all(v.startswith("v1.k1.") for v in values), (table, column)
    dump = ""
    for table in {table for table, _ in SEALED_RECORD_COLUMNS}:
        rows = (await db.exec(sa.text(f"SELECT * FROM {table}"))).all()  # type: ignore[call-overload]
        dump += " ".join(str(value) for row in rows for value in row)
    for plaintext in _plaintexts(t):
        assert plaintext not in dump
        # Not even a distinctive fragment.
        assert plaintext[:12] not in dump
    # The case reference stays plain: the export selects by it.
    assert "CASE-001" in dump


async def test_every_reader_sees_the_text_that_was_written(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession
) -> None:
    t = await make_team(db, now=now_of(app))
    written = _record(t)
    session = await _signed_with_addendum(client, app, t)
    url = f"{SESSIONS}/{session['id']}"
    expected_record = {
        **{k: written[k] for k in ("management", "development", "support", "mediation")},
        "support_private": True,
        "wellbeing_discussed": True,
        "case_discussions": [
            dict(written["case_discussions"][0]),
        ],
        "recorded_by": str(t.supervisor.id),
        "sign_off_agreed": False,
        "sign_off_comment": COMMENT,
        "support_redacted": False,
    }
    for person in (t.supervisee, t.supervisor):
        seen = (await client.get(url, headers=bearer(app, person))).json()
        assert seen["record"] == expected_record
        assert [a["text"] for a in seen["addenda"]] == [ADDENDUM]
    manager = (await client.get(url, headers=bearer(app, t.manager))).json()
    assert manager["record"] == {**expected_record, "support": None, "support_redacted": True}
    assert [a["text"] for a in manager["addenda"]] == [ADDENDUM]
    admin = (await client.get(url, headers=bearer(app, t.admin))).json()
    assert admin["record"] is None
    assert admin["addenda"] == []
    listed = await client.get(SESSIONS, headers=bearer(app, t.supervisee))
    cancelled = [s for s in listed.json()["data"] if s["status"] == "cancelled"]
    one = await client.get(f"{SESSIONS}/{cancelled[0]['id']}", headers=bearer(app, t.manager))
    assert one.json()["cancelled_reason"] == REASON

    export = await client.get(
        "/api/v1/supervision/cases/CASE-001/decisions", headers=bearer(app, t.supervisor)
    )
    [decision] = export.json()["decisions"]
    assert decision["decision"] == written["case_discussions"][0]["decision"]
    assert decision["rationale"] == written["case_discussions"][0]["rationale"]
    as_csv = await client.get(
        "/api/v1/supervision/cases/CASE-001/decisions.csv", headers=bearer(app, t.manager)
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows[0]["decision"] == written["case_discussions"][0]["decision"]
    assert rows[0]["rationale"] == written["case_discussions"][0]["rationale"]

    mine = (await client.get("/api/v1/me/export", headers=bearer(app, t.supervisee))).json()
    exported = {s["id"]: s for s in mine["supervision_sessions"]}
    assert exported[session["id"]]["record"] == expected_record
    assert exported[cancelled[0]["id"]]["cancelled_reason"] == REASON

    feed = (await client.get("/api/v1/sync?limit=200", headers=bearer(app, t.supervisor))).json()
    synced = {c["id"]: c["data"] for c in feed["changes"] if c["type"] == "supervision_session"}
    assert synced[session["id"]]["record"] == expected_record
    assert [a["text"] for a in synced[session["id"]]["addenda"]] == [ADDENDUM]


def test_rotation_walks_every_sealed_record_column() -> None:
    for table, column in SEALED_RECORD_COLUMNS:
        assert SealedColumn(table, column) in SEALED_COLUMNS
