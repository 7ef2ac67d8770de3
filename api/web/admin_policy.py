"""The supervision policy page: read by admins here, changed with the version read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Now, SessionDep
from api.web.admin import if_match
from api.web.forms import validate
from api.web.render import page
from api.web.security import AdminForm, AdminPage
from models.errors import PreconditionFailed
from models.supervision import SessionKind
from supervision.policy_store import get_policy, policy_public, put_policy
from supervision.schemas import PolicyUpdate

router = APIRouter(prefix="/admin")

NUMBERS = {
    "qualified_interval_days": "Qualified practitioners: days between sessions",
    "asye_weekly_weeks": "ASYEs: weeks of weekly supervision at the start",
    "asye_weekly_interval_days": "ASYEs: days between sessions in those weeks",
    "asye_fortnightly_months": "ASYEs: months of fortnightly supervision after that",
    "asye_fortnightly_interval_days": "ASYEs: days between sessions in those months",
    "asye_interval_days": "ASYEs: days between sessions after that",
    "manager_interval_days": "Managers: days between sessions",
    "student_interval_days": "Students: days between sessions",
    "other_interval_days": "Everyone else: days between sessions",
    "minimum_minutes": "Shortest session that counts (minutes)",
    "write_up_working_days": "Working days to write up a record",
    "sign_off_working_days": "Working days to sign off a record",
}
LABELS = {
    **NUMBERS,
    "counted_kinds": "Kinds of session that count",
    "bank_holidays": "Bank holidays",
}
KINDS = [(k.value, k.value.replace("_", " ").capitalize()) for k in SessionKind]


def _values(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in NUMBERS}
    data["counted_kinds"] = [k for k in form.getlist("counted_kinds") if isinstance(k, str)]
    text = str(form.get("bank_holidays", ""))
    data["bank_holidays"] = [line.strip() for line in text.splitlines() if line.strip()]
    return data


@router.get("/policy", name="web_admin_policy")
async def policy_page(request: Request, actor: AdminPage, session: SessionDep) -> HTMLResponse:
    """The organisation's supervision policy, as a form."""
    policy, version = await get_policy(session, actor)
    values = policy_public(policy).model_dump()
    values["bank_holidays"] = "\n".join(d.isoformat() for d in values["bank_holidays"])
    return page(
        request,
        "admin/policy.html",
        title="Supervision policy",
        section="admin",
        values=values,
        version=version,
        numbers=NUMBERS,
        kinds=KINDS,
        errors=[],
        by_field={},
        notice="Saved." if request.query_params.get("saved") else None,
    )


@router.post("/policy", name="web_admin_policy_post")
async def policy_form(
    request: Request, actor: AdminForm, session: SessionDep, now: Now
) -> Response:
    """Replace the policy, if no one else has changed it since the form was opened."""
    form = await request.form()
    data = _values(form)
    version = str(form.get("version", ""))[:20]
    body, errors = validate(PolicyUpdate, data, LABELS)
    if body is not None:
        try:
            await put_policy(session, actor, body, if_match(version), now)
            return RedirectResponse("/app/admin/policy?saved=1", status_code=303)
        except PreconditionFailed:
            errors.add(
                None,
                "Someone else changed the policy after you opened it. Open it again to see "
                "their change.",
            )
    values = {**data, "bank_holidays": str(form.get("bank_holidays", ""))}
    return page(
        request,
        "admin/policy.html",
        title="Supervision policy",
        section="admin",
        values=values,
        version=version,
        numbers=NUMBERS,
        kinds=KINDS,
        errors=errors.summary,
        by_field=errors.by_field,
        status_code=422,
    )
