"""Admins' pages: staff (list, add, change), units (list, add, change), the CSV import (the
policy: `admin_policy.py`; the access log and audits: `admin_audit.py`). Updates carry the
version read into the form, so a change someone else made meanwhile is refused (the API's
If-Match, 412)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Now, PasswordsDep, SessionDep
from api.web.forms import FormErrors, domain_errors, present, validate
from api.web.render import page
from api.web.security import AdminForm, AdminPage
from api.web.tables import matches, table_view
from models.actor import Actor
from models.directory.schemas import StaffCreate, StaffUpdate, UnitCreate, UnitUpdate
from models.directory.service import (
    create_staff,
    create_unit,
    get_staff,
    get_unit,
    readable_staff_all,
    readable_units_all,
    update_staff,
    update_unit,
)
from models.directory.staff import Cohort, Role, Staff
from models.directory.staff_import import import_staff
from models.errors import Conflict, Invalid, PreconditionFailed
from models.etag import etag_for

router = APIRouter(prefix="/admin")

STAFF_LABELS = {
    "display_name": "Full name",
    "email": "E-mail address",
    "roles": "Roles",
    "unit_id": "Unit",
    "supervisor_id": "Line supervisor",
    "cohort": "Cohort",
    "started_on": "Start date",
    "timezone": "Time zone",
    "password": "Password",
    "active": "Account",
}
UNIT_LABELS = {"name": "Name", "parent_id": "Part of", "manager_id": "Manager"}
COHORTS = [(c.value, c.value.replace("_", " ").capitalize()) for c in Cohort]
ROLES = [r.value for r in Role]
STAFF_KEYS = {
    "name": lambda s: s.display_name.casefold(),
    "email": lambda s: s.email,
    "started": lambda s: s.started_on,
}
UNIT_KEYS = {"name": lambda u: u.name.casefold(), "parent": lambda u: str(u.parent_id or "")}


@router.get("", name="web_admin")
async def admin_page(request: Request, _actor: AdminPage) -> HTMLResponse:
    """What an admin can do here."""
    return page(request, "admin/index.html", title="Administration", section="admin")


# --- staff ---------------------------------------------------------------------------------


@router.get("/staff", name="web_admin_staff")
async def staff_list_page(request: Request, actor: AdminPage, session: SessionDep) -> HTMLResponse:
    """Everyone in the organisation, filtered and sorted on the server."""
    query = request.query_params
    view = table_view(request.url.path, query, STAFF_KEYS, "name", keep=("q", "role", "state"))
    needle, role, state = query.get("q", "")[:100], query.get("role", ""), query.get("state", "")
    units = {u.id: u.name for u in await readable_units_all(session, actor)}
    rows = [
        s
        for s in await readable_staff_all(session, actor)
        if (matches(s.display_name, needle) or matches(s.email, needle))
        and (not role or role in s.roles)
        and (state != "active" or s.active)
        and (state != "inactive" or not s.active)
    ]
    return page(
        request,
        "admin/staff_list.html",
        title="Staff",
        section="admin",
        staff=view.apply(rows),
        view=view,
        units=units,
        q=needle,
        role=role,
        state=state,
        role_options=[("", "Any role")] + [(r, r.capitalize()) for r in ROLES],
    )


async def _choices(session: SessionDep, actor: Actor) -> dict[str, Any]:
    units = await readable_units_all(session, actor)
    people = await readable_staff_all(session, actor)
    return {
        "unit_options": [("", "No unit")] + [(str(u.id), u.name) for u in units],
        "supervisor_options": [("", "No line supervisor")]
        + [(str(s.id), f"{s.display_name} ({s.email})") for s in people if s.active],
        "cohorts": COHORTS,
        "roles": ROLES,
    }


def _started_on(form: Any, errors: FormErrors) -> str | None:
    """GOV.UK date input: three fields, one date (ISO for the schema)."""
    parts = [str(form.get(f"started_on-{p}", "")).strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
    except ValueError:
        errors.add("started_on", "Start date must be a real date, like 27 3 2024")
        return "invalid"


def _staff_data(form: Any, errors: FormErrors, *, editing: bool) -> dict[str, Any]:
    data = present(form, ("display_name", "email", "cohort", "timezone", "password"))
    data["roles"] = [r for r in form.getlist("roles") if isinstance(r, str)]
    for name in ("unit_id", "supervisor_id"):
        value = str(form.get(name, "")).strip()
        if value or editing:
            data[name] = value or None
    started = _started_on(form, errors)
    if started is not None and started != "invalid":
        data["started_on"] = started
    elif started is None and not editing:
        errors.add("started_on", "Enter the start date")
    if editing:
        data["active"] = form.get("active") == "yes"
    return data


def _form_values(staff: Staff | None, form: Any = None) -> dict[str, Any]:
    """What the form's inputs show: the submitted values, else the stored ones."""
    if form is not None:
        return {
            "display_name": form.get("display_name", ""),
            "email": form.get("email", ""),
            "roles": list(form.getlist("roles")),
            "unit_id": form.get("unit_id", ""),
            "supervisor_id": form.get("supervisor_id", ""),
            "cohort": form.get("cohort", "qualified"),
            "day": form.get("started_on-day", ""),
            "month": form.get("started_on-month", ""),
            "year": form.get("started_on-year", ""),
            "timezone": form.get("timezone", "Europe/London"),
            "active": form.get("active", "yes") == "yes",
        }
    if staff is None:
        return {
            "display_name": "",
            "email": "",
            "roles": ["practitioner"],
            "unit_id": "",
            "supervisor_id": "",
            "cohort": "qualified",
            "day": "",
            "month": "",
            "year": "",
            "timezone": "Europe/London",
            "active": True,
        }
    return {
        "display_name": staff.display_name,
        "email": staff.email,
        "roles": list(staff.roles),
        "unit_id": str(staff.unit_id or ""),
        "supervisor_id": str(staff.supervisor_id or ""),
        "cohort": staff.cohort.value if hasattr(staff.cohort, "value") else staff.cohort,
        "day": staff.started_on.day,
        "month": staff.started_on.month,
        "year": staff.started_on.year,
        "timezone": staff.timezone,
        "active": staff.active,
    }


