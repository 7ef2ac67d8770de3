"""A request to talk, opened by the person it was sent to, who acknowledges it and closes it
with an outcome: the API's `talk_request_view`, `acknowledge_view` and `close_view` with the
same `Actor`, the version read carried in the form as the API's If-Match.

No role is needed, as in the API: whoever a request was sent to acts on it (anyone else,
the practitioner who raised it included, gets a 404 page; they withdraw it in the app)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Now, SessionDep
from api.web.admin import if_match
from api.web.forms import FormErrors
from api.web.render import page
from api.web.security import Signed, SignedForm
from models.actor import Actor
from models.errors import NotFound
from models.wellbeing import TalkOutcome
from wellbeing.schemas import TalkRequestPublic
from wellbeing.talk_views import acknowledge_view, close_view, talk_request_view

router = APIRouter(prefix="/supervisees/talk-requests")

OUTCOMES = [
    (TalkOutcome.talked.value, "We talked", "You talked with them, or arranged to."),
    (
        TalkOutcome.signposted.value,
        "Signposted to other support",
        "For example the employee assistance service, occupational health or Samaritans.",
    ),
    (
        TalkOutcome.declined_by_practitioner.value,
        "They no longer wanted to talk",
        "They told you they did not want to talk after all.",
    ),
]
OUTCOME_WORDS = {value: label for value, label, _ in OUTCOMES}
DONE = {
    "acknowledged": "You acknowledged this request. They can see that you will be in touch.",
    "closed": "You closed this request. They can see how it ended.",
}


async def _addressed(
    session: SessionDep, actor: Actor, request_id: uuid.UUID, now: Now
) -> tuple[TalkRequestPublic, str]:
    """The request as the person asked sees it, and its version (a read is logged)."""
    tagged = await talk_request_view(session, actor, request_id, now)
    if not isinstance(tagged.view, TalkRequestPublic):  # the owner's own: not a recipient
        raise NotFound("No such talk request.")
    return tagged.view, tagged.etag.strip('"')


def _render(
    request: Request,
    view: TalkRequestPublic,
    version: str,
    *,
    errors: FormErrors | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    errors = errors or FormErrors()
    return page(
        request,
        "talk_request.html",
        title=f"Request to talk from {view.display_name}",
        section="supervisees",
        r=view,
        version=version,
        outcomes=OUTCOMES,
        outcome_words=OUTCOME_WORDS,
        errors=errors.summary,
        by_field=errors.by_field,
        notice=notice,
        status_code=422 if errors else 200,
    )


@router.get("/{request_id}", name="web_talk_request")
async def talk_request_page(
    request: Request, request_id: uuid.UUID, actor: Signed, session: SessionDep, now: Now
) -> HTMLResponse:
    """One request sent to you: who and when, never answers or scores; what you can do."""
    view, version = await _addressed(session, actor, request_id, now)
    done = DONE.get(request.query_params.get("done", ""))
    return _render(request, view, version, notice=done)


@router.post("/{request_id}/acknowledge", name="web_talk_request_acknowledge")
async def acknowledge_form(
    request: Request, request_id: uuid.UUID, actor: SignedForm, session: SessionDep, now: Now
) -> Response:
    """Say you have seen it and will be in touch (with the version read: the If-Match)."""
    form = await request.form()
    await acknowledge_view(session, actor, request_id, if_match(str(form.get("version", ""))), now)
    return RedirectResponse(
        f"/app/supervisees/talk-requests/{request_id}?done=acknowledged", status_code=303
    )


@router.post("/{request_id}/close", name="web_talk_request_close")
async def close_form(
    request: Request, request_id: uuid.UUID, actor: SignedForm, session: SessionDep, now: Now
) -> Response:
    """Close it with how it ended (with the version read: the If-Match)."""
    form = await request.form()
    version = str(form.get("version", ""))
    chosen = str(form.get("outcome", ""))
    if chosen not in OUTCOME_WORDS:
        errors = FormErrors()
        errors.add("outcome", "Select how it ended")
        view, current = await _addressed(session, actor, request_id, now)
        return _render(request, view, current, errors=errors)
    await close_view(session, actor, request_id, TalkOutcome(chosen), if_match(version), now)
    return RedirectResponse(
        f"/app/supervisees/talk-requests/{request_id}?done=closed", status_code=303
    )
