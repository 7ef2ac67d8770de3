"""Request and response bodies of the wellbeing API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, NotRequired, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
)
from typing_extensions import TypedDict

from models.analytics.budget import DEFAULT_YEAR_RHO, YEAR_RHO_MAX, YEAR_RHO_MIN
from models.incidents import NOTE_MAX, IncidentCategory
from models.schemas import Request
from models.wellbeing import TalkOutcome, TalkTo
from wellbeing.instruments import Instrument, Scale, current_instruments

ItemId = Annotated[str, StringConstraints(min_length=1, max_length=40)]


def _shape_name(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def _item_type(instrument: Instrument, item_id: str, scale: Scale) -> Any:
    codes = sorted(scale.codes)
    labels = (
        ", ".join(f"{c} {label}" for c, label in zip(scale.codes, scale.labels, strict=True))
        if scale.labels
        else f"{codes[0]} to {codes[-1]}"
    )
    described = Field(description=f"{instrument.key} item {item_id}: {scale.key} scale ({labels})")
    if codes == list(range(codes[0], codes[-1] + 1)):
        return Annotated[int, Field(ge=codes[0], le=codes[-1]), described]
    return Annotated[Literal[tuple(codes)], described]


# Built from the registry at import time (the functional form; mypy sees an untyped factory).
_typed_dict: Any = TypedDict


def _answer_shapes() -> tuple[Any, Any]:
    """The document's types for a check-in's `instrument` and `answers`: an enum of the shipped
    instruments, and per instrument an object of its item ids, each bounded to its scale's codes
    (e.g. `PulseAnswers`), so a generated client refuses an unknown item or an out-of-range
    answer at compile time. For the document only: the server validates as before (the answers
    must fit the instrument named, else 422)."""
    instruments = current_instruments()
    key: Any = StrEnum("InstrumentKey", {i.key: i.key for i in instruments})  # type: ignore[misc]
    key.__doc__ = "An instrument a check-in can use (GET /wellbeing/instruments describes each)."
    shapes = []
    for instrument in instruments:
        fields = {
            item.id: NotRequired[_item_type(instrument, item.id, instrument.scales[item.scale])]
            for item in instrument.items
        }
        shape = _typed_dict(f"{_shape_name(instrument.key)}Answers", fields)
        shape.__doc__ = (
            f"Answers to {instrument.name} (instrument {instrument.key!r}, version "
            f"{instrument.version}): item id to the chosen option's code; unanswered items "
            "are left out."
        )
        shape.__pydantic_config__ = ConfigDict(extra="forbid")
        shapes.append(shape)
    return key, Union[tuple(shapes)]  # noqa: UP007 (a Union of a runtime tuple of types)


InstrumentKey, InstrumentAnswers = _answer_shapes()


def _as_sent(value: Any) -> Any:
    return value


def _per_instrument(schema: dict[str, Any]) -> None:
    # The per-instrument shapes bound the answers; `max_length` (still enforced) would land
    # beside the anyOf as a string's maxLength.
    schema.pop("maxLength", None)


class CheckInCreate(Request):
    id: uuid.UUID
    instrument: Annotated[
        str,
        StringConstraints(min_length=1, max_length=40),
        BeforeValidator(_as_sent, json_schema_input_type=InstrumentKey),
    ]
    answers: Annotated[
        dict[ItemId, StrictInt],
        BeforeValidator(_as_sent, json_schema_input_type=InstrumentAnswers),
        Field(
            max_length=100,
            description="Item id to the chosen option's code, in the shape of the instrument "
            "named (PulseAnswers for pulse, and so on; GET /wellbeing/instruments describes "
            "each); answers that do not fit the instrument are refused (422).",
            json_schema_extra=_per_instrument,
        ),
    ]
    wants_to_talk: bool = False
    # With wants_to_talk: tell the supervisor (a talk request reaches them). Default false:
    # nobody is told without a yes; the answer still offers who else could be asked.
    tell_supervisor: bool = Field(
        default=False,
        description="With wants_to_talk: raise a talk request to my supervisor. Left out: "
        "nobody is told (the answer still lists who I could ask).",
    )
    share_with_supervisor: bool = False
    # A follow-up check-in after a critical incident of yours.
    incident_id: uuid.UUID | None = None


class ShareCreate(Request):
    days: Annotated[int, Field(ge=1, le=90)] | None = None


class Signpost(BaseModel):
    name: str
    contact: str


class CheckInPublic(BaseModel):
    """A check-in as its owner sees it."""

    id: uuid.UUID
    instrument: str
    instrument_version: int
    content_hash: str
    answers: dict[str, int]
    scores: dict[str, float]
    bands: dict[str, str]
    band: str | None
    wants_to_talk: bool
    supervisor_told: bool
    shared_with_supervisor: bool
    share_expires_at: datetime | None
    taken_at: datetime
    incident_id: uuid.UUID | None = None
    signposting: list[Signpost]
    # What the organisation says to someone in this band (editable per instrument band).
    support: str | None = None
    # With wants_to_talk: the talk request this check-in raised (None: nobody was told),
    # and everyone the practitioner could ask (each with whether they are at work today).
    talk_request: MyTalkRequestPublic | None = None
    talk_options: list[TalkOption] = Field(default_factory=list)


class SharedCheckInPublic(BaseModel):
    """A check-in as the supervisor it was shared with sees it (no talk request, no snapshot)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    instrument: str
    instrument_version: int
    answers: dict[str, int]
    scores: dict[str, float]
    bands: dict[str, str]
    band: str | None
    taken_at: datetime
    shared_until: datetime


