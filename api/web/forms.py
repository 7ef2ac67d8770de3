"""Turning a submitted form into a request schema, and its errors into a GOV.UK error summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from models.errors import DomainError

S = TypeVar("S", bound=BaseModel)


@dataclass
class FormErrors:
    """Errors by field (beside each input) and in order (the summary at the top)."""

    by_field: dict[str, str] = field(default_factory=dict)
    summary: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str | None, text: str) -> None:
        if name and name not in self.by_field:
            self.by_field[name] = text
        self.summary.append({"href": f"#{name}" if name else "", "text": text})

    def __bool__(self) -> bool:
        return bool(self.summary)


def _message(raw: str, label: str) -> str:
    text = raw.removeprefix("Value error, ")
    return f"{label}: {text[0].lower() + text[1:]}" if text else label


def validate(
    schema: type[S], data: Mapping[str, Any], labels: Mapping[str, str]
) -> tuple[S | None, FormErrors]:
    """`schema` from the form's fields, or the errors in the words of the form's labels."""
    errors = FormErrors()
    try:
        return schema.model_validate(dict(data)), errors
    except ValidationError as exc:
        for e in exc.errors():
            name = str(e["loc"][0]) if e["loc"] else None
            errors.add(name, _message(e["msg"], labels.get(name or "", "This form")))
        return None, errors


def domain_errors(exc: DomainError, labels: Mapping[str, str]) -> FormErrors:
    """A domain refusal (422, 409, 412) as form errors, each field error beside its input."""
    errors = FormErrors()
    for e in exc.errors or []:
        loc = e.get("loc") or []
        name = str(loc[-1]) if loc else e.get("field")
        errors.add(name, _message(str(e.get("msg", "")), labels.get(name or "", "This form")))
    if not errors:
        errors.add(None, exc.detail)
    return errors


def present(form: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The named fields that were filled in (an empty optional field means "not set")."""
    out: dict[str, Any] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            out[name] = value.strip()
    return out
