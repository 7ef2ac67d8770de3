"""SCIM 2.0 Users (RFC 7643/7644) over the staff table, scoped to the token's organisation.

Mapping (docs/identity.md): `id` is the staff id; `userName` is kept as given (unique in
the organisation); the primary `emails` value (or an e-mail `userName`) is the sign-in
address; `externalId` is the staff external id (matched by the `oid`/`sub` claim);
`displayName` (or `name.formatted`, or given and family names) the display name; `active`
deactivates (a leaver: sessions, refresh tokens and devices end at once); the enterprise
extension's `manager.value` (a Harbour user id) is the supervisor and `department` the unit
(through the organisation's `unit_map`, else a unit of that exact name). DELETE deactivates
too: records stay under the retention rules, and the user is no longer served.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from scim2_models import (
    Context,
    Email,
    EnterpriseUser,
    Manager,
    Meta,
    PatchOp,
    Schema,
    SCIMException,
    ScimFilter,
    User,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.identity import ScimGroupMember
from models.directory.leavers import end_access
from models.directory.organisation import Unit
from models.directory.service import grant_supervisor_role
from models.directory.sso import config_for_org, unit_for
from models.directory.staff import Role, Staff
from models.schemas import Email as EmailType

ScimUser = User[EnterpriseUser]
USER_ATTRIBUTES = ("userName", "displayName", "active", "emails")
# Read and written (the mapping above), but not announced in /Schemas: values are Harbour's
# units and users, which a generic client cannot make up (docs/identity.md).
ENTERPRISE_ATTRIBUTES: tuple[str, ...] = ()
MAX_PAGE = 200


class ScimError(Exception):
    """An RFC 7644 error: status, optional scimType, detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def user_schema() -> Schema:
    """The User schema as Harbour serves it: only the attributes it keeps."""
    schema = User.to_schema()
    schema.attributes = [a for a in schema.attributes or [] if a.name in USER_ATTRIBUTES]
    return schema


def enterprise_schema() -> Schema:
    schema = EnterpriseUser.to_schema()
    schema.attributes = [a for a in schema.attributes or [] if a.name in ENTERPRISE_ATTRIBUTES]
    return schema


@dataclass(frozen=True)
class Scope:
    organisation_id: uuid.UUID
    base_url: str  # for meta.location


_email = EmailType  # the same rule as the admin API


def _check_email(value: str) -> str:
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(_email).validate_python(value)
    except ValidationError as exc:
        raise ScimError(400, f"{value!r} is not an e-mail address.", "invalidValue") from exc


async def _unit_names(session: AsyncSession, org: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = (
        await session.exec(
            select(col(Unit.id), col(Unit.name)).where(col(Unit.organisation_id) == org)
        )
    ).all()
    return dict(rows)


def to_resource(staff: Staff, scope: Scope, units: dict[uuid.UUID, str]) -> ScimUser:
    enterprise = EnterpriseUser(
        department=units.get(staff.unit_id) if staff.unit_id else None,
        manager=Manager(
            value=str(staff.supervisor_id), ref=f"{scope.base_url}/Users/{staff.supervisor_id}"
        )
        if staff.supervisor_id
        else None,
    )
    user = ScimUser(
        id=str(staff.id),
        external_id=staff.external_id,
        user_name=staff.user_name or staff.email,
        display_name=staff.display_name,
        active=staff.active,
        emails=None
        if staff.email.endswith(PLACEHOLDER_DOMAIN)
        else [Email(value=staff.email, primary=True, type=Email.Type.work)],
        meta=Meta(
            resource_type="User",
            created=staff.created_at,
            last_modified=staff.updated_at,
            location=f"{scope.base_url}/Users/{staff.id}",
            version=f'W/"{staff.version}"',
        ),
    )
    if enterprise.department is not None or enterprise.manager is not None:
        user[EnterpriseUser] = enterprise
    return user


def dump(user: ScimUser, ctx: Context) -> dict[str, Any]:
    return user.model_dump(scim_ctx=ctx)


ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _with_manager_ref(value: Any, base_url: str) -> Any:
    """Entra ID sends `manager` as {"value": id} (or the bare id) without the `$ref` RFC 7643
    asks for: fill it in from the id, so such directories are understood."""
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict) and value.get("value") and not value.get("$ref"):
        value = {**value, "$ref": f"{base_url}/Users/{value['value']}"}
    return value


