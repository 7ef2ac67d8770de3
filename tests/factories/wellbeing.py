"""Factories for wellbeing data: check-ins made through the domain, as the API would."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.directory.service import actor_for
from models.directory.staff import Staff
from models.wellbeing import CheckIn
from wellbeing.checkins import create_checkin
from wellbeing.schemas import CheckInCreate

_seq = itertools.count(1)


def pulse_answers(wellbeing: int = 15) -> dict[str, int]:
    """Pulse answers whose wellbeing score is `wellbeing` (5 to 25)."""
    answers = {"mood": 1, "stress": 5, "exposure": 5, "supported": 1, "sleep": 1}  # 5
    extra = wellbeing - 5
    for item in ("mood", "supported", "sleep"):
        step = min(4, extra)
        answers[item] += step
        extra -= step
    for item in ("stress", "exposure"):
        step = min(4, extra)
        answers[item] -= step
        extra -= step
    return answers


async def make_checkin(
    db: AsyncSession,
    staff: Staff,
    *,
    at: datetime,
    wellbeing: int = 15,
    instrument: str = "pulse",
    answers: dict[str, int] | None = None,
    share: bool = False,
    wants_to_talk: bool = False,
    tell_supervisor: bool | None = None,
) -> CheckIn:
    extra = {"tell_supervisor": tell_supervisor} if tell_supervisor is not None else {}
    body = CheckInCreate(
        id=uuid.uuid4(),
        instrument=instrument,
        answers=answers if answers is not None else pulse_answers(wellbeing),
        wants_to_talk=wants_to_talk,
        share_with_supervisor=share,
        **extra,
    )
    checkin, _ = await create_checkin(db, actor_for(staff), body, at)
    return checkin
