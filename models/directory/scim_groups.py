"""SCIM 2.0 Groups (RFC 7643 4.2, RFC 7644) mapped to roles, scoped to the token's
organisation.

A group is kept as the directory sends it (`scim_groups`, `scim_group_members`). Its roles
come from the organisation's single sign-on settings (`group_roles`: a group's displayName
or externalId -> roles), the same mapping the ID token's groups claim uses at sign-in, so
both agree. When the organisation maps groups, every change of membership recomputes the
roles of the people it touches: the roles of all their groups, practitioner if none. With
no mapping, groups are kept and roles are left to admins.

One rule beats the directory: whoever is named as someone's supervisor keeps the
supervisor role (what supervisees send them needs it; docs/identity.md). A sync that would
take it away keeps it, records `scim.supervisor_role_kept` in `identity_audit` and logs a
warning, so an admin can give the supervisees another supervisor first.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from scim2_models import (
    Context,
    Group,
    GroupMember,
    Meta,
    PatchOp,
    Schema,
    SCIMException,
    ScimFilter,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.identity import (
    IdentityAction,
    ScimGroup,
    ScimGroupMember,
    record_identity_change,
)
from models.directory.scim import MAX_PAGE, ScimError, Scope, first_error, visible_users
from models.directory.sso import config_for_org, roles_for_groups
from models.directory.staff import Role, Staff

log = logging.getLogger("harbour.scim")
NO_SUCH_MEMBER = "A member names no user of this organisation."


def group_schema() -> Schema:
    return Group.to_schema()


# --- reading ---------------------------------------------------------------------------------


def _groups(scope: Scope) -> Any:
    return select(ScimGroup).where(col(ScimGroup.organisation_id) == scope.organisation_id)


async def _find(
    session: AsyncSession, scope: Scope, group_id: str, *, lock: bool = False
) -> ScimGroup:
    try:
        found_id = uuid.UUID(group_id)
    except ValueError:
        raise ScimError(404, "No such group.") from None
    stmt = _groups(scope).where(col(ScimGroup.id) == found_id)
    if lock:
        stmt = stmt.with_for_update()
    group: ScimGroup | None = (await session.exec(stmt)).first()
    if group is None:
        raise ScimError(404, "No such group.")
    return group


async def _members(
    session: AsyncSession, scope: Scope, group_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """Each group's members (id, display name), in a stable order."""
    if not group_ids:
        return {}
    rows = (
        await session.exec(
            select(col(ScimGroupMember.group_id), col(Staff.id), col(Staff.display_name))
            .join(
                Staff,
                sa.and_(
                    col(Staff.id) == col(ScimGroupMember.staff_id),
                    col(Staff.organisation_id) == col(ScimGroupMember.organisation_id),
                ),
            )
            .where(
                col(ScimGroupMember.organisation_id) == scope.organisation_id,
                col(ScimGroupMember.group_id).in_(list(group_ids)),
            )
            .order_by(col(Staff.display_name), col(Staff.id))
        )
    ).all()
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    for group_id, staff_id, name in rows:
        out[group_id].append((staff_id, name))
    return out


def to_resource(group: ScimGroup, members: list[tuple[uuid.UUID, str]], scope: Scope) -> Group:
    return Group(
        id=str(group.id),
        external_id=group.external_id,
        display_name=group.display_name,
        members=[
            GroupMember(
                value=str(staff_id),
                ref=f"{scope.base_url}/Users/{staff_id}",
                type="User",
                display=name,
            )
            for staff_id, name in members
        ]
        or None,
        meta=Meta(
            resource_type="Group",
            created=group.created_at,
            last_modified=group.updated_at,
            location=f"{scope.base_url}/Groups/{group.id}",
            version=f'W/"{group.version}"',
        ),
    )


async def _view(session: AsyncSession, scope: Scope, group: ScimGroup) -> Group:
    members = await _members(session, scope, [group.id])
    return to_resource(group, members.get(group.id, []), scope)


async def get_group(session: AsyncSession, scope: Scope, group_id: str) -> Group:
    return await _view(session, scope, await _find(session, scope, group_id))


def _simple_eq(text: str) -> tuple[str, str] | None:
    try:
        parsed = ScimFilter[Group](text)
    except (ValueError, SCIMException) as exc:
        raise ScimError(400, f"The filter is not valid: {exc}", "invalidFilter") from exc
    parts = str(parsed).split(" ", 2)
    if len(parts) != 3 or parts[1].lower() != "eq":
        return None
    attr, value = parts[0].lower().split(":")[-1], parts[2]
    if not (value.startswith('"') and value.endswith('"')) or '"' in value[1:-1]:
        return None
    if attr not in {"displayname", "externalid"}:
        return None
    return attr, value[1:-1]


