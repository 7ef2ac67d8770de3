"""Tables of council identity: single sign-on settings, web sessions, SCIM tokens and groups,
the single-use links of invitations and password resets, and the identity audit with its one
writer, `record_identity_change` (docs/identity.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import TenantTable, utc_column
from models.crypto import register_sealed_column

SSO_TABLE = "sso_configs"
register_sealed_column(SSO_TABLE, "client_secret")


class SubjectClaim(StrEnum):
    """Which ID token claim names the person, and what it is matched to."""

    email = "email"  # staff e-mail address
    preferred_username = "preferred_username"  # staff e-mail address (Entra: the UPN)
    upn = "upn"  # staff e-mail address
    oid = "oid"  # staff external_id (Entra object id; SCIM externalId)
    sub = "sub"  # staff external_id


class SsoConfig(TenantTable, table=True):
    """An organisation's OpenID Connect provider (at most one)."""

    __tablename__ = SSO_TABLE
    __table_args__ = (
        sa.UniqueConstraint("organisation_id"),
        sa.Index("ix_sso_configs_issuer", "issuer"),
    )

    issuer: str = Field(max_length=500)
    client_id: str = Field(max_length=200)
    # Sealed (models/crypto.py): only the browser sign-in's code exchange needs it.
    client_secret: str | None = Field(default=None, sa_type=sa.Text(), nullable=True)
    # Client ids of the phone app's own registrations, accepted as `aud` in the token exchange
    # besides `client_id` (Entra: the mobile app's registration; docs/identity.md).
    app_client_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    # Entra ID `tid` (or Google Workspace `hd`) values accepted; empty: any the issuer signs.
    allowed_tenants: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    subject_claim: SubjectClaim = Field(default=SubjectClaim.email, sa_type=sa.String(40))
    roles_claim: str = Field(default="groups", max_length=100)
    # Group (id or name, as the provider sends it) -> role names.
    group_roles: dict[str, list[str]] = Field(default_factory=dict, sa_type=sa.JSON())
    # A claim or SCIM attribute whose value names a unit, and value -> unit id.
    unit_attribute: str | None = Field(default=None, max_length=100)
    unit_map: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON())
    require_sso: bool = Field(default=False)
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class SsoLogin(TenantTable, table=True):
    """A browser sign-in in flight: the state, nonce and PKCE verifier sent to the provider.

    Single use (deleted on the callback) and short-lived."""

    __tablename__ = "sso_logins"
    __table_args__ = (sa.Index("ix_sso_logins_org_expires", "organisation_id", "expires_at"),)

    state_hash: str = Field(max_length=64, unique=True)
    nonce: str = Field(max_length=100)
    code_verifier: str = Field(max_length=128)
    return_to: str = Field(default="/", max_length=500)
    created_at: datetime = utc_column()
    expires_at: datetime = utc_column()


class WebSession(TenantTable, table=True):
    """A signed-in browser: the cookie holds a random value, the table its SHA-256."""

    __tablename__ = "web_sessions"
    __table_args__ = (sa.Index("ix_web_sessions_org_staff", "organisation_id", "staff_id"),)

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()
    last_seen_at: datetime = utc_column()
    expires_at: datetime = utc_column()


class ScimToken(TenantTable, table=True):
    """The organisation's SCIM bearer token, stored as its SHA-256 (at most one)."""

    __tablename__ = "scim_tokens"
    __table_args__ = (sa.UniqueConstraint("organisation_id"),)

    token_hash: str = Field(max_length=64, unique=True)
    created_by: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    created_at: datetime = utc_column()
    last_used_at: datetime | None = utc_column(nullable=True)


class ScimGroup(TenantTable, table=True):
    """A group the identity provider pushed; its name maps to roles (SsoConfig.group_roles)."""

    __tablename__ = "scim_groups"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "display_name"),
        sa.Index("ix_scim_groups_org_external", "organisation_id", "external_id"),
    )

    display_name: str = Field(max_length=256)
    external_id: str | None = Field(default=None, max_length=256)
    version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class ScimGroupMember(TenantTable, table=True):
    __tablename__ = "scim_group_members"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "staff_id"),
        sa.Index("ix_scim_group_members_org_staff", "organisation_id", "staff_id"),
    )

    group_id: uuid.UUID = Field(foreign_key="scim_groups.id", ondelete="CASCADE")
    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")


class LinkPurpose(StrEnum):
    invitation = "invitation"
    reset = "reset"


class PasswordLink(TenantTable, table=True):
    """A single-use link to set a password (an invitation or a reset), stored as its SHA-256."""

    __tablename__ = "password_links"
    __table_args__ = (sa.Index("ix_password_links_org_staff", "organisation_id", "staff_id"),)

    staff_id: uuid.UUID = Field(foreign_key="staff.id", ondelete="CASCADE")
    purpose: LinkPurpose = Field(sa_type=sa.String(20))
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()
    expires_at: datetime = utc_column()
    used_at: datetime | None = utc_column(nullable=True)


class IdentityAction(StrEnum):
    """What an `identity_audit` row records, and what its `subject_id` names."""

    sso_created = "sso.created"  # subject: the SSO settings
    sso_replaced = "sso.replaced"  # subject: the SSO settings
    sso_deleted = "sso.deleted"  # no subject
    sso_break_glass = "sso.break_glass"  # no actor (the console); subject: the SSO settings
    scim_token_issued = "scim_token.issued"  # subject: the new token
    scim_token_revoked = "scim_token.revoked"  # no subject
    scim_supervisor_role_kept = "scim.supervisor_role_kept"  # no actor; subject: the person
    invitation_created = "invitation.created"  # subject: the person invited
    password_set = "password.set"  # actor and subject: the person


# What people read for each action (the admin's identity audit page; docs/identity.md).
IDENTITY_ACTION_LABELS: dict[IdentityAction, str] = {
    IdentityAction.sso_created: "Single sign-on set up",
    IdentityAction.sso_replaced: "Single sign-on settings changed",
    IdentityAction.sso_deleted: "Single sign-on switched off",
    IdentityAction.sso_break_glass: "Password sign-in allowed again from the console",
    IdentityAction.scim_token_issued: "SCIM token issued (any earlier one stopped working)",
    IdentityAction.scim_token_revoked: "SCIM token revoked",
    IdentityAction.scim_supervisor_role_kept: "Supervisor role kept by the SCIM sync",
    IdentityAction.invitation_created: "Invitation link issued (to set a password)",
    IdentityAction.password_set: "Password set from an invitation or reset link",
}


class IdentityAudit(TenantTable, table=True):
    """Who changed the organisation's sign-in: SSO settings, the SCIM token, invitations."""

    __tablename__ = "identity_audit"
    __table_args__ = (sa.Index("ix_identity_audit_org_at", "organisation_id", "at"),)

    actor_id: uuid.UUID | None = Field(
        default=None, foreign_key="staff.id", nullable=True, ondelete="SET NULL"
    )
    action: str = Field(max_length=60)  # an IdentityAction
    subject_id: uuid.UUID | None = None
    at: datetime = utc_column()


def record_identity_change(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    action: IdentityAction,
    subject_id: uuid.UUID | None,
    at: datetime,
) -> None:
    """One `identity_audit` row, added to `session` to be written with the change it records
    (every writer of the identity audit comes here: `actor_id` None for the console and the
    SCIM sync; the table under "The identity audit" in docs/identity.md)."""
    session.add(
        IdentityAudit(
            organisation_id=organisation_id,
            actor_id=actor_id,
            action=action,
            subject_id=subject_id,
            at=at,
        )
    )
