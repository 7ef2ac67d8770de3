"""`models.idempotent.new_row` makes the same row as the table's constructor, without it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from models.idempotent import new_row
from models.reflection import Reflection
from models.wellbeing import CheckIn

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _checkin() -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "organisation_id": uuid.uuid4(),
        "staff_id": uuid.uuid4(),
        "instrument": "pulse",
        "instrument_version": 1,
        "content_hash": "0" * 64,
        "answers": {"q1": 3},
        "scores": {"total": 3},
        "bands": {},
        "band": "low",
        "wants_to_talk": False,
        "talk_supervisor_id": None,
        "request_hash": "1" * 64,
        "taken_at": NOW,
        "unit_path": ["a", "b"],
        "role_group": "practitioner",
        "tenure_band": "1-2y",
        "incident_id": None,
    }


def _note() -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "organisation_id": uuid.uuid4(),
        "author_id": uuid.uuid4(),
        "template": "gibbs",
        "content": "sealed",
        "created_at": NOW,
        "updated_at": NOW,
    }


@pytest.mark.parametrize(("table", "values"), [(CheckIn, _checkin()), (Reflection, _note())])
def test_new_row_is_the_constructor_s_row(table: type[SQLModel], values: dict[str, Any]) -> None:
    made = new_row(table, dict(values))
    constructed = table(**values)
    assert type(made) is table
    assert made.model_fields_set == constructed.model_fields_set
    state = sa.inspect(made)
    assert state.transient  # not in a session: `create_once` attaches it
    # The same attributes set (a nullable column with no default, as `shared_at`, on
    # neither: `create_once` commits it as None).
    assert set(state.dict) == set(sa.inspect(constructed).dict)
    assert {k: v for k, v in state.dict.items() if k != "_sa_instance_state"} == {
        k: v for k, v in sa.inspect(constructed).dict.items() if k != "_sa_instance_state"
    }
    # Its defaults are its own, not shared with another row's.
    other = new_row(table, dict(values) | {"id": uuid.uuid4()})
    for name in ("answers", "scores", "bands", "unit_path"):
        if name not in values and hasattr(made, name):
            assert getattr(made, name) is not getattr(other, name)
