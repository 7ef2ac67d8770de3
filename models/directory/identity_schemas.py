"""Request and response bodies of council identity: SSO settings, SCIM token, password links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from models.directory.identity import SubjectClaim
from models.directory.staff import Role
from models.schemas import Password, Request, sent_at_most

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), sent_at_most(200)
]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=8, max_length=500), sent_at_most(500)
]
Key = Annotated[str, StringConstraints(min_length=1, max_length=256)]
ClaimName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_:.\-/]+$")
]


class SsoConfigPut(Request):
    issuer: Url
    client_id: Text
    # Write-only. Omitted: the stored secret stays; null: removed (no browser sign-in).
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    app_client_ids: Annotated[list[Text], Field(max_length=10)] = []
    allowed_tenants: Annotated[list[Text], Field(max_length=20)] = []
    subject_claim: SubjectClaim = SubjectClaim.email
    roles_claim: ClaimName = "groups"
    group_roles: Annotated[dict[Key, list[Role]], Field(max_length=200)] = {}
    unit_attribute: ClaimName | None = None
    unit_map: Annotated[dict[Key, uuid.UUID], Field(max_length=2000)] = {}
    require_sso: bool = False


class SsoConfigPublic(BaseModel):
    issuer: str
    client_id: str
    has_client_secret: bool
    app_client_ids: list[str]
    allowed_tenants: list[str]
    subject_claim: SubjectClaim
    roles_claim: str
    group_roles: dict[str, list[Role]]
    unit_attribute: str | None
    unit_map: dict[str, uuid.UUID]
    require_sso: bool
    redirect_uri: str


class ScimTokenPublic(BaseModel):
    created_at: datetime
    created_by: uuid.UUID | None
    last_used_at: datetime | None


class ScimTokenIssued(ScimTokenPublic):
    token: str  # shown this once


class InvitationPublic(BaseModel):
    staff_id: uuid.UUID
    email: str
    expires_at: datetime
    # True: e-mailed to the person (no `url` here). False: no mail server is configured or it
    # refused the message; `url` is for the admin to pass on, privately.
    sent: bool
    url: str | None


class PasswordForgot(Request):
    # Any text: a malformed address gets the same answer as an unknown one.
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]


class PasswordSet(Request):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Password


class Accepted(BaseModel):
    detail: str
