"""Imports every table so `SQLModel.metadata` is complete (Alembic and tests import this)."""

from sqlmodel import SQLModel

from models.absence import Absence
from models.access_log import AccessLog
from models.auth import LoginThrottle, RefreshToken
from models.changes import Change, ChangeCounter
from models.ops import SchedulerHeartbeat
from models.organisation import Organisation, Unit
from models.reflection import Reflection
from models.staff import Staff
from models.supervision import (
    Addendum,
    CaseDiscussion,
    SessionFeedback,
    SupervisionAction,
    SupervisionPolicyRow,
    SupervisionRecord,
    SupervisionSession,
)

metadata = SQLModel.metadata

__all__ = [
    "Absence",
    "AccessLog",
    "Addendum",
    "CaseDiscussion",
    "Change",
    "ChangeCounter",
    "LoginThrottle",
    "Organisation",
    "Reflection",
    "RefreshToken",
    "SchedulerHeartbeat",
    "SessionFeedback",
    "Staff",
    "SupervisionAction",
    "SupervisionPolicyRow",
    "SupervisionRecord",
    "SupervisionSession",
    "Unit",
    "metadata",
]
