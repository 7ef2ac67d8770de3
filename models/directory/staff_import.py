"""Bulk import of staff from an HR system's CSV export: all or nothing, errors by line."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.actor import Actor
from models.directory.leavers import end_access
from models.directory.organisation import Unit
from models.directory.password_links import Link, invite_imported
from models.directory.schemas import Roles
from models.directory.service import grant_roles_to_named_supervisors
from models.directory.staff import Cohort, Role, Staff
from models.errors import Invalid
from models.schemas import Email, Name, TimeZone

REQUIRED_COLUMNS = ("email", "display_name", "started_on")
KNOWN_COLUMNS = (
    *REQUIRED_COLUMNS,
    "roles",
    "unit",
    "supervisor_email",
    "cohort",
    "timezone",
    "active",
)
MAX_ROWS = 20_000

_email = TypeAdapter(Email)
_name = TypeAdapter(Name)
_roles = TypeAdapter(Roles)
_tz = TypeAdapter(TimeZone)


@dataclass
class _Row:
    line: int
    email: str
    display_name: str
    roles: list[Role]
    unit_id: uuid.UUID | None
    supervisor_email: str | None
    cohort: Cohort
    started_on: date
    timezone: str
    active: bool


async def import_staff(
    session: AsyncSession, actor: Actor, text: str, now: datetime
) -> tuple[int, int]:
    """`import_staff_people` answering how many were created and updated."""
    created, updated = await import_staff_people(session, actor, text, now)
    return len(created), updated


async def import_and_invite(
    session: AsyncSession,
    actor: Actor,
    text: str,
    now: datetime,
    invite: InviteTerms | None,
) -> tuple[int, int, list[Link]]:
    """Import, then (when `invite` is given) invite the people the file made: created and
    updated counts and the invitations' links (docs/identity.md)."""
    created, updated = await import_staff_people(session, actor, text, now)
    links: list[Link] = []
    if invite is not None:
        links = await invite_imported(
            session, actor, [s.id for s in created], now, invite.lifetime, invite.public_url
        )
    return len(created), updated, links


@dataclass(frozen=True)
class InviteTerms:
    lifetime: timedelta
    public_url: str


async def import_staff_people(
    session: AsyncSession, actor: Actor, text: str, now: datetime
) -> tuple[list[Staff], int]:
    """Create or update (by e-mail) every row, or raise `Invalid` listing each bad line.

    Columns: email, display_name, started_on (required); roles (separated by `;` or spaces,
    default practitioner), unit (a unit's id, or its name when that is unique), supervisor_email
    (someone already in Harbour or elsewhere in the file), cohort, timezone, active.
    Imported people get no password: an admin invites them (or sets one), or they sign in
    through the organisation's identity provider. Answers the people made and how many
    were updated.
    """
    if "\x00" in text:
        raise Invalid("The file contains NUL characters; export it again as plain CSV text.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise Invalid(f"The file is not CSV: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in KNOWN_COLUMNS]
    if missing or unknown:
        raise Invalid(
            "The CSV header is not one Harbour reads.",
            errors=[
                *({"line": 1, "field": c, "msg": "required column missing"} for c in missing),
                *({"line": 1, "field": c, "msg": "unknown column"} for c in unknown),
            ],
        )
    units = await _unit_lookup(session, actor)
    existing = {
        s.email: s
        for s in (
            await session.exec(
                select(Staff).where(col(Staff.organisation_id) == actor.organisation_id)
            )
        ).all()
    }
    errors: list[dict[str, Any]] = []
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(_rows(reader, errors)):
        line = index + 2  # the header is line 1
        if index >= MAX_ROWS:
            errors.append({"line": line, "field": None, "msg": f"more than {MAX_ROWS} rows"})
            break
        record = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            errors.append({"line": line, "field": None, "msg": "more fields than the header"})
            continue
        row = _parse(line, record, units, errors)
        if row is None:
            continue
        if row.email in seen:
            errors.append(
                {"line": line, "field": "email", "msg": f"repeats line {seen[row.email]}"}
            )
            continue
        seen[row.email] = line
        rows.append(row)

    in_file = {r.email for r in rows}
    foreign = await _emails_elsewhere(session, actor, in_file - set(existing))
    for row in rows:
        if row.email in foreign:
            errors.append(
                {"line": row.line, "field": "email", "msg": "used by another organisation"}
            )
        sup = row.supervisor_email
        if sup is not None:
            if sup == row.email:
                errors.append(
                    {"line": row.line, "field": "supervisor_email", "msg": "is the person themself"}
                )
            elif sup not in existing and sup not in in_file:
                errors.append(
                    {"line": row.line, "field": "supervisor_email", "msg": "unknown staff member"}
                )
    if errors:
        errors.sort(key=lambda e: e["line"])
        raise Invalid(f"{len(errors)} problem(s) in the file; nothing was imported.", errors=errors)

    created: list[Staff] = []
    updated = 0
    by_email = dict(existing)
    leavers: list[Staff] = []
    for row in rows:
        staff = by_email.get(row.email)
        if staff is None:
            staff = Staff(
                organisation_id=actor.organisation_id,
                email=row.email,
                display_name=row.display_name,
                started_on=row.started_on,
                created_at=now,
                updated_at=now,
            )
            session.add(staff)
            by_email[row.email] = staff
            created.append(staff)
        else:
            staff.version += 1
            staff.updated_at = now
            updated += 1
        staff.display_name = row.display_name
        staff.roles = [r.value for r in row.roles]
        staff.unit_id = row.unit_id
        staff.cohort = row.cohort
        staff.started_on = row.started_on
        staff.timezone = row.timezone
        if staff.active and not row.active and staff.id is not None:
            leavers.append(staff)
        staff.active = row.active
    await session.flush()
    for staff in leavers:  # a leaver in the file ends their access like any other
        await end_access(session, staff, now)
    for row in rows:
        sup_staff = by_email.get(row.supervisor_email) if row.supervisor_email else None
        by_email[row.email].supervisor_id = sup_staff.id if sup_staff else None
    await session.flush()
    # Whoever is named a supervisor holds the role, whatever their own line says.
    await grant_roles_to_named_supervisors(session, actor.organisation_id, now)
    return created, updated


