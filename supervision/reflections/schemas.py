"""Request and response bodies of reflective notes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)
from pydantic import Field as PydanticField

from models.reflection import ReflectionTemplate
from models.schemas import Request, Scaling, sent_at_most
from supervision.reflections.templates import SCALING_PROMPT, TEMPLATES, ReflectionTag, TagGroup

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), sent_at_most(200)
]
PromptKey = Annotated[str, StringConstraints(max_length=40)]
PromptText = Annotated[str, StringConstraints(max_length=10_000)]
Tags = Annotated[list[ReflectionTag], PydanticField(max_length=len(ReflectionTag))]
Mood = Annotated[int, PydanticField(ge=1, le=5)]


# The same schema as a case discussion's `scaling` (one type for the scaling question).
_SCALING_SCHEMA: dict[str, object] = TypeAdapter(Scaling | None).json_schema()


def _body_schema(*, output: bool = False) -> dict[str, object]:
    """The body's keys as the document states them: each template's prompts (a client
    generates named fields, and an unknown key fails before the server sees it). Every answer
    is text except signs_of_safety's `scaling`, the same Scaling type as a case discussion's."""
    used_by: dict[str, list[str]] = {}
    for template, (_, prompts) in TEMPLATES.items():
        for key, _label in prompts:
            used_by.setdefault(key, []).append(template.value)
    properties: dict[str, object] = {
        key: {
            "type": "string",
            "maxLength": 10_000,
            "description": f"Template(s): {', '.join(templates)}",
        }
        for key, templates in used_by.items()
    }
    properties[SCALING_PROMPT] = _SCALING_SCHEMA
    per_template = "; ".join(
        f"{t.value}: {', '.join(k for k, _ in prompts)}" for t, (_, prompts) in TEMPLATES.items()
    )
    if output:
        return {
            "type": "object",
            "properties": properties,
            # Notes written before a template's prompts were fixed keep their keys.
            "additionalProperties": {"type": "string"},
            "description": f"The answers to the template's prompts, by key ({per_template}).",
        }
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "description": f"The answers to the template's prompts, by key ({per_template}). "
        "A key of another template is refused (422).",
    }


def _no_bool_answers(value: object) -> object:
    """`true` is not an answer (pydantic would take it as the number 1)."""
    if isinstance(value, dict) and any(isinstance(v, bool | float) for v in value.values()):
        raise ValueError("answers are text (and scaling a whole number)")
    return value


NoteBody = Annotated[
    dict[PromptKey, PromptText | int | None],
    BeforeValidator(_no_bool_answers),
    PydanticField(max_length=10),
    WithJsonSchema(_body_schema(), mode="validation"),
]
PublicBody = Annotated[dict[str, str | int | None], WithJsonSchema(_body_schema(output=True))]


def _stored_scaling(value: object) -> str:
    """The scaling answer as it is stored (text, as before issue 17: sealed notes and the
    comparison of a replayed create stay as they were). The Scaling integer is the document's
    form; the old text form ("7", or "" for no answer) is still accepted."""
    if value is None:
        return ""
    if isinstance(value, int) and 0 <= value <= 10:
        return str(value)
    if isinstance(value, str) and (value == "" or (value.strip().isdigit() and int(value) <= 10)):
        return value
    raise ValueError("body.scaling is a whole number from 0 to 10")


def public_body(stored: dict[str, str]) -> dict[str, str | int | None]:
    """A stored body as the API answers it: `scaling` as the Scaling integer (null when not
    answered)."""
    out: dict[str, str | int | None] = dict(stored)
    if SCALING_PROMPT in out:
        text = str(stored[SCALING_PROMPT]).strip()
        out[SCALING_PROMPT] = int(text) if text.isdigit() else None
    return out


class ReflectionWrite(Request):
    template: ReflectionTemplate
    title: Title
    body: NoteBody
    tags: Tags = []
    mood: Mood | None = None

    @model_validator(mode="after")
    def _body_fits_template(self) -> Self:
        prompts = {key for key, _ in TEMPLATES[self.template][1]}
        unknown = sorted(set(self.body) - prompts)
        if unknown:
            raise ValueError(
                f"body has prompts the {self.template.value} template does not: "
                f"{', '.join(unknown)} (expected some of {', '.join(sorted(prompts))})"
            )
        for key, value in self.body.items():
            if key == SCALING_PROMPT:
                self.body[key] = _stored_scaling(value)
            elif not isinstance(value, str):
                raise ValueError(f"body.{key} is text")
        if len(set(self.tags)) != len(self.tags):
            raise ValueError("tags repeat")
        return self

    def content(self) -> dict[str, object]:
        """What is sealed (and what a repeated create is compared on)."""
        return {
            "title": self.title,
            "body": dict(self.body),
            "tags": [t.value for t in self.tags],
            "mood": self.mood,
        }


class ReflectionCreate(ReflectionWrite):
    id: uuid.UUID


class ReflectionUpdate(ReflectionWrite):
    """A whole new version of the note (PUT replaces title, body, tags, mood and template)."""


class ReflectionShare(Request):
    bring_to_supervision: bool = False


class ReflectionPublic(BaseModel):
    id: uuid.UUID
    author_id: uuid.UUID
    template: ReflectionTemplate
    title: str
    body: PublicBody
    tags: list[ReflectionTag]
    mood: int | None
    shared: bool
    bring_to_supervision: bool
    shared_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class ReflectionExport(BaseModel):
    """A note in the personal export; deleted notes appear as tombstones without content."""

    id: uuid.UUID
    template: ReflectionTemplate
    title: str | None
    body: PublicBody | None
    tags: list[ReflectionTag] | None
    mood: int | None
    shared_with_id: uuid.UUID | None
    shared_at: datetime | None
    bring_to_supervision: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class PromptPublic(BaseModel):
    key: str
    label: str


class TemplatePublic(BaseModel):
    id: ReflectionTemplate
    name: str
    prompts: list[PromptPublic]


class TagPublic(BaseModel):
    id: ReflectionTag
    group: TagGroup
    label: str


class TemplateCatalogue(BaseModel):
    templates: list[TemplatePublic]
    tags: list[TagPublic]
    mood_min: int = 1
    mood_max: int = 5


class AgendaReflection(BaseModel):
    """A note brought to supervision, as the agenda lists it: its id and title, never its body."""

    id: uuid.UUID
    title: str
    shared_at: datetime