class TalkRequestCreate(Request):
    """Raise "I'd like to talk" on its own (or from a check-in of yours, to someone else)."""

    id: uuid.UUID
    to: TalkTo = TalkTo.supervisor
    checkin_id: uuid.UUID | None = None


class TalkRequestClose(Request):
    outcome: TalkOutcome


class TalkStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    closed = "closed"


class TalkOption(BaseModel):
    """Someone the practitioner can ask to talk to, and whether they are at work today."""

    to: TalkTo
    staff_id: uuid.UUID
    display_name: str
    available: bool
    # The last day of the leave they are on today (None: at work).
    away_until: date | None


class TalkOptionsPublic(BaseModel):
    options: list[TalkOption]
    signposting: list[Signpost]


class MyTalkRequestPublic(BaseModel):
    """A talk request as the practitioner who raised it sees it: who was told, when it was
    seen, and what else they can do while that person is away."""

    id: uuid.UUID
    to: TalkTo
    recipient_id: uuid.UUID
    recipient_name: str
    recipient_available: bool
    recipient_away_until: date | None
    checkin_id: uuid.UUID | None
    status: TalkStatus
    raised_at: datetime
    notified_at: datetime | None
    seen_at: datetime | None
    acknowledged_at: datetime | None
    closed_at: datetime | None
    outcome: TalkOutcome | None
    # Everyone else the practitioner could send it to instead, and signposting.
    alternatives: list[TalkOption]
    signposting: list[Signpost]


class TalkRequestPublic(BaseModel):
    """A talk request as the person it was sent to sees it: who, when, never answers or
    scores (`checkin_id` only while that check-in is also shared with them)."""

    id: uuid.UUID
    staff_id: uuid.UUID
    display_name: str
    to: TalkTo
    checkin_id: uuid.UUID | None
    status: TalkStatus
    raised_at: datetime
    seen_at: datetime | None
    acknowledged_at: datetime | None
    closed_at: datetime | None
    outcome: TalkOutcome | None


class TrendPoint(BaseModel):
    period_start: date
    checkins: int
    scores: dict[str, float]


class TrendPublic(BaseModel):
    instrument: str
    period: str
    points: list[TrendPoint]


class ScalePublic(BaseModel):
    codes: list[int]
    points: list[float]
    labels: list[str] | None


class ItemPublic(BaseModel):
    id: str
    scale: str
    text: str | None


class BandPublic(BaseModel):
    label: str
    lower: float


class SubscalePublic(BaseModel):
    key: str
    method: str
    items: list[str]
    reverse: list[str]
    min_answered: int
    range: tuple[float, float]
    bands: list[BandPublic]


class InstrumentPublic(BaseModel):
    key: str
    version: int
    name: str
    recall_period: str
    licence: dict[str, str | bool | None]
    content_hash: str
    # False until the organisation imports the licensed wording: no check-ins before then.
    available: bool
    scales: dict[str, ScalePublic]
    items: list[ItemPublic]
    subscales: list[SubscalePublic]
    primary: str
    scoring_note: str | None


class CellPublic(BaseModel):
    """One published figure: `n` and `mean` are the differentially private estimates,
    `interval` (also as `low`, `high`) the mean's 95% interval; all null when suppressed,
    with `reason` saying why in plain words."""

    period: date
    group: str
    label: str
    n: int | None
    mean: float | None
    interval: list[float] | None
    low: float | None
    high: float | None
    suppressed: bool
    reason: str | None


class AggregatePublic(BaseModel):
    k: int
    instrument: str
    measure: str
    period: str
    by: str
    unit_id: uuid.UUID | None
    cells: list[CellPublic]