def _rows(reader: csv.DictReader[str], errors: list[dict[str, Any]]) -> Iterator[dict[Any, Any]]:
    """The reader's rows; a malformed one (an unclosed quote) ends the file with an error."""
    try:
        yield from reader
    except csv.Error as exc:
        errors.append({"line": reader.line_num, "field": None, "msg": f"not CSV: {exc}"})


def _parse(
    line: int,
    record: dict[str, str],
    units: dict[str, uuid.UUID | None],
    errors: list[dict[str, Any]],
) -> _Row | None:
    before = len(errors)

    def check(field: str, adapter: TypeAdapter[Any], value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            errors.append({"line": line, "field": field, "msg": exc.errors()[0]["msg"]})
            return None

    email = check("email", _email, record.get("email", ""))
    name = check("display_name", _name, record.get("display_name", ""))
    roles_text = record.get("roles") or "practitioner"
    roles = check("roles", _roles, roles_text.replace(";", " ").split())
    started = None
    try:
        started = date.fromisoformat(record.get("started_on", ""))
    except ValueError:
        errors.append({"line": line, "field": "started_on", "msg": "not a date (YYYY-MM-DD)"})
    cohort = Cohort.qualified
    if record.get("cohort"):
        try:
            cohort = Cohort(record["cohort"].lower())
        except ValueError:
            allowed = ", ".join(c.value for c in Cohort)
            errors.append({"line": line, "field": "cohort", "msg": f"must be one of {allowed}"})
    timezone = check("timezone", _tz, record.get("timezone") or "Europe/London")
    unit_id: uuid.UUID | None = None
    if record.get("unit"):
        key = record["unit"]
        if key not in units:
            errors.append({"line": line, "field": "unit", "msg": "unknown unit"})
        elif units[key] is None:
            errors.append(
                {"line": line, "field": "unit", "msg": "several units have this name; use its id"}
            )
        else:
            unit_id = units[key]
    active_text = (record.get("active") or "true").lower()
    if active_text not in {"true", "false", "yes", "no", "1", "0"}:
        errors.append({"line": line, "field": "active", "msg": "must be true or false"})
    supervisor = record.get("supervisor_email") or None
    if supervisor is not None:
        supervisor = check("supervisor_email", _email, supervisor)
    if len(errors) > before:
        return None
    if email is None or name is None or roles is None or started is None:
        return None  # unreachable: each None above appended an error
    return _Row(
        line=line,
        email=email,
        display_name=name,
        roles=roles,
        unit_id=unit_id,
        supervisor_email=supervisor,
        cohort=cohort,
        started_on=started,
        timezone=timezone,
        active=active_text in {"true", "yes", "1"},
    )


async def _unit_lookup(session: AsyncSession, actor: Actor) -> dict[str, uuid.UUID | None]:
    """Unit ids by id and by name; an ambiguous name maps to None."""
    units = (
        await session.exec(select(Unit).where(col(Unit.organisation_id) == actor.organisation_id))
    ).all()
    lookup: dict[str, uuid.UUID | None] = {}
    for unit in units:
        lookup[str(unit.id)] = unit.id
        lookup[unit.name] = None if unit.name in lookup else unit.id
    return lookup


async def _emails_elsewhere(session: AsyncSession, actor: Actor, emails: set[str]) -> set[str]:
    if not emails:
        return set()
    stmt = select(col(Staff.email)).where(
        col(Staff.organisation_id) != actor.organisation_id, col(Staff.email).in_(emails)
    )
    return set((await session.exec(stmt)).all())