@router.get("/staff/new", name="web_admin_staff_new")
async def new_staff_page(request: Request, actor: AdminPage, session: SessionDep) -> HTMLResponse:
    """The form to add a staff member."""
    return page(
        request,
        "admin/staff_form.html",
        title="Add a staff member",
        section="admin",
        values=_form_values(None),
        errors=[],
        by_field={},
        staff_id=None,
        version=None,
        **await _choices(session, actor),
    )


@router.post("/staff/new", name="web_admin_staff_create")
async def create_staff_form(
    request: Request, actor: AdminForm, session: SessionDep, passwords: PasswordsDep, now: Now
) -> Response:
    """Add a staff member (the API's create)."""
    form = await request.form()
    errors = FormErrors()
    data = _staff_data(form, errors, editing=False)
    body, schema_errors = validate(StaffCreate, data, STAFF_LABELS)
    for e in schema_errors.summary:
        if e["href"].lstrip("#") not in errors.by_field:
            errors.add(e["href"].lstrip("#") or None, e["text"])
    if body is not None and not errors:
        try:
            password_hash = passwords.hash(body.password) if body.password else None
            staff = await create_staff(session, actor, body, password_hash, now)
            return RedirectResponse(f"/app/admin/staff/{staff.id}?saved=1", status_code=303)
        except (Invalid, Conflict) as exc:
            errors = domain_errors(exc, STAFF_LABELS)
    return page(
        request,
        "admin/staff_form.html",
        title="Add a staff member",
        section="admin",
        values=_form_values(None, form),
        errors=errors.summary,
        by_field=errors.by_field,
        staff_id=None,
        version=None,
        status_code=422,
        **await _choices(session, actor),
    )


@router.get("/staff/{staff_id}", name="web_admin_staff_edit")
async def edit_staff_page(
    request: Request, staff_id: uuid.UUID, actor: AdminPage, session: SessionDep
) -> HTMLResponse:
    """The form to change a staff member."""
    staff = await get_staff(session, actor, staff_id)
    return page(
        request,
        "admin/staff_form.html",
        title=f"Change {staff.display_name}",
        section="admin",
        values=_form_values(staff),
        errors=[],
        by_field={},
        staff_id=staff.id,
        version=staff.version,
        notice="Saved." if request.query_params.get("saved") else None,
        **await _choices(session, actor),
    )


