"""The templates a note is written in and the tags it may carry (the practice framework)."""

from __future__ import annotations

from enum import StrEnum

from models.reflection import ReflectionTemplate


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
