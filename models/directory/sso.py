"""Single sign-on settings (admins) and who a verified ID token names.

The organisation behind an ID token is found from its verified issuer and audience (and
tenant) among the configured organisations, never from a claim alone. The person must
already exist and be active: SCIM or an admin makes people; a first sign-in never does
(no just-in-time provisioning: a council's directory, not a token, decides who works here).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models.actor import Actor
from models.base import new_id
from models.crypto import KeyRing, associated_data
from models.directory.identity import (
    SSO_TABLE,
    IdentityAction,
    SsoConfig,
    SubjectClaim,
    record_identity_change,
)
from models.directory.identity_schemas import SsoConfigPublic, SsoConfigPut
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Role, Staff
from models.errors import Forbidden, Invalid, NotFound, PreconditionFailed
from models.etag import content_etag, require_tag

EMAIL_CLAIMS = frozenset({SubjectClaim.email, SubjectClaim.preferred_username, SubjectClaim.upn})


class SsoRefused(Exception):
    """The verified token names nobody who may sign in (the message is safe to show)."""


# --- settings (admins) ---------------------------------------------------------------------


def sso_etag(row: SsoConfig) -> str:
    return content_etag(str(row.id), row.version)


def require_admin(actor: Actor) -> None:
    if not actor.has(Role.admin):
        raise Forbidden("This needs the admin role.")


def _mine(actor: Actor) -> SelectOfScalar[SsoConfig]:
    return select(SsoConfig).where(col(SsoConfig.organisation_id) == actor.organisation_id)


def sso_public(row: SsoConfig, redirect_uri: str) -> SsoConfigPublic:
    return SsoConfigPublic(
        issuer=row.issuer,
        client_id=row.client_id,
        has_client_secret=row.client_secret is not None,
        app_client_ids=list(row.app_client_ids),
        allowed_tenants=list(row.allowed_tenants),
        subject_claim=row.subject_claim,
        roles_claim=row.roles_claim,
        group_roles={k: [Role(r) for r in v] for k, v in row.group_roles.items()},
        unit_attribute=row.unit_attribute,
        unit_map={k: uuid.UUID(v) for k, v in row.unit_map.items()},
        require_sso=row.require_sso,
        redirect_uri=redirect_uri,
    )


async def get_sso_config(session: AsyncSession, actor: Actor) -> SsoConfig:
    require_admin(actor)
    row = (await session.exec(_mine(actor))).first()
    if row is None:
        raise NotFound("Single sign-on is not set up for this organisation.")
    return row


def _issuer_error(message: str) -> Invalid:
    return Invalid(
        f"The issuer {message}.",
        errors=[{"loc": ["body", "issuer"], "msg": message, "type": "value_error"}],
    )


def check_issuer(issuer: str, *, allow_loopback_http: bool) -> str:
    parts = urlsplit(issuer)
    host = parts.hostname or ""
    if parts.query or parts.fragment or "@" in parts.netloc or not host:
        raise _issuer_error("must be a plain https URL (no query, fragment or credentials)")
    loopback = host in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme == "https" or (parts.scheme == "http" and allow_loopback_http and loopback):
        return issuer
    raise _issuer_error("must be an https:// URL")


async def put_sso_config(
    session: AsyncSession,
    actor: Actor,
    ring: KeyRing,
    data: SsoConfigPut,
    if_match: str | None,
    now: datetime,
    *,
    allow_loopback_http: bool,
) -> tuple[SsoConfig, bool]:
    """Create (no If-Match) or replace (If-Match required) the organisation's provider;
    returns the row and whether it was created."""
    require_admin(actor)
    issuer = check_issuer(data.issuer, allow_loopback_http=allow_loopback_http)
    if data.unit_map:
        known = set(
            (
                await session.exec(
                    select(col(Unit.id)).where(
                        col(Unit.organisation_id) == actor.organisation_id,
                        col(Unit.id).in_(list(set(data.unit_map.values()))),
                    )
                )
            ).all()
        )
        unknown = sorted(k for k, v in data.unit_map.items() if v not in known)
        if unknown:
            raise Invalid(
                "unit_map names units that are not this organisation's.",
                errors=[
                    {"loc": ["body", "unit_map", k], "msg": "unknown unit", "type": "value_error"}
                    for k in unknown
                ],
            )
    row = (await session.exec(_mine(actor).with_for_update())).first()
    created = row is None
    if row is None:
        if if_match is not None and if_match.strip():
            raise PreconditionFailed("The settings you read are gone; read again before changing.")
        row = SsoConfig(
            id=new_id(),
            organisation_id=actor.organisation_id,
            issuer=issuer,
            client_id=data.client_id,
            created_at=now,
            updated_at=now,
        )
    else:
        require_tag(if_match, sso_etag(row))
        row.version += 1
        row.updated_at = now
    row.issuer = issuer
    row.client_id = data.client_id
    if "client_secret" in data.model_fields_set:
        row.client_secret = (
            None
            if data.client_secret is None
            else ring.seal(
                data.client_secret.encode(), associated_data(SSO_TABLE, row.id, "client_secret")
            )
        )
    row.app_client_ids = list(dict.fromkeys(data.app_client_ids))
    row.allowed_tenants = list(dict.fromkeys(data.allowed_tenants))
    row.subject_claim = data.subject_claim
    row.roles_claim = data.roles_claim
    row.group_roles = {k: sorted({r.value for r in v}) for k, v in data.group_roles.items()}
    row.unit_attribute = data.unit_attribute
    row.unit_map = {k: str(v) for k, v in data.unit_map.items()}
    row.require_sso = data.require_sso
    session.add(row)
    record_identity_change(
        session,
        actor.organisation_id,
        actor.id,
        IdentityAction.sso_created if created else IdentityAction.sso_replaced,
        row.id,
        now,
    )
    await session.flush()
    return row, created


async def delete_sso_config(session: AsyncSession, actor: Actor, now: datetime) -> None:
    """Turn single sign-on off (password sign-in works again for those who have one)."""
    require_admin(actor)
    result = await session.exec(
        sa.delete(SsoConfig).where(col(SsoConfig.organisation_id) == actor.organisation_id)
    )
    if result.rowcount == 0:
        raise NotFound("Single sign-on is not set up for this organisation.")
    record_identity_change(
        session, actor.organisation_id, actor.id, IdentityAction.sso_deleted, None, now
    )


async def break_glass_disable(session: AsyncSession, organisation: str, now: datetime) -> str:
    """`harbour sso disable --org`: when the identity provider is broken, let the
    organisation's staff sign in with passwords again. The provider's settings stay (so
    single sign-on works again for those who use it once the provider is back); the change
    is recorded in `identity_audit` with no actor (the operator at the console). Answers
    what it did; raises NotFound for an unknown organisation."""
    org_id = (
        await session.exec(
            select(col(Organisation.id)).where(col(Organisation.name) == organisation)
        )
    ).first()
    if org_id is None:
        raise NotFound(f"No organisation called {organisation!r}.")
    row = (
        await session.exec(
            select(SsoConfig).where(col(SsoConfig.organisation_id) == org_id).with_for_update()
        )
    ).first()
    if row is None:
        return f"{organisation!r} has no single sign-on; password sign-in already works."
    if not row.require_sso:
        return f"{organisation!r} already allows password sign-in; nothing changed."
    row.require_sso = False
    row.version += 1
    row.updated_at = now
    session.add(row)
    record_identity_change(session, org_id, None, IdentityAction.sso_break_glass, row.id, now)
    await session.flush()
    return (
        f"{organisation!r} no longer requires single sign-on: password sign-in works again. "
        "Staff without a password ask for a link at /api/v1/auth/password/forgot, or an admin "
        "invites them (POST /api/v1/staff/{id}/invitation). Set require_sso again with "
        "PUT /api/v1/org/sso when the provider is back."
    )


def client_secret(ring: KeyRing, row: SsoConfig) -> str | None:
    if row.client_secret is None:
        return None
    return ring.open(
        row.client_secret, associated_data(SSO_TABLE, row.id, "client_secret")
    ).decode()


# --- sign-in ---------------------------------------------------------------------------------


async def configs_for_issuer(session: AsyncSession, issuer: str) -> Sequence[SsoConfig]:
    """Every organisation's configuration naming `issuer` (several councils may share one,
    e.g. Google's; the audience and tenant then tell them apart)."""
    stmt = select(SsoConfig).where(col(SsoConfig.issuer) == issuer).order_by(col(SsoConfig.id))
    return (await session.exec(stmt)).all()