@router.post("/staff/{staff_id}", name="web_admin_staff_update")
async def update_staff_form(
    request: Request,
    staff_id: uuid.UUID,
    actor: AdminForm,
    session: SessionDep,
    passwords: PasswordsDep,
    now: Now,
) -> Response:
    """Change a staff member, if no one else has since the form was opened."""
    form = await request.form()
    errors = FormErrors()
    data = _staff_data(form, errors, editing=True)
    body, schema_errors = validate(StaffUpdate, data, STAFF_LABELS)
    for e in schema_errors.summary:
        errors.add(e["href"].lstrip("#") or None, e["text"])
    version = str(form.get("version", ""))[:20]
    if body is not None and not errors:
        try:
            password_hash = passwords.hash(body.password) if body.password else None
            await update_staff(
                session, actor, staff_id, body, password_hash, if_match(version), now
            )
            return RedirectResponse(f"/app/admin/staff/{staff_id}?saved=1", status_code=303)
        except PreconditionFailed:
            errors.add(
                None,
                "Someone else changed this staff member after you opened the form. "
                "Open it again to see their change.",
            )
        except (Invalid, Conflict) as exc:
            errors = domain_errors(exc, STAFF_LABELS)
    staff = await get_staff(session, actor, staff_id)
    return page(
        request,
        "admin/staff_form.html",
        title=f"Change {staff.display_name}",
        section="admin",
        values=_form_values(staff, form),
        errors=errors.summary,
        by_field=errors.by_field,
        staff_id=staff.id,
        version=version,
        status_code=422,
        **await _choices(session, actor),
    )


# --- units ---------------------------------------------------------------------------------


@router.get("/units", name="web_admin_units")
async def units_list_page(request: Request, actor: AdminPage, session: SessionDep) -> HTMLResponse:
    """Every unit: its parent and its manager."""
    view = table_view(request.url.path, request.query_params, UNIT_KEYS, "name", keep=("q",))
    needle = request.query_params.get("q", "")[:100]
    units = await readable_units_all(session, actor)
    names = {u.id: u.name for u in units}
    people = {s.id: s.display_name for s in await readable_staff_all(session, actor)}
    shown = [u for u in units if matches(u.name, needle)]
    return page(
        request,
        "admin/units_list.html",
        title="Units",
        section="admin",
        units=view.apply(shown),
        names=names,
        people=people,
        view=view,
        q=needle,
    )


async def _unit_choices(
    session: SessionDep, actor: Actor, editing: uuid.UUID | None
) -> dict[str, Any]:
    units = await readable_units_all(session, actor)
    people = await readable_staff_all(session, actor)
    return {
        "parent_options": [("", "Nothing (top of the organisation)")]
        + [(str(u.id), u.name) for u in units if u.id != editing],
        "manager_options": [("", "No manager")]
        + [(str(s.id), f"{s.display_name} ({s.email})") for s in people if s.active],
    }