def tolerant_payload(payload: Any, base_url: str) -> Any:
    if isinstance(payload, dict):
        extension = payload.get(ENTERPRISE_URN)
        if isinstance(extension, dict) and "manager" in extension:
            payload = {
                **payload,
                ENTERPRISE_URN: {
                    **extension,
                    "manager": _with_manager_ref(extension["manager"], base_url),
                },
            }
        operations = payload.get("Operations")
        if isinstance(operations, list):
            fixed = []
            for op in operations:
                if isinstance(op, dict) and str(op.get("path", "")).endswith(":manager"):
                    op = {**op, "value": _with_manager_ref(op.get("value"), base_url)}
                fixed.append(op)
            payload = {**payload, "Operations": fixed}
    return payload


def parse_user(payload: Any, ctx: Context) -> ScimUser:
    try:
        return ScimUser.model_validate(payload, scim_ctx=ctx)
    except (ValidationError, SCIMException) as exc:
        raise ScimError(400, f"The user is not valid: {first_error(exc)}", "invalidValue") from exc


def first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}"
    return str(exc)


def _scoped(scope: Scope) -> Any:
    return select(Staff).where(col(Staff.organisation_id) == scope.organisation_id)


def visible_users(scope: Scope) -> Any:
    """The users SCIM serves: everyone of the organisation but those it deleted (inactive
    with no userName: DELETE deactivates and releases the identifiers)."""
    return _scoped(scope).where(sa.or_(col(Staff.user_name).is_not(None), col(Staff.active)))


async def _find(session: AsyncSession, scope: Scope, user_id: str, *, lock: bool = False) -> Staff:
    try:
        staff_id = uuid.UUID(user_id)
    except ValueError:
        raise ScimError(404, "No such user.") from None
    stmt = visible_users(scope).where(col(Staff.id) == staff_id)
    if lock:
        stmt = stmt.with_for_update()
    staff: Staff | None = (await session.exec(stmt)).first()
    if staff is None:
        raise ScimError(404, "No such user.")
    return staff


async def get_user(session: AsyncSession, scope: Scope, user_id: str) -> ScimUser:
    staff = await _find(session, scope, user_id)
    return to_resource(staff, scope, await _unit_names(session, scope.organisation_id))


def _display_name(user: ScimUser, fallback: str) -> str:
    if user.display_name and user.display_name.strip():
        return user.display_name.strip()[:200]
    if user.name is not None:
        if user.name.formatted:
            return user.name.formatted.strip()[:200]
        parts = [p for p in (user.name.given_name, user.name.family_name) if p]
        if parts:
            return " ".join(parts)[:200]
    return fallback[:200]


PLACEHOLDER_DOMAIN = "@scim.invalid"


def _sign_in_email(user: ScimUser, staff_id: uuid.UUID) -> str:
    emails = user.emails or []
    primary = next((e for e in emails if e.primary), emails[0] if emails else None)
    if primary is not None and primary.value:
        return _check_email(primary.value)
    if user.user_name and "@" in user.user_name:
        return _check_email(user.user_name)
    # No address: a placeholder in the reserved .invalid domain (RFC 2606), never shown. The
    # person can sign in only through single sign-on by `oid`/`sub` until the directory
    # sends an address.
    return f"{staff_id}{PLACEHOLDER_DOMAIN}"