async def list_groups(
    session: AsyncSession,
    scope: Scope,
    *,
    filter_text: str | None,
    start_index: int,
    count: int,
) -> tuple[int, list[Group]]:
    """Groups matching the filter, one page, in a stable order. `displayName eq` (Entra and
    Okta look a group up by it, case-insensitively per RFC 7643) and `externalId eq` run in
    the database; any other filter is evaluated over the organisation's groups."""
    stmt = _groups(scope)
    in_python: ScimFilter[Group] | None = None
    if filter_text:
        simple = _simple_eq(filter_text)
        if simple is not None:
            attr, value = simple
            if attr == "displayname":
                stmt = stmt.where(func.lower(col(ScimGroup.display_name)) == value.lower())
            else:
                stmt = stmt.where(col(ScimGroup.external_id) == value)
        else:
            try:
                in_python = ScimFilter[Group](filter_text)
            except (ValueError, SCIMException) as exc:
                raise ScimError(400, f"The filter is not valid: {exc}", "invalidFilter") from exc
    start = max(start_index, 1) - 1
    count = max(0, min(count, MAX_PAGE))
    ordered = stmt.order_by(col(ScimGroup.created_at), col(ScimGroup.id))
    if in_python is None:
        total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
        rows: Sequence[ScimGroup] = (await session.exec(ordered.offset(start).limit(count))).all()
        members = await _members(session, scope, [g.id for g in rows])
        return int(total), [to_resource(g, members.get(g.id, []), scope) for g in rows]
    everyone = (await session.exec(ordered)).all()
    members = await _members(session, scope, [g.id for g in everyone])
    matching = [
        r
        for r in (to_resource(g, members.get(g.id, []), scope) for g in everyone)
        if in_python.match(r)
    ]
    return len(matching), matching[start : start + count]


# --- writing ---------------------------------------------------------------------------------


def _parse(payload: Any, ctx: Context) -> Group:
    try:
        return Group.model_validate(payload, scim_ctx=ctx)
    except (ValidationError, SCIMException) as exc:
        raise ScimError(400, f"The group is not valid: {first_error(exc)}", "invalidValue") from exc


async def _member_ids(
    session: AsyncSession, scope: Scope, members: Iterable[GroupMember] | None
) -> set[uuid.UUID]:
    """The staff ids `members` name: users of this organisation SCIM serves (nested groups
    are not supported: a member of type Group, or an unknown id, is refused)."""
    wanted: set[uuid.UUID] = set()
    for member in members or []:
        if member.type not in (None, "User"):
            raise ScimError(400, "Only users can be members (no nested groups).", "invalidValue")
        try:
            wanted.add(uuid.UUID(str(member.value)))
        except ValueError:
            raise ScimError(
                400, "A member names no user of this organisation.", "invalidValue"
            ) from None
    if not wanted:
        return set()
    rows = (await session.exec(visible_users(scope).where(col(Staff.id).in_(list(wanted))))).all()
    found = {s.id for s in rows}
    if found != wanted:
        raise ScimError(400, NO_SUCH_MEMBER, "invalidValue")
    return found


async def _current_members(session: AsyncSession, group: ScimGroup) -> set[uuid.UUID]:
    return set(
        (
            await session.exec(
                select(col(ScimGroupMember.staff_id)).where(
                    col(ScimGroupMember.organisation_id) == group.organisation_id,
                    col(ScimGroupMember.group_id) == group.id,
                )
            )
        ).all()
    )