def _unit_data(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": str(form.get("name", "")).strip()}
    for name in ("parent_id", "manager_id"):
        data[name] = str(form.get(name, "")).strip() or None
    return data


@router.get("/units/new", name="web_admin_units_new")
async def new_unit_page(request: Request, actor: AdminPage, session: SessionDep) -> HTMLResponse:
    """The form to add a unit."""
    return page(
        request,
        "admin/unit_form.html",
        title="Add a unit",
        section="admin",
        values={"name": "", "parent_id": "", "manager_id": ""},
        errors=[],
        by_field={},
        unit_id=None,
        version=None,
        **await _unit_choices(session, actor, None),
    )


@router.post("/units/new", name="web_admin_units_create")
async def create_unit_form(
    request: Request, actor: AdminForm, session: SessionDep, now: Now
) -> Response:
    """Add a unit (the API's create)."""
    form = await request.form()
    data = _unit_data(form)
    body, errors = validate(UnitCreate, data, UNIT_LABELS)
    if body is not None:
        try:
            unit = await create_unit(session, actor, body, now)
            return RedirectResponse(f"/app/admin/units/{unit.id}?saved=1", status_code=303)
        except (Invalid, Conflict) as exc:
            errors = domain_errors(exc, UNIT_LABELS)
    return page(
        request,
        "admin/unit_form.html",
        title="Add a unit",
        section="admin",
        values={k: v or "" for k, v in data.items()},
        errors=errors.summary,
        by_field=errors.by_field,
        unit_id=None,
        version=None,
        status_code=422,
        **await _unit_choices(session, actor, None),
    )


@router.get("/units/{unit_id}", name="web_admin_units_edit")
async def edit_unit_page(
    request: Request, unit_id: uuid.UUID, actor: AdminPage, session: SessionDep
) -> HTMLResponse:
    """The form to change a unit."""
    unit = await get_unit(session, actor, unit_id)
    values = {
        "name": unit.name,
        "parent_id": str(unit.parent_id or ""),
        "manager_id": str(unit.manager_id or ""),
    }
    return page(
        request,
        "admin/unit_form.html",
        title=f"Change {unit.name}",
        section="admin",
        values=values,
        errors=[],
        by_field={},
        unit_id=unit.id,
        version=unit.version,
        notice="Saved." if request.query_params.get("saved") else None,
        **await _unit_choices(session, actor, unit.id),
    )


@router.post("/units/{unit_id}", name="web_admin_units_update")
async def update_unit_form(
    request: Request, unit_id: uuid.UUID, actor: AdminForm, session: SessionDep, now: Now
) -> Response:
    """Change a unit, if no one else has since the form was opened."""
    form = await request.form()
    data = _unit_data(form)
    version = str(form.get("version", ""))[:20]
    body, errors = validate(UnitUpdate, data, UNIT_LABELS)
    if body is not None:
        try:
            await update_unit(session, actor, unit_id, body, if_match(version), now)
            return RedirectResponse(f"/app/admin/units/{unit_id}?saved=1", status_code=303)
        except PreconditionFailed:
            errors.add(
                None,
                "Someone else changed this unit after you opened the form. "
                "Open it again to see their change.",
            )
        except (Invalid, Conflict) as exc:
            errors = domain_errors(exc, UNIT_LABELS)
    unit = await get_unit(session, actor, unit_id)
    return page(
        request,
        "admin/unit_form.html",
        title=f"Change {unit.name}",
        section="admin",
        values={k: v or "" for k, v in data.items()},
        errors=errors.summary,
        by_field=errors.by_field,
        unit_id=unit.id,
        version=version,
        status_code=422,
        **await _unit_choices(session, actor, unit.id),
    )


# --- import --------------------------------------------------------------------------------


@router.get("/import", name="web_admin_import")
async def import_page(request: Request, _actor: AdminPage) -> HTMLResponse:
    """The form to import staff from a CSV file."""
    return page(request, "admin/import.html", title="Import staff", section="admin", errors=[])


@router.post("/import", name="web_admin_import_post")
async def import_form(
    request: Request, actor: AdminForm, session: SessionDep, now: Now
) -> HTMLResponse:
    """Create or update staff from the file; all or nothing, each problem by line."""
    form = await request.form()
    upload = form.get("file")
    errors = FormErrors()
    text = ""
    if upload is None or isinstance(upload, str) or not upload.filename:
        errors.add("file", "Select a CSV file")
    else:
        try:
            text = (await upload.read()).decode("utf-8")
        except UnicodeDecodeError:
            errors.add("file", "The selected file must be a CSV file saved as UTF-8 text")
    if not errors:
        try:
            created, updated = await import_staff(session, actor, text, now)
            return page(
                request,
                "admin/import.html",
                title="Import staff",
                section="admin",
                errors=[],
                notice=f"Imported: {created} added, {updated} updated.",
            )
        except Invalid as exc:
            errors.add("file", exc.detail)
            for e in exc.errors or []:
                where = f"Line {e['line']}" + (f", column {e['field']}" if e.get("field") else "")
                errors.add("file", f"{where}: {str(e['msg']).removeprefix('Value error, ')}")
    return page(
        request,
        "admin/import.html",
        title="Import staff",
        section="admin",
        errors=errors.summary,
        by_field=errors.by_field,
        status_code=422,
    )


def if_match(version: str) -> str | None:
    """The If-Match the form's hidden version stands for (none: 428, as in the API)."""
    return etag_for(int(version)) if version.isdigit() else None
