"""Request and response bodies of reflective notes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, StringConstraints, WithJsonSchema, model_validator
from pydantic import Field as PydanticField

from models.reflection import ReflectionTemplate
from models.schemas import Request
from supervision.reflections.templates import SCALING_PROMPT, TEMPLATES, ReflectionTag, TagGroup

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PromptKey = Annotated[str, StringConstraints(max_length=40)]
PromptText = Annotated[str, StringConstraints(max_length=10_000)]
Tags = Annotated[list[ReflectionTag], PydanticField(max_length=len(ReflectionTag))]
Mood = Annotated[int, PydanticField(ge=1, le=5)]


def _body_schema() -> dict[str, object]:
    """The body's keys as the document states them: each template's prompts (a client
    generates named fields, and an unknown key fails before the server sees it)."""
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
    properties[SCALING_PROMPT] = {
        "type": "string",
        "pattern": "^(|[0-9]|10)$",
        "description": "signs_of_safety: the scaling question, a whole number 0-10 written as "
        'text ("7"), or empty',
    }
    per_template = "; ".join(
        f"{t.value}: {', '.join(k for k, _ in prompts)}" for t, (_, prompts) in TEMPLATES.items()
    )
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "description": f"The answers to the template's prompts, by key ({per_template}). "
        "A key of another template is refused (422).",
    }


NoteBody = Annotated[
    dict[PromptKey, PromptText],
    PydanticField(max_length=10),
    WithJsonSchema(_body_schema(), mode="validation"),
]


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
        scaling = self.body.get(SCALING_PROMPT)
        if self.template is ReflectionTemplate.signs_of_safety and scaling not in (None, ""):
            if scaling is None or not scaling.strip().isdigit() or int(scaling) > 10:
                raise ValueError("body.scaling is a whole number from 0 to 10")
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
    body: dict[str, str]
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
    body: dict[str, str] | None
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
