"""Request and response schemas of supervision agreements (who sees the terms: the two
people in the relationship; everyone else who may see an agreement sees its dates only)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from models.agreement import TERM_TEXT_MAX, AgreementStatus
from models.schemas import Request, sent_at_most
from supervision.schemas import Audience, NoNul, PlausibleDate

TermText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=TERM_TEXT_MAX),
    sent_at_most(TERM_TEXT_MAX),
    NoNul,
]


class AgreementTerms(BaseModel):
    """What the two people agree (Standard 5). A draft may leave texts empty; signing needs
    every one filled in."""

    frequency_days: Annotated[int, Field(ge=1, le=366, description="a session every N days")]
    duration_minutes: Annotated[int, Field(ge=15, le=600)]
    cancellation: TermText = Field(default="", description="what happens when one is cancelled")
    confidentiality: TermText = Field(default="", description="the limits of confidentiality")
    record_keeping: TermText = Field(default="", description="how and where the record is kept")
    disagreements: TermText = Field(default="", description="how disagreements are resolved")
    learning_needs: TermText = Field(default="", description="the supervisee's learning needs")


class AgreementTermsIn(AgreementTerms, Request):
    pass


class AgreementCreate(Request):
    id: uuid.UUID | None = Field(
        default=None, description="Client-generated id: repeating the same create is safe."
    )
    supervisee_id: uuid.UUID = Field(
        description="The supervisee (yourself, if you are the supervisee drafting it); the "
        "supervisor is their line supervisor."
    )
    starts_on: PlausibleDate
    terms: AgreementTermsIn


class AgreementUpdate(Request):
    """A draft's new start date and terms (PUT replaces them; signatures are cleared)."""

    starts_on: PlausibleDate
    terms: AgreementTermsIn


class AgreementSummary(BaseModel):
    """An agreement's dates and signatures: what everyone who may see it sees."""

    id: uuid.UUID
    supervisee_id: uuid.UUID
    supervisor_id: uuid.UUID
    version: int = Field(description='The ETag\'s value: send If-Match: "<version>" to change it')
    number: int = Field(description="the version of the supervisee's agreement: 1, 2, ...")
    status: AgreementStatus
    supersedes_id: uuid.UUID | None
    starts_on: date
    review_due_on: date
    review_overdue: bool = Field(description="in force and its review date has passed")
    drafted_by: uuid.UUID | None
    supervisee_signed_at: datetime | None
    supervisor_signed_at: datetime | None
    in_force_at: datetime | None
    superseded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AgreementPublic(AgreementSummary):
    """One agreement as the caller may see it: `terms` only for the two people in it."""

    access: Audience = Field(description="full: the two people; metadata: everyone else")
    terms: AgreementTerms | None
