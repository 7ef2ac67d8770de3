"""`harbour rotate-keys`: old rows re-sealed under the new key, in batches, readable throughout."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import col, select

from api.cli import _rotate_keys
from models.crypto import SealedColumn, key_id_of, open_json, parse_key_ring, seal_json
from models.db import session_scope
from models.directory.staff import Staff
from models.key_rotation import read_batch, reseal
from models.reflection import Reflection
from supervision.reflections.schemas import ReflectionUpdate
from tests.conftest import TEST_ENCRYPTION_KEYS
from tests.factories.directory import bearer, make_org, make_staff
from tests.factories.reflections import make_reflection, note_body
from tests.factories.supervision import make_session
from tests.harness import Committed

NEW, OLD = TEST_ENCRYPTION_KEYS.split(",")  # "k1:..." seals in the app; "k0:..." is older


async def notes_under_the_old_key(
    committed: Committed, count: int
) -> tuple[Staff, list[uuid.UUID]]:
    old_ring = parse_key_ring(f"{OLD},{NEW}")
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        author = await make_staff(db, org, now=now)
        ids = [
            (await make_reflection(db, old_ring, author, now, title=f"Old {i}")).id
            for i in range(count)
        ]
    return author, ids


async def key_ids(committed: Committed, ids: list[uuid.UUID]) -> list[str]:
    async with committed.sessions() as db:
        rows = (await db.exec(select(Reflection).where(col(Reflection.id).in_(ids)))).all()
    return sorted(key_id_of(r.content) for r in rows if r.content is not None)


async def test_rotation_reseals_every_row_and_the_old_key_can_then_go(
    committed: Committed,
) -> None:
    author, ids = await notes_under_the_old_key(committed, 5)
    assert await key_ids(committed, ids) == ["k0"] * 5
    url = committed.engine.url.render_as_string(hide_password=False)
    settings = committed.settings.model_copy(update={"database_url": url})

    lines = await _rotate_keys(settings, batch_size=2)

    assert await key_ids(committed, ids) == ["k1"] * 5
    [notes] = [line for line in lines if line.startswith("reflections.content: ")]
    assert notes.startswith("reflections.content: re-encrypted 5 ")
    assert "still under older keys" in notes
    assert any(line.startswith("supervision_feedback.comment: ") for line in lines)
    assert lines[-1].startswith("nothing is left under older keys")
    # A server holding only the new key reads every note.
    only_new = committed.settings.model_copy(update={"encryption_keys": SecretStr(NEW)})
    committed.settings = only_new
    app = committed.app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        mine = await client.get("/api/v1/reflections?limit=200", headers=bearer(app, author))
    assert sorted(n["title"] for n in mine.json()["data"]) == [f"Old {i}" for i in range(5)]
    # Running it again finds nothing to do for these rows.
    await _rotate_keys(settings, batch_size=2)
    assert await key_ids(committed, ids) == ["k1"] * 5


async def test_a_row_rewritten_during_rotation_keeps_the_newer_value(
    committed: Committed,
) -> None:
    """The compare-and-set leaves a row rewritten between read and re-seal alone."""
    _, [first, second] = await notes_under_the_old_key(committed, 2)
    ring = parse_key_ring(TEST_ENCRYPTION_KEYS)
    sealed = SealedColumn("reflections", "content")
    async with session_scope(committed.sessions) as db:
        rows = await read_batch(db, sealed, after=None, batch_size=1000)
    rows = [r for r in rows if r[0] in (first, second)]
    # A request rewrites one note (under the primary key) after the job read it.
    async with session_scope(committed.sessions) as db:
        note = (await db.exec(select(Reflection).where(col(Reflection.id) == first))).one()
        fields = {k: v for k, v in note_body(title="Newer").items() if k != "id"}
        update = ReflectionUpdate.model_validate(fields)
        note.content = seal_json(ring, update.content(), "reflections", first, "content")
    async with session_scope(committed.sessions) as db:
        assert await reseal(db, ring, sealed, rows) == 1
    async with committed.sessions() as db:
        kept = (await db.exec(select(Reflection).where(col(Reflection.id) == first))).one()
    assert open_json(ring, kept.content or "", "reflections", first, "content")["title"] == "Newer"
    assert await key_ids(committed, [first, second]) == ["k1", "k1"]


async def test_supervision_record_text_is_rotated_too(committed: Committed) -> None:
    """A record sealed under the old key is re-sealed, and its readers still see the text."""
    old_ring = parse_key_ring(f"{OLD},{NEW}")
    now = committed.clock()
    async with session_scope(committed.sessions) as db:
        org = await make_org(db, now=now)
        committed.track(org)
        supervisor = await make_staff(db, org, now=now)
        supervisee = await make_staff(db, org, supervisor=supervisor, now=now)
        held = await make_session(
            db,
            supervisee,
            supervisor,
            now=now,
            held_on=date(2026, 11, 2),
            ring=old_ring,
            support="An old support section",
        )
    query = sa.text("SELECT support FROM supervision_records WHERE session_id = :sid")
    params = {"sid": held.id.hex if committed.engine.dialect.name == "sqlite" else held.id}

    async def support_key() -> str:
        async with committed.sessions() as db:
            stored: str = (await db.exec(query, params=params)).scalar_one()  # type: ignore[call-overload]
        return key_id_of(stored)

    assert await support_key() == "k0"
    url = committed.engine.url.render_as_string(hide_password=False)
    lines = await _rotate_keys(
        committed.settings.model_copy(update={"database_url": url}), batch_size=2
    )
    assert any(line.startswith("supervision_records.support: re-encrypted ") for line in lines)
    assert await support_key() == "k1"
    committed.settings = committed.settings.model_copy(update={"encryption_keys": SecretStr(NEW)})
    app = committed.app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        read = await client.get(
            f"/api/v1/supervision/sessions/{held.id}", headers=bearer(app, supervisee)
        )
    assert read.json()["record"]["support"] == "An old support section"
