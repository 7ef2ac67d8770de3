"""Reflective notes: templates, tags, the table (content sealed at rest) and its schemas."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

import sqlalchemy as sa
from pydantic import BaseModel, StringConstraints, model_validator
from pydantic import Field as PydanticField
from sqlmodel import Field

from models.base import TenantTable, utc_column
from models.crypto import register_sealed_column
from models.schemas import Request

REFLECTIONS_TABLE = "reflections"
CONTENT_COLUMN = "content"
RESOURCE_TYPE = "reflection"  # access log and sync feed type
# Sealed JSON of title, body, tags and mood: at most 6 prompts x 10,000 characters, each at
# most 6 bytes as JSON (a control character escaped), base64: ~480k. Tested at the worst case.
SEALED_MAX = 600_000


class ReflectionTemplate(StrEnum):
    free = "free"
    gibbs = "gibbs"
    what_so_what_now_what = "what_so_what_now_what"
    restorative = "restorative"
    signs_of_safety = "signs_of_safety"


class TagGroup(StrEnum):
    value = "value"
    pillar = "pillar"
    approach = "approach"


class ReflectionTag(StrEnum):
    # The six values.
    curiosity = "curiosity"
    compassion = "compassion"
    creativity = "creativity"
    commitment = "commitment"
    collaboration = "collaboration"
    child_centred = "child_centred"
    # The five pillars of practice.
    voice_of_the_child = "voice_of_the_child"
    relationships_networks_communities = "relationships_networks_communities"
    assessment_of_need = "assessment_of_need"
    planning_and_review = "planning_and_review"
    management_and_oversight = "management_and_oversight"
    # The three strengths-based approaches.
    signs_of_safety = "signs_of_safety"
    trauma_informed = "trauma_informed"
    family_focused = "family_focused"


TAG_LABELS: dict[ReflectionTag, tuple[TagGroup, str]] = {
    ReflectionTag.curiosity: (TagGroup.value, "Curiosity"),
    ReflectionTag.compassion: (TagGroup.value, "Compassion"),
    ReflectionTag.creativity: (TagGroup.value, "Creativity"),
    ReflectionTag.commitment: (TagGroup.value, "Commitment"),
    ReflectionTag.collaboration: (TagGroup.value, "Collaboration"),
    ReflectionTag.child_centred: (TagGroup.value, "Child-centred"),
    ReflectionTag.voice_of_the_child: (
        TagGroup.pillar,
        "Voice of the child or young person",
    ),
    ReflectionTag.relationships_networks_communities: (
        TagGroup.pillar,
        "Relationships, networks and communities",
    ),
    ReflectionTag.assessment_of_need: (TagGroup.pillar, "Assessment of need"),
    ReflectionTag.planning_and_review: (
        TagGroup.pillar,
        "Planning and review to achieve outcomes",
    ),
    ReflectionTag.management_and_oversight: (TagGroup.pillar, "Management and oversight"),
    ReflectionTag.signs_of_safety: (
        TagGroup.approach,
        "Signs of Safety, wellbeing and success",
    ),
    ReflectionTag.trauma_informed: (TagGroup.approach, "Trauma informed"),
    ReflectionTag.family_focused: (TagGroup.approach, "Family focused"),
}

SCALING_PROMPT = "scaling"

# Each template's prompts, in order: key -> label shown on the phone.
TEMPLATES: dict[ReflectionTemplate, tuple[str, list[tuple[str, str]]]] = {
    ReflectionTemplate.free: ("Free writing", [("text", "What is on your mind?")]),
    ReflectionTemplate.gibbs: (
        "Gibbs' reflective cycle",
        [
            ("description", "Description: what happened?"),
            ("feelings", "Feelings: what were you thinking and feeling?"),
            ("evaluation", "Evaluation: what was good and bad about the experience?"),
            ("analysis", "Analysis: what sense can you make of the situation?"),
            ("conclusion", "Conclusion: what else could you have done?"),
            ("action_plan", "Action plan: if it arose again, what would you do?"),
        ],
    ),
    ReflectionTemplate.what_so_what_now_what: (
        "What? So what? Now what?",
        [
            ("what", "What happened?"),
            ("so_what", "So what does it mean?"),
            ("now_what", "Now what will you do?"),
        ],
    ),
    ReflectionTemplate.restorative: (
        "Restorative questions",
        [
            ("what_happened", "What happened?"),
            ("thinking", "What were you thinking at the time?"),
            ("affected", "Who has been affected, and in what way?"),
            ("needs_to_happen", "What needs to happen now?"),
        ],
    ),
    ReflectionTemplate.signs_of_safety: (
        "Signs of Safety",
        [
            ("worries", "What are we worried about?"),
            ("working_well", "What's working well?"),
            ("needs_to_happen", "What needs to happen?"),
            (SCALING_PROMPT, "On a scale of 0 to 10, where are we? (a whole number)"),
        ],
    ),
}

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PromptKey = Annotated[str, StringConstraints(max_length=40)]
PromptText = Annotated[str, StringConstraints(max_length=10_000)]
Tags = Annotated[list[ReflectionTag], PydanticField(max_length=len(ReflectionTag))]
Mood = Annotated[int, PydanticField(ge=1, le=5)]


class Reflection(TenantTable, table=True):
    """A reflective note. Title, body, tags and mood are sealed together in `content`;
    a deleted note keeps its id, author and `deleted_at` (the tombstone) and loses its content."""

    __tablename__ = REFLECTIONS_TABLE
    __table_args__ = (
        sa.Index("ix_reflections_org_author_created", "organisation_id", "author_id", "created_at"),
        sa.Index("ix_reflections_org_shared_with", "organisation_id", "shared_with_id"),
    )

    author_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    template: ReflectionTemplate = Field(sa_type=sa.String(40))
    content: str | None = Field(default=None, sa_type=sa.String(SEALED_MAX))
    # Shared with this supervisor (the author's supervisor when shared), while shared.
    shared_with_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    shared_at: datetime | None = utc_column(nullable=True)
    bring_to_supervision: bool = Field(default=False)
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    deleted_at: datetime | None = utc_column(nullable=True)


register_sealed_column(REFLECTIONS_TABLE, CONTENT_COLUMN)


class ReflectionWrite(Request):
    template: ReflectionTemplate
    title: Title
    body: dict[PromptKey, PromptText] = PydanticField(max_length=10)
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
