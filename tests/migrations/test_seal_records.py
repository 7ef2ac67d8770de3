"""Migration 0012_practice_b seals the supervision record text that was stored in plain text.

Rows written under the revision before it (plain text) are sealed in place by the upgrade, with the
key ring `harbour migrate` passes in, and read back unchanged through the domain's views;
the downgrade opens them again. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from migrations import alembic_config
from models.base import UTCDateTime
from models.crypto import key_id_of, parse_key_ring
from models.db import create_engine, create_session_factory
from models.supervision import SEALED_RECORD_COLUMNS, SupervisionSession
from supervision.schemas import Audience
from supervision.session_views import session_public
from tests.conftest import PG_TEST_DB, TEST_ENCRYPTION_KEYS, pg_url, recreate_pg_database

RING = parse_key_ring(TEST_ENCRYPTION_KEYS)
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TEXT = {
    "management": "Caseload of 18.",
    "development": "Portfolio evidence.",
    "support": "The Smith visit was distressing.",
    "mediation": "Duty rota raised.",
    "sign_off_comment": "I disagree about the rota.",
    "worried_about": "Neglect indicators.",
    "working_well": "Grandmother engaged.",
    "needs_to_happen": "Strategy discussion.",
    "decision": "Convene a strategy discussion.",
    "rationale": "Three visits of concern.",
    "text": "An addendum from before sealing.",
    "cancelled_reason": "Court ran over.",
}


def _table(name: str, *columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(name, *columns)


def _at(name: str = "created_at") -> sa.ColumnClause[datetime]:
    return sa.column(name, UTCDateTime())


def _uuid(name: str) -> sa.ColumnClause[uuid.UUID]:
    return sa.column(name, sa.Uuid())


def _text_columns(*names: str) -> list[sa.ColumnClause[str]]:
    return [sa.column(n, sa.String()) for n in names]


async def _url(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'sealing.db'}"
    name = f"{PG_TEST_DB}_sealing"
    await recreate_pg_database(name)
    return pg_url(name)


def _before_sealing() -> str:
    """The revision 0012_practice_b follows (whatever the chain becomes)."""
    script = ScriptDirectory.from_config(alembic_config())
    previous = script.get_revision("0012_practice_b").down_revision
    assert isinstance(previous, str)
    return previous


async def _plaintext_rows(url: str) -> dict[str, uuid.UUID]:
    ids = {k: uuid.uuid4() for k in ("org", "a", "b", "held", "cancelled", "rec", "cd", "add")}
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(_table("organisations", _uuid("id"), sa.column("name"), _at())),
                [{"id": ids["org"], "name": "Old Council", "created_at": NOW}],
            )
            staff = _table(
                "staff",
                _uuid("id"),
                _uuid("organisation_id"),
                *_text_columns("email", "display_name", "cohort", "timezone"),
                sa.column("roles", sa.JSON()),
                sa.column("started_on", sa.Date()),
                sa.column("active", sa.Boolean()),
                sa.column("version", sa.Integer()),
                _at(),
                _at("updated_at"),
            )
            await conn.execute(
                sa.insert(staff),
                [
                    {
                        "id": ids[who],
                        "organisation_id": ids["org"],
                        "email": f"{who}@old.example",
                        "display_name": who,
                        "cohort": "qualified",
                        "timezone": "Europe/London",
                        "roles": ["practitioner"],
                        "started_on": date(2024, 1, 8),
                        "active": True,
                        "version": 1,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for who in ("a", "b")
                ],
            )
            sessions = _table(
                "supervision_sessions",
                _uuid("id"),
                _uuid("organisation_id"),
                _uuid("supervisee_id"),
                _uuid("supervisor_id"),
                *_text_columns("kind", "status", "cancelled_reason"),
                sa.column("scheduled_for", UTCDateTime()),
                sa.column("held_at", UTCDateTime()),
                sa.column("held_on", sa.Date()),
                sa.column("held_minutes", sa.Integer()),
                sa.column("duration_minutes", sa.Integer()),
                sa.column("version", sa.Integer()),
                _at(),
                _at("updated_at"),
            )
            common = {
                "organisation_id": ids["org"],
                "supervisee_id": ids["a"],
                "supervisor_id": ids["b"],
                "kind": "one_to_one",
                "scheduled_for": NOW,
                "duration_minutes": 90,
                "version": 1,
                "created_at": NOW,
                "updated_at": NOW,
            }
            await conn.execute(
                sa.insert(sessions),
                [
                    {
                        **common,
                        "id": ids["held"],
                        "status": "signed_off",
                        "held_at": NOW,
                        "held_on": NOW.date(),
                        "held_minutes": 90,
                        "cancelled_reason": None,
                    },
                    {
                        **common,
                        "id": ids["cancelled"],
                        "status": "cancelled",
                        "held_at": None,
                        "held_on": None,
                        "held_minutes": None,
                        "cancelled_reason": TEXT["cancelled_reason"],
                    },
                ],
            )
            sections = ("management", "development", "support", "mediation", "sign_off_comment")
            records = _table(
                "supervision_records",
                _uuid("id"),
                _uuid("organisation_id"),
                _uuid("session_id"),
                *_text_columns(*sections),
                sa.column("support_private", sa.Boolean()),
                sa.column("wellbeing_discussed", sa.Boolean()),
                sa.column("sign_off_agreed", sa.Boolean()),
            )
            await conn.execute(
                sa.insert(records),
                [
                    {
                        "id": ids["rec"],
                        "organisation_id": ids["org"],
                        "session_id": ids["held"],
                        **{k: TEXT[k] for k in sections},
                        "support_private": True,
                        "wellbeing_discussed": False,
                        "sign_off_agreed": False,
                    }
                ],
            )
            case_texts = ("worried_about", "working_well", "needs_to_happen", "decision")
            discussions = _table(
                "supervision_case_discussions",
                _uuid("id"),
                _uuid("organisation_id"),
                _uuid("session_id"),
                sa.column("position", sa.Integer()),
                sa.column("scaling", sa.Integer()),
                *_text_columns("case_reference", *case_texts, "rationale"),
            )
            await conn.execute(
                sa.insert(discussions),
                [
                    {
                        "id": ids["cd"],
                        "organisation_id": ids["org"],
                        "session_id": ids["held"],
                        "position": 0,
                        "scaling": 5,
                        "case_reference": "OLD-1",
                        **{k: TEXT[k] for k in (*case_texts, "rationale")},
                    }
                ],
            )
            addenda = _table(
                "supervision_addenda",
                _uuid("id"),
                _uuid("organisation_id"),
                _uuid("session_id"),
                _uuid("author_id"),
                sa.column("text", sa.String()),
                _at(),
            )
            await conn.execute(
                sa.insert(addenda),
                [
                    {
                        "id": ids["add"],
                        "organisation_id": ids["org"],
                        "session_id": ids["held"],
                        "author_id": ids["b"],
                        "text": TEXT["text"],
                        "created_at": NOW,
                    }
                ],
            )
    finally:
        await engine.dispose()
    return ids


async def _raw(url: str) -> dict[str, str]:
    """Every value of the sealed columns, by column name (one row each here)."""
    engine = create_engine(url, pool_size=1)
    found: dict[str, str] = {}
    try:
        async with engine.connect() as conn:
            for table, column in SEALED_RECORD_COLUMNS:
                stmt = sa.select(sa.column(column, sa.String())).select_from(sa.table(table))
                for value in (await conn.execute(stmt)).scalars():
                    if value is not None:
                        found[column] = value
    finally:
        await engine.dispose()
    return found


async def test_the_upgrade_seals_old_plaintext_and_the_downgrade_opens_it(
    backend: str, tmp_path: Path
) -> None:
    url = await _url(backend, tmp_path)
    before = _before_sealing()
    await asyncio.to_thread(command.upgrade, alembic_config(url), before)
    ids = await _plaintext_rows(url)
    assert await _raw(url) == TEXT

    await asyncio.to_thread(command.upgrade, alembic_config(url, RING), "head")

    sealed = await _raw(url)
    assert set(sealed) == set(TEXT)
    for column, value in sealed.items():
        assert key_id_of(value) == "k1", column
        assert TEXT[column] not in value
    engine = create_engine(url, pool_size=1)
    try:
        async with create_session_factory(engine)() as db:
            held = await db.get(SupervisionSession, ids["held"])
            cancelled = await db.get(SupervisionSession, ids["cancelled"])
            assert held is not None
            assert cancelled is not None
            view = await session_public(db, RING, held, Audience.full)
            manager_view = await session_public(db, RING, held, Audience.management)
            cancelled_view = await session_public(db, RING, cancelled, Audience.full)
    finally:
        await engine.dispose()
    assert view.record is not None
    assert {k: getattr(view.record, k) for k in ("management", "development", "support")} == {
        k: TEXT[k] for k in ("management", "development", "support")
    }
    assert view.record.mediation == TEXT["mediation"]
    assert view.record.sign_off_comment == TEXT["sign_off_comment"]
    [case] = view.record.case_discussions
    assert case.case_reference == "OLD-1"
    assert (case.worried_about, case.working_well, case.needs_to_happen) == (
        TEXT["worried_about"],
        TEXT["working_well"],
        TEXT["needs_to_happen"],
    )
    assert (case.decision, case.rationale) == (TEXT["decision"], TEXT["rationale"])
    assert [a.text for a in view.addenda] == [TEXT["text"]]
    assert manager_view.record is not None
    assert manager_view.record.support is None  # still private to the supervision
    assert cancelled_view.cancelled_reason == TEXT["cancelled_reason"]

    await asyncio.to_thread(command.downgrade, alembic_config(url, RING), before)
    assert await _raw(url) == TEXT
