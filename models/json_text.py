"""JSON text read as Harbour stores it: JSON columns, sealed values, cursors."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import from_json


def json_loads(text: str | bytes) -> Any:
    """`json.loads`, by pydantic-core's parser: a JSON column's value (a check-in's answers,
    scores and bands, a person's roles) is a small document, where `json.loads`' layers
    of Python cost three times the parse (about 60 values on a sync page). What that
    parser refuses (a lone surrogate escape, which `json.loads` reads) goes to `json.loads`,
    so a stored value reads as it did, or fails as it did."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)
