"""The phone's main flows through a client generated from the OpenAPI document only.

openapi-python-client writes a client from `app.openapi()` (once per run, into a temporary
folder, never into git), and the test speaks to the app through it alone: sign in and
refresh, offline-create a reflection and replay it, edit with If-Match, check in (and replay),
the supervisor schedules and records a session, the supervisee signs off, and the sync feed is
read to the end with every change decoded into its own generated class. Anything the document
leaves out (a status, a header, a shape) shows up here as a client that cannot decode it.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from api.app import create_app
from api.settings import Settings
from tests.factories.directory import PASSWORD, now_of
from tests.factories.supervision import make_team

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "harbour_client"


@pytest.fixture(scope="session")
def generated(test_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate the client once; fail on any generator warning (as .ci/clients does)."""
    out = tmp_path_factory.mktemp("client")
    document = out / "openapi.json"
    document.write_text(json.dumps(create_app(test_settings, scheduler=False).openapi()))
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(out / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(ROOT / "clients" / "openapi-python-client.yaml"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        check=False,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert "warning" not in log.lower(), log
    return out


def load(generated: Path, name: str) -> ModuleType:
    if str(generated) not in sys.path:
        sys.path.insert(0, str(generated))
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_the_phone_main_flows_through_the_generated_client(
    generated: Path, app: FastAPI, db: AsyncSession
) -> None:
    hc: Any = load(generated, "client")
    m: Any = load(generated, "models")
    types: Any = load(generated, "types")

    def api(op: str) -> Any:
        return load(generated, f"api.{op}")

    t = await make_team(db, now=now_of(app))
    for person in (t.supervisor, t.supervisee):
        person.password_hash = app.state.passwords.hash(PASSWORD)
    await db.flush()
    transport = httpx.ASGITransport(app=app)
    anonymous = hc.Client(base_url="http://testserver", httpx_args={"transport": transport})

    async def sign_in(email: str) -> Any:
        issued = await api("auth.issue_token").asyncio_detailed(
            client=anonymous,
            body=m.IssueTokenBody(
                grant_type=m.IssueTokenBodyGrantType.PASSWORD, username=email, password=PASSWORD
            ),
        )
        assert issued.status_code == 200, issued.content
        token = issued.parsed
        assert isinstance(token, m.TokenResponse)
        assert token.token_type == "bearer"
        return token

    # Sign in and refresh (the refresh token rotates).
    token = await sign_in(t.supervisee.email)
    refreshed = await api("auth.issue_token").asyncio_detailed(
        client=anonymous,
        body=m.IssueTokenBody(
            grant_type=m.IssueTokenBodyGrantType.REFRESH_TOKEN, refresh_token=token.refresh_token
        ),
    )
    assert isinstance(refreshed.parsed, m.TokenResponse), refreshed.content
    assert refreshed.parsed.refresh_token != token.refresh_token
    reused = await api("auth.issue_token").asyncio_detailed(
        client=anonymous,
        body=m.IssueTokenBody(
            grant_type=m.IssueTokenBodyGrantType.REFRESH_TOKEN, refresh_token=token.refresh_token
        ),
    )
    assert reused.status_code == 400
    assert isinstance(reused.parsed, m.OAuthError)
    assert reused.parsed.error == "invalid_grant"

    def as_user(access_token: str) -> Any:
        return hc.AuthenticatedClient(
            base_url="http://testserver",
            token=access_token,
            httpx_args={"transport": transport},
            raise_on_unexpected_status=True,
        )

    me = as_user(refreshed.parsed.access_token)
    supervisor = as_user((await sign_in(t.supervisor.email)).access_token)

    # Offline-create a reflection under the phone's id, then replay the same create.
    note_id = uuid.uuid4()
    create = m.ReflectionCreate(
        id=note_id,
        template=m.ReflectionTemplate.GIBBS,
        title="A hard visit",
        body=m.ReflectionCreateBody.from_dict({"description": "It went badly."}),
        tags=[m.ReflectionTag.COMPASSION],
        mood=2,
    )
    first = await api("reflections.create_reflection").asyncio_detailed(client=me, body=create)
    assert first.status_code == 201
    assert first.headers["ETag"] == '"1"'
    replay = await api("reflections.create_reflection").asyncio_detailed(client=me, body=create)
    assert replay.status_code == 200
    assert isinstance(replay.parsed, m.ReflectionPublic)
    assert replay.parsed.version == 1

    # Edit with If-Match built from the version the create answered with.
    update = m.ReflectionUpdate(
        template=m.ReflectionTemplate.GIBBS,
        title="A hard visit, later",
        body=m.ReflectionUpdateBody.from_dict({"description": "It went badly; I asked why."}),
    )
    edited = await api("reflections.update_reflection").asyncio_detailed(
        note_id, client=me, body=update, if_match=f'"{replay.parsed.version}"'
    )
    assert edited.status_code == 200
    assert edited.parsed.version == 2
    stale = await api("reflections.update_reflection").asyncio_detailed(
        note_id, client=me, body=update, if_match='"1"'
    )
    assert stale.status_code == 412
    assert isinstance(stale.parsed, m.Problem)

    # Check in offline, then replay.
    checkin = m.CheckInCreate(
        id=uuid.uuid4(),
        instrument=m.InstrumentKey.PULSE,
        # Each instrument's answers are their own class, its items named fields.
        answers=m.PulseAnswers(mood=4, stress=5, exposure=4, supported=2, sleep=3),
    )
    made = await api("wellbeing.create_checkin").asyncio_detailed(client=me, body=checkin)
    assert made.status_code == 201
    again = await api("wellbeing.create_checkin").asyncio_detailed(client=me, body=checkin)
    assert again.status_code == 200
    assert isinstance(again.parsed, m.CheckInPublic)

    # The supervisor schedules and records; the supervisee signs off.
    session_id = uuid.uuid4()
    scheduled = await api("supervision.schedule_supervision_session").asyncio_detailed(
        client=supervisor,
        body=m.SessionCreate(
            id=session_id,
            supervisee_id=t.supervisee.id,
            scheduled_for=now_of(app).replace(hour=8),
            kind=m.SessionKind.ONE_TO_ONE,
        ),
    )
    assert scheduled.status_code == 201, scheduled.content
    assert scheduled.parsed.version == 1
    recorded = await api("supervision.record_supervision_session").asyncio_detailed(
        session_id,
        client=supervisor,
        if_match=f'"{scheduled.parsed.version}"',
        body=m.RecordPut(
            held_at=now_of(app).replace(hour=8, minute=5),
            duration_minutes=60,
            management="Caseload of 18.",
            development="Portfolio.",
            support="A hard week.",
            mediation="None.",
        ),
    )
    assert recorded.status_code == 200, recorded.content
    signed = await api("supervision.sign_off_supervision_session").asyncio_detailed(
        session_id,
        client=me,
        if_match=recorded.headers["ETag"],
        body=m.SignOffRequest(agreed=True),
    )
    assert signed.status_code == 200, signed.content
    assert signed.parsed.status == m.SessionStatus.SIGNED_OFF

    # Read the sync feed to the end; every change decodes into its own class.
    seen: dict[str, set[str]] = {}
    cursor: Any = types.UNSET
    while True:
        page = await api("sync.sync").asyncio_detailed(client=me, cursor=cursor)
        assert isinstance(page.parsed, m.SyncPage), page.content
        for change in page.parsed.changes:
            seen.setdefault(change.type_, set()).add(type(change).__name__)
        cursor = page.parsed.next_cursor
        if not page.parsed.has_more:
            break
    assert seen == {
        "reflection": {"SyncReflection"},
        "wellbeing_checkin": {"SyncCheckIn"},
        "supervision_session": {"SyncSession"},
    }