async def _apply(
    session: AsyncSession, scope: Scope, staff: Staff, user: ScimUser, now: datetime
) -> None:
    """Write a full SCIM representation onto `staff` (create and replace)."""
    if not user.user_name or not user.user_name.strip():
        raise ScimError(400, "userName is required.", "invalidValue")
    staff.user_name = user.user_name.strip()[:320]
    email = _sign_in_email(user, staff.id)
    if email != staff.email:
        taken = (await session.exec(select(Staff.id).where(col(Staff.email) == email))).first()
        if taken is not None and taken != staff.id:
            raise ScimError(409, "This e-mail address is in use.", "uniqueness")
        staff.email = email
    staff.external_id = user.external_id[:256] if user.external_id else None
    staff.display_name = _display_name(user, staff.user_name)
    enterprise = user[EnterpriseUser]
    config = await config_for_org(session, scope.organisation_id)
    department = enterprise.department if enterprise else None
    if department:
        unit_id = unit_for(config, department) if config is not None else None
        if unit_id is None:
            unit_id = (
                await session.exec(
                    select(col(Unit.id)).where(
                        col(Unit.organisation_id) == scope.organisation_id,
                        col(Unit.name) == department,
                    )
                )
            ).first()
        if unit_id is None:
            raise ScimError(400, f"No unit matches department {department!r}.", "invalidValue")
        staff.unit_id = unit_id
    else:
        staff.unit_id = None
    manager = enterprise.manager.value if enterprise and enterprise.manager else None
    if manager:
        supervisor = None
        try:
            supervisor_id = uuid.UUID(manager)
        except ValueError:
            supervisor_id = None
        if supervisor_id is not None and supervisor_id != staff.id:
            supervisor = (
                await session.exec(_scoped(scope).where(col(Staff.id) == supervisor_id))
            ).first()
        if supervisor is None:
            raise ScimError(
                400, "manager.value names no user of this organisation.", "invalidValue"
            )
        staff.supervisor_id = supervisor.id
        grant_supervisor_role(supervisor, now)  # whoever supervises holds the role
    else:
        staff.supervisor_id = None
    was_active = staff.active
    staff.active = True if user.active is None else bool(user.active)
    staff.updated_at = now
    if was_active and not staff.active:
        await end_access(session, staff, now)


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ScimError(409, "userName or externalId is already in use.", "uniqueness") from exc


async def create_user(session: AsyncSession, scope: Scope, payload: Any, now: datetime) -> ScimUser:
    user = parse_user(tolerant_payload(payload, scope.base_url), Context.RESOURCE_CREATION_REQUEST)
    exists = (
        await session.exec(
            _scoped(scope).where(col(Staff.user_name) == (user.user_name or "").strip())
        )
    ).first()
    if exists is not None:
        raise ScimError(409, "A user with this userName exists.", "uniqueness")
    staff = Staff(
        id=uuid.uuid4(),
        organisation_id=scope.organisation_id,
        email="",
        display_name="",
        roles=[Role.practitioner.value],
        started_on=now.date(),
        created_at=now,
        updated_at=now,
    )
    await _apply(session, scope, staff, user, now)
    session.add(staff)
    await _flush(session)
    return to_resource(staff, scope, await _unit_names(session, scope.organisation_id))


async def replace_user(
    session: AsyncSession, scope: Scope, user_id: str, payload: Any, now: datetime
) -> ScimUser:
    staff = await _find(session, scope, user_id, lock=True)
    user = parse_user(
        tolerant_payload(payload, scope.base_url), Context.RESOURCE_REPLACEMENT_REQUEST
    )
    await _apply(session, scope, staff, user, now)
    staff.version += 1
    session.add(staff)
    await _flush(session)
    return to_resource(staff, scope, await _unit_names(session, scope.organisation_id))


async def patch_user(
    session: AsyncSession, scope: Scope, user_id: str, payload: Any, now: datetime
) -> ScimUser:
    staff = await _find(session, scope, user_id, lock=True)
    units = await _unit_names(session, scope.organisation_id)
    current = to_resource(staff, scope, units)
    try:
        patch = PatchOp[ScimUser].model_validate(
            tolerant_payload(payload, scope.base_url), scim_ctx=Context.RESOURCE_PATCH_REQUEST
        )
        patch.patch(current)
    except (ValidationError, SCIMException, ValueError, TypeError) as exc:
        raise ScimError(400, f"The patch is not valid: {first_error(exc)}", "invalidValue") from exc
    await _apply(session, scope, staff, current, now)
    staff.version += 1
    session.add(staff)
    await _flush(session)
    return to_resource(staff, scope, await _unit_names(session, scope.organisation_id))


