"""The `harbour` command line, run as a real process against a fresh database of each kind."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import create_engine
from tests.conftest import BACKENDS, PG_TEST_DB, pg_url, recreate_pg_database

pytestmark = pytest.mark.slow


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    name = f"{PG_TEST_DB}_cli"
    asyncio.run(recreate_pg_database(name))
    return pg_url(name)


def harbour(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env={
            **os.environ,
            "HARBOUR_DATABASE_URL": database_url,
            "HARBOUR_ARGON2_MEMORY_KIB": "64",
            "HARBOUR_ARGON2_TIME_COST": "1",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def scalar(database_url: str, sql: str) -> object:
    async def run() -> object:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text(sql))).scalar()
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_create_admin_is_idempotent(database_url: str) -> None:
    harbour(database_url, "migrate")
    args = ("create-admin", "--org", "Northshire", "--email", "Admin@North.example")
    first = harbour(database_url, *args, "--password", "a-long-password")
    second = harbour(database_url, *args, "--password", "a-long-password")
    assert "created organisation" in first
    assert "nothing changed" in second
    assert scalar(database_url, "select count(*) from organisations") == 1
    assert scalar(database_url, "select count(*) from staff") == 1
    assert scalar(database_url, "select email from staff") == "admin@north.example"


def test_demo_seeds_a_council_once_and_prints_working_logins(database_url: str) -> None:
    out = harbour(database_url, "demo")
    history = {
        table: scalar(database_url, f"select count(*) from {table}")
        for table in ("supervision_sessions", "reflections", "wellbeing_checkins", "changes")
    }
    again = harbour(database_url, "demo")
    assert out == again
    assert all(isinstance(n, int) and n > 0 for n in history.values()), history
    assert history == {
        table: scalar(database_url, f"select count(*) from {table}") for table in history
    }
    assert "harbour-demo-2026" in out
    assert "a record to sign off" in out  # each login comes with a hint of what to look at
    staff = scalar(database_url, "select count(*) from staff")
    assert isinstance(staff, int)
    assert 55 <= staff <= 70
    assert scalar(database_url, "select count(*) from units") == 10
    assert scalar(database_url, "select count(*) from staff where cohort = 'asye'") == 14
    for role in ("admin", "hr", "director", "ASYE practitioner"):
        assert role in out
    hr_email = next(line.split()[-1] for line in out.splitlines() if line.strip().startswith("hr "))
    roles = scalar(database_url, f"select roles from staff where email = '{hr_email}'")
    assert "hr" in str(roles)


def test_placeholder_secret_is_refused_outside_development(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"],
        env={
            **os.environ,
            "HARBOUR_ENV": "production",
            "HARBOUR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "HARBOUR_SECRET_KEY" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_sweep_at_a_time_is_idempotent(database_url: str) -> None:
    harbour(database_url, "demo")
    # The demo's talk request was notified when it was raised.
    seeded = scalar(database_url, "select count(*) from notifications")
    assert seeded == 1
    first = harbour(database_url, "sweep", "--at", "2026-11-23T09:30:00Z")
    second = harbour(database_url, "sweep", "--at", "2026-11-23T09:30:00Z")
    created = int(first.split(": ")[1].split()[0])
    assert created > 0
    assert second.strip().endswith(": 0 new notification(s)")
    assert scalar(database_url, "select count(*) from notifications") == created + seeded


def test_create_admin_refuses_what_the_api_would(database_url: str) -> None:
    harbour(database_url, "migrate")
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "create-admin", "--org", "Northshire"]
        + ["--email", "not-an-address", "--password", "short"],
        env={**os.environ, "HARBOUR_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "email" in result.stderr
    assert "password" in result.stderr
    assert scalar(database_url, "select count(*) from staff") == 0


def test_sso_disable_breaks_glass_for_one_organisation(database_url: str) -> None:
    from datetime import UTC, datetime

    from sqlmodel import select

    from models.db import create_session_factory, session_scope
    from models.directory.identity import SsoConfig
    from models.directory.organisation import Organisation

    harbour(database_url, "migrate")
    for org in ("Northshire", "Southshire"):
        harbour(
            database_url, "create-admin", "--org", org, "--email", f"admin@{org}.example",
            "--password", "a-long-password",
        )  # fmt: skip

    async def require_sso() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_scope(create_session_factory(engine)) as session:
                now = datetime.now(UTC)
                for org in (await session.exec(select(Organisation))).all():
                    session.add(
                        SsoConfig(
                            organisation_id=org.id,
                            issuer="https://login.example",
                            client_id=org.name,
                            require_sso=True,
                            created_at=now,
                            updated_at=now,
                        )
                    )
        finally:
            await engine.dispose()

    asyncio.run(require_sso())
    said = harbour(database_url, "sso", "disable", "--org", "Northshire")
    assert "password sign-in works again" in said
    assert "nothing changed" in harbour(database_url, "sso", "disable", "--org", "Northshire")
    assert scalar(database_url, "select count(*) from sso_configs where require_sso") == 1
    assert scalar(database_url, "select client_id from sso_configs where require_sso") == (
        "Southshire"
    )
    assert scalar(database_url, "select action from identity_audit") == "sso.break_glass"
    unknown = subprocess.run(
        [sys.executable, "-m", "api.cli", "sso", "disable", "--org", "Nowhere"],
        env={**os.environ, "HARBOUR_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unknown.returncode != 0
    assert "No organisation called 'Nowhere'" in unknown.stderr


def test_publish_backfills_each_period_once(database_url: str) -> None:
    harbour(database_url, "demo")  # the demo publishes its own history
    assert int(str(scalar(database_url, "select count(*) from analytics_budget_ledger"))) > 0
    first = harbour(database_url, "publish", "--backfill-from", "2025-01")
    assert int(first.split()[1]) > 0  # the months and quarters before the demo's history
    again = harbour(database_url, "publish", "--org", "Harbourside Council (demo)")
    assert again.strip() == "Published 0 measure-periods."