async def config_for_org(session: AsyncSession, organisation_id: uuid.UUID) -> SsoConfig | None:
    stmt = select(SsoConfig).where(col(SsoConfig.organisation_id) == organisation_id)
    return (await session.exec(stmt)).first()


def roles_for_groups(config: SsoConfig, groups: Sequence[str]) -> list[Role] | None:
    """The roles `groups` map to, or None when the organisation maps no groups."""
    if not config.group_roles:
        return None
    found = {Role(r) for g in groups for r in config.group_roles.get(g, [])}
    return sorted(found or {Role.practitioner})


def unit_for(config: SsoConfig, value: object) -> uuid.UUID | None:
    if not isinstance(value, str) or config.unit_attribute is None:
        return None
    unit = config.unit_map.get(value)
    return uuid.UUID(unit) if unit else None


async def _supervises(session: AsyncSession, staff: Staff) -> bool:
    stmt = select(col(Staff.id)).where(
        col(Staff.organisation_id) == staff.organisation_id, col(Staff.supervisor_id) == staff.id
    )
    return (await session.exec(stmt.limit(1))).first() is not None


async def sso_staff(
    session: AsyncSession, config: SsoConfig, claims: Mapping[str, Any], now: datetime
) -> Staff:
    """The active staff member verified `claims` name, with the configured role and unit
    mappings applied; SsoRefused otherwise."""
    subject = SubjectClaim(config.subject_claim)
    value = claims.get(subject.value)
    if not isinstance(value, str) or not value.strip():
        raise SsoRefused(f"The ID token has no {subject.value} claim.")
    stmt = select(Staff).where(col(Staff.organisation_id) == config.organisation_id)
    if subject in EMAIL_CLAIMS:
        stmt = stmt.where(col(Staff.email) == value.strip().lower())
    else:
        stmt = stmt.where(col(Staff.external_id) == value)
    staff = (await session.exec(stmt.with_for_update())).first()
    if staff is None or not staff.active:
        raise SsoRefused("There is no active Harbour account for this person.")
    changed = False
    groups = claims.get(config.roles_claim)
    if isinstance(groups, list) and all(isinstance(g, str) for g in groups):
        roles = roles_for_groups(config, groups)
        if roles is not None and Role.supervisor not in roles and await _supervises(session, staff):
            roles = sorted({*roles, Role.supervisor})  # whoever supervises keeps the role
        if roles is not None and [r.value for r in roles] != sorted(staff.roles):
            staff.roles = [r.value for r in roles]
            changed = True
    unit_id = unit_for(config, claims.get(config.unit_attribute or ""))
    if unit_id is not None and unit_id != staff.unit_id:
        staff.unit_id = unit_id
        changed = True
    if changed:
        staff.version += 1
        staff.updated_at = now
        session.add(staff)
        await session.flush()
    return staff


async def sso_required(session: AsyncSession, staff: Staff) -> bool:
    """Whether `staff`'s organisation refuses password sign-in."""
    config = await config_for_org(session, staff.organisation_id)
    return config is not None and config.require_sso
