"""Oversight responses cannot carry record text: their only strings are names."""

from __future__ import annotations

from pydantic import BaseModel

from supervision.oversight.schemas import (
    StaffSupervisionRow,
    SupervisionTrend,
    SupervisorOversight,
    TrendMonth,
    UnitRollup,
    UnitSupervisionOversight,
)

ALLOWED_STRINGS = {"display_name", "name", "month"}


def test_oversight_schemas_have_no_free_text_fields() -> None:
    models: list[type[BaseModel]] = [
        StaffSupervisionRow,
        UnitRollup,
        UnitSupervisionOversight,
        SupervisorOversight,
        TrendMonth,
        SupervisionTrend,
    ]
    for model in models:
        for name, info in model.model_fields.items():
            if info.annotation is str:
                assert name in ALLOWED_STRINGS, f"{model.__name__}.{name}"
