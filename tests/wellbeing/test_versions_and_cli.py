"""A new instrument version leaves old check-ins as scored; the wording import command."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from api.cli import main
from api.settings import Settings
from tests.factories.directory import bearer, make_org, make_staff, now_of
from tests.factories.wellbeing import pulse_answers
from wellbeing import instruments
from wellbeing.instruments import Instrument, parse


def _pulse_v2() -> Instrument:
    raw = json.loads(
        (Path(instruments.__file__).parent / "definitions" / "pulse.v1.json").read_text()
    )
    raw["version"] = 2
    raw["subscales"][0]["reverse"] = ["stress"]  # exposure no longer reversed
    return parse(raw)


async def test_new_version_leaves_old_checkins_scored_as_taken(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = now_of(app)
    me = await make_staff(db, await make_org(db, now=now), now=now)
    answers = pulse_answers(12)
    first = await client.post(
        "/api/v1/wellbeing/checkins",
        json={
            "id": "11111111-1111-4111-8111-111111111111",
            "instrument": "pulse",
            "answers": answers,
        },
        headers=bearer(app, me),
    )
    assert first.json()["instrument_version"] == 1
    v1 = instruments.registry()[("pulse", 1)]
    v2 = _pulse_v2()
    assert v2.content_hash != v1.content_hash
    monkeypatch.setattr(instruments, "registry", lambda: {("pulse", 1): v1, ("pulse", 2): v2})
    second = await client.post(
        "/api/v1/wellbeing/checkins",
        json={
            "id": "22222222-2222-4222-8222-222222222222",
            "instrument": "pulse",
            "answers": answers,
        },
        headers=bearer(app, me),
    )
    assert second.status_code == 201
    assert second.json()["instrument_version"] == 2
    assert second.json()["content_hash"] == v2.content_hash
    # exposure is answered 5 in pulse_answers(12): reversed it scored 1, now it scores 5.
    assert answers["exposure"] == 5
    assert second.json()["scores"]["wellbeing"] == 16
    mine = await client.get("/api/v1/wellbeing/checkins", headers=bearer(app, me))
    old = next(c for c in mine.json()["data"] if c["id"] == first.json()["id"])
    assert (old["instrument_version"], old["scores"]["wellbeing"]) == (1, 12)
    assert old["content_hash"] == v1.content_hash
    listed = await client.get("/api/v1/wellbeing/instruments", headers=bearer(app, me))
    assert next(i for i in listed.json()["data"] if i["key"] == "pulse")["version"] == 2


def test_instruments_import_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARBOUR_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    monkeypatch.setattr("api.cli.get_settings", lambda: Settings())
    main(["migrate"])
    main(
        [
            "create-admin",
            "--org",
            "Licence Council",
            "--email",
            "a@lc.example",
            "--password",
            "a-long-enough-password",
        ]
    )
    wording = tmp_path / "proqol.json"
    wording.write_text(
        json.dumps(
            {
                "instrument": "proqol5",
                "version": 1,
                "items": {str(i): f"Licensed item {i}" for i in range(1, 31)},
                "scale_labels": {"frequency": ["a", "b", "c", "d", "e"]},
            }
        )
    )
    with pytest.raises(SystemExit, match="no organisation"):
        main(["instruments", "import", str(wording), "--org", "Nobody", "--attest", "We hold it."])
    with pytest.raises(SystemExit, match="attestation"):
        main(["instruments", "import", str(wording), "--org", "Licence Council", "--attest", "x"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"instrument": "proqol5", "version": 1, "items": {"1": "only one"}}))
    with pytest.raises(SystemExit, match="does not fit"):
        main(
            [
                "instruments",
                "import",
                str(bad),
                "--org",
                "Licence Council",
                "--attest",
                "Licence ref 42",
            ]
        )
    capsys.readouterr()
    main(
        [
            "instruments",
            "import",
            str(wording),
            "--org",
            "Licence Council",
            "--attest",
            "ProQOL.org terms accepted, ref 42",
        ]
    )
    assert "imported wording for proqol5 version 1" in capsys.readouterr().out