async def delete_user(session: AsyncSession, scope: Scope, user_id: str, now: datetime) -> None:
    """A leaver: deactivated, never hard-deleted; the SCIM resource is gone (404 after)."""
    staff = await _find(session, scope, user_id, lock=True)
    if staff.active:
        await end_access(session, staff, now)
    staff.active = False
    # No longer served, so in no group either (their roles stay as they were).
    await session.exec(
        sa.delete(ScimGroupMember).where(
            col(ScimGroupMember.organisation_id) == staff.organisation_id,
            col(ScimGroupMember.staff_id) == staff.id,
        )
    )
    # Released identifiers, so the directory may provision the same person again later.
    staff.user_name = None
    staff.external_id = None
    staff.version += 1
    staff.updated_at = now
    session.add(staff)
    await session.flush()


def _simple_eq(text: str) -> tuple[str, str] | None:
    """(`userName`|`externalId`|`emails.value`|`id`, value) for `attr eq "value"`, else None."""
    try:
        parsed = ScimFilter[ScimUser](text)
    except (ValueError, SCIMException) as exc:
        raise ScimError(400, f"The filter is not valid: {exc}", "invalidFilter") from exc
    parts = str(parsed).split(" ", 2)
    if len(parts) != 3 or parts[1].lower() != "eq":
        return None
    attr, value = parts[0], parts[2]
    if not (value.startswith('"') and value.endswith('"')) or '"' in value[1:-1]:
        return None
    names = {"username": "userName", "externalid": "externalId", "emails.value": "emails"}
    name = names.get(attr.lower().split(":")[-1])
    return (name, value[1:-1]) if name else None


async def list_users(
    session: AsyncSession,
    scope: Scope,
    *,
    filter_text: str | None,
    start_index: int,
    count: int,
) -> tuple[int, list[ScimUser]]:
    """Users (not deleted: DELETE leaves a deactivated staff row without a userName) matching
    the filter, one page, in a stable order. `userName eq`, `externalId eq` and
    `emails.value eq` run in the database; any other filter is evaluated over the
    organisation's users (slower; identity providers send the former)."""
    stmt = visible_users(scope)
    in_python: ScimFilter[ScimUser] | None = None
    if filter_text:
        simple = _simple_eq(filter_text)
        if simple is not None:
            attr, value = simple
            if attr == "userName":
                stmt = stmt.where(
                    sa.func.lower(sa.func.coalesce(col(Staff.user_name), col(Staff.email)))
                    == value.lower()
                )
            elif attr == "externalId":
                stmt = stmt.where(col(Staff.external_id) == value)
            else:
                stmt = stmt.where(col(Staff.email) == value.strip().lower())
        else:
            try:
                in_python = ScimFilter[ScimUser](filter_text)
            except (ValueError, SCIMException) as exc:
                raise ScimError(400, f"The filter is not valid: {exc}", "invalidFilter") from exc
    units = await _unit_names(session, scope.organisation_id)
    start = max(start_index, 1) - 1
    count = max(0, min(count, MAX_PAGE))
    if in_python is None:
        total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
        page = stmt.order_by(col(Staff.created_at), col(Staff.id)).offset(start).limit(count)
        rows: Sequence[Staff] = (await session.exec(page)).all()
        return int(total), [to_resource(s, scope, units) for s in rows]
    everyone = (await session.exec(stmt.order_by(col(Staff.created_at), col(Staff.id)))).all()
    matching = [u for u in (to_resource(s, scope, units) for s in everyone) if in_python.match(u)]
    return len(matching), matching[start : start + count]