async def _set_members(
    session: AsyncSession, group: ScimGroup, wanted: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Make the group's members exactly `wanted`; answers whose membership changed."""
    current = await _current_members(session, group)
    gone, new = current - wanted, wanted - current
    if gone:
        await session.exec(
            sa.delete(ScimGroupMember).where(
                col(ScimGroupMember.organisation_id) == group.organisation_id,
                col(ScimGroupMember.group_id) == group.id,
                col(ScimGroupMember.staff_id).in_(list(gone)),
            )
        )
    for staff_id in sorted(new):
        session.add(
            ScimGroupMember(
                organisation_id=group.organisation_id, group_id=group.id, staff_id=staff_id
            )
        )
    return gone | new


def _name(group: Group) -> str:
    name = (group.display_name or "").strip()
    if not name:
        raise ScimError(400, "displayName is required.", "invalidValue")
    if len(name) > 256:
        raise ScimError(400, "displayName is longer than 256 characters.", "invalidValue")
    return name


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ScimError(409, "A group with this displayName exists.", "uniqueness") from exc


async def _unique_name(
    session: AsyncSession, scope: Scope, name: str, group_id: uuid.UUID | None
) -> None:
    stmt = _groups(scope).where(col(ScimGroup.display_name) == name)
    other = (await session.exec(stmt)).first()
    if other is not None and other.id != group_id:
        raise ScimError(409, "A group with this displayName exists.", "uniqueness")


async def create_group(session: AsyncSession, scope: Scope, payload: Any, now: datetime) -> Group:
    parsed = _parse(payload, Context.RESOURCE_CREATION_REQUEST)
    name = _name(parsed)
    await _unique_name(session, scope, name, None)
    wanted = await _member_ids(session, scope, parsed.members)
    group = ScimGroup(
        organisation_id=scope.organisation_id,
        display_name=name,
        external_id=parsed.external_id[:256] if parsed.external_id else None,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    await _flush(session)
    changed = await _set_members(session, group, wanted)
    await _flush(session)
    await sync_roles(session, scope.organisation_id, changed, now)
    return await _view(session, scope, group)


async def _write(
    session: AsyncSession,
    scope: Scope,
    group: ScimGroup,
    parsed: Group,
    now: datetime,
) -> Group:
    """Write a full representation onto `group` (replace and patch)."""
    name = _name(parsed)
    await _unique_name(session, scope, name, group.id)
    wanted = await _member_ids(session, scope, parsed.members)
    renamed = (name, parsed.external_id) != (group.display_name, group.external_id)
    before = await _current_members(session, group)
    group.display_name = name
    group.external_id = parsed.external_id[:256] if parsed.external_id else None
    group.version += 1
    group.updated_at = now
    session.add(group)
    changed = await _set_members(session, group, wanted)
    await _flush(session)
    # A new name may map to other roles: everyone in the group then, and everyone now.
    await sync_roles(session, scope.organisation_id, (before | wanted) if renamed else changed, now)
    return await _view(session, scope, group)


async def replace_group(
    session: AsyncSession, scope: Scope, group_id: str, payload: Any, now: datetime
) -> Group:
    group = await _find(session, scope, group_id, lock=True)
    parsed = _parse(payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    return await _write(session, scope, group, parsed, now)


async def patch_group(
    session: AsyncSession, scope: Scope, group_id: str, payload: Any, now: datetime
) -> Group:
    """PATCH (RFC 7644 3.5.2): add and remove members (`members[value eq "…"]` too), replace
    displayName or externalId, as Entra ID and Okta send them."""
    group = await _find(session, scope, group_id, lock=True)
    current = await _view(session, scope, group)
    current.meta = None
    try:
        patch = PatchOp[Group].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        patch.patch(current)
    except (ValidationError, SCIMException, ValueError, TypeError) as exc:
        raise ScimError(400, f"The patch is not valid: {first_error(exc)}", "invalidValue") from exc
    return await _write(session, scope, group, current, now)


async def delete_group(session: AsyncSession, scope: Scope, group_id: str, now: datetime) -> None:
    group = await _find(session, scope, group_id, lock=True)
    members = await _current_members(session, group)
    await session.exec(
        sa.delete(ScimGroupMember).where(
            col(ScimGroupMember.organisation_id) == group.organisation_id,
            col(ScimGroupMember.group_id) == group.id,
        )
    )
    await session.exec(sa.delete(ScimGroup).where(col(ScimGroup.id) == group.id))
    await session.flush()
    await sync_roles(session, scope.organisation_id, members, now)


# --- roles -----------------------------------------------------------------------------------


async def sync_roles(
    session: AsyncSession, organisation_id: uuid.UUID, staff_ids: Iterable[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Give each of `staff_ids` the roles their groups map to (when the organisation maps
    groups); answers who kept the supervisor role because they supervise someone."""
    ids = sorted(set(staff_ids))
    if not ids:
        return []
    config = await config_for_org(session, organisation_id)
    if config is None or not config.group_roles:
        return []
    keys: dict[uuid.UUID, list[str]] = defaultdict(list)
    for staff_id, name, external in (
        await session.exec(
            select(
                col(ScimGroupMember.staff_id),
                col(ScimGroup.display_name),
                col(ScimGroup.external_id),
            )
            .join(ScimGroup, col(ScimGroup.id) == col(ScimGroupMember.group_id))
            .where(
                col(ScimGroupMember.organisation_id) == organisation_id,
                col(ScimGroupMember.staff_id).in_(ids),
            )
        )
    ).all():
        keys[staff_id].extend(k for k in (name, external) if k)
    supervising = set(
        (
            await session.exec(
                select(col(Staff.supervisor_id)).where(
                    col(Staff.organisation_id) == organisation_id,
                    col(Staff.supervisor_id).in_(ids),
                )
            )
        ).all()
    )
    people = (
        await session.exec(
            select(Staff)
            .where(col(Staff.organisation_id) == organisation_id, col(Staff.id).in_(ids))
            .order_by(col(Staff.id))
            .with_for_update()
        )
    ).all()
    kept: list[uuid.UUID] = []
    for staff in people:
        roles = {r.value for r in roles_for_groups(config, keys.get(staff.id, [])) or []}
        if Role.supervisor.value not in roles and staff.id in supervising:
            roles.add(Role.supervisor.value)  # whoever supervises keeps the role
            if Role.supervisor.value in staff.roles:
                kept.append(staff.id)
                log.warning(
                    "SCIM group sync kept the supervisor role of %s: they supervise someone",
                    staff.id,
                )
                record_identity_change(
                    session,
                    organisation_id,
                    None,
                    IdentityAction.scim_supervisor_role_kept,
                    staff.id,
                    now,
                )
        if sorted(roles) != sorted(staff.roles):
            staff.roles = sorted(roles)
            staff.version += 1
            staff.updated_at = now
            session.add(staff)
    await session.flush()
    return kept