class IncidentFiguresPublic(BaseModel):
    """Critical incidents per person, as published: in each cell `n` is the published number
    of people in the group (everyone in the period's snapshot, incident or not) and `mean`
    the incidents per person, with its 95% interval."""

    k: int
    measure: str  # "incidents"
    period: str
    by: str
    unit_id: uuid.UUID | None
    cells: list[CellPublic]


class ParticipationCell(BaseModel):
    period: date
    group: str
    label: str
    staff: int | None  # the period's head count (staff, exact)
    participants: int | None  # the published noisy count of people who checked in
    low: int | None  # the participants' 95% interval
    high: int | None
    rate: float | None
    suppressed: bool
    reason: str | None


class ParticipationPublic(BaseModel):
    k: int
    period: str
    by: str
    unit_id: uuid.UUID | None
    cells: list[ParticipationCell]


class WellbeingSettingsPublic(BaseModel):
    k: int
    share_days: int
    answers_retention_days: int
    employee_assistance: str | None
    # Someone besides the supervisor and the unit manager a practitioner may ask to talk to.
    wellbeing_contact_id: uuid.UUID | None = None
    # Days from the first follow-up check-in after an incident to the second.
    incident_follow_up_days: int = 4
    # The anonymised release's privacy budget per person per calendar year (rho, zCDP; null:
    # Harbour's default, `year_rho_in_force`). A change applies to periods not yet published.
    year_rho: float | None = None
    year_rho_in_force: float = DEFAULT_YEAR_RHO


class WellbeingSettingsUpdate(Request):
    k: Annotated[int, Field(ge=5, le=1000)] | None = None
    share_days: Annotated[int, Field(ge=1, le=90)] | None = None
    answers_retention_days: Annotated[int, Field(ge=30, le=3650)] | None = None
    employee_assistance: Annotated[str, StringConstraints(max_length=300)] | None = None
    wellbeing_contact_id: uuid.UUID | None = None
    incident_follow_up_days: Annotated[int, Field(ge=1, le=28)] | None = None
    # rho per person per calendar year, 0.05 to 10; null goes back to the default (0.75).
    year_rho: (
        Annotated[float, Field(ge=YEAR_RHO_MIN, le=YEAR_RHO_MAX, allow_inf_nan=False, strict=True)]
        | None
    ) = None


class SupportTextPublic(BaseModel):
    """What the owner of a check-in in this band of this instrument is told."""

    instrument: str
    band: str
    text: str
    # True while the organisation has not written its own.
    default: bool
    version: int


class SupportTextUpdate(Request):
    text: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class IncidentCreate(Request):
    """That an incident happened: when, what kind; never the case."""

    id: uuid.UUID
    occurred_on: date
    category: IncidentCategory
    # Recording it for a supervisee of yours (they then see it; you see it while you
    # supervise them). Omitted: it is yours.
    staff_id: uuid.UUID | None = None
    # Your own short private note (sealed; only you read it; not when recording for someone).
    note: Annotated[str, StringConstraints(max_length=NOTE_MAX)] | None = None
    share_with_supervisor: bool = False
    # Put "talk about the incident" on your next supervision agenda (needs the share).
    bring_to_supervision: bool = False
    # When to offer the first follow-up check-in (default: the next working morning, 9:00
    # in your zone); the second follows the organisation's `incident_follow_up_days` later.
    follow_up_at: AwareDatetime | None = None
    # `pulse`, or `stss` once the organisation has imported its licensed wording (default:
    # stss when available, else pulse).
    follow_up_instrument: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = (
        None
    )


class IncidentUpdate(Request):
    """The owner's choices (PATCH, If-Match): telling the supervisor, the agenda, timing."""

    share_with_supervisor: bool | None = None
    bring_to_supervision: bool | None = None
    follow_up_at: AwareDatetime | None = None
    note: Annotated[str, StringConstraints(max_length=NOTE_MAX)] | None = None


class FollowUp(BaseModel):
    """One offered follow-up check-in and the check-in that answered it, if any."""

    due_at: datetime
    checkin_id: uuid.UUID | None
    band: str | None


class IncidentPublic(BaseModel):
    """An incident as its owner sees it."""

    id: uuid.UUID
    occurred_on: date
    category: IncidentCategory
    recorded_at: datetime
    recorded_by_supervisor: bool
    note: str | None
    shared_with_supervisor: bool
    bring_to_supervision: bool
    follow_up_instrument: str
    follow_ups: list[FollowUp]
    version: int


class SharedIncidentPublic(BaseModel):
    """An incident as the supervisor it is shared with sees it (no note)."""

    id: uuid.UUID
    staff_id: uuid.UUID
    display_name: str
    occurred_on: date
    category: IncidentCategory
    recorded_at: datetime
    bring_to_supervision: bool
