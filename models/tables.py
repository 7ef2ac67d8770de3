"""Imports every table so `SQLModel.metadata` is complete (Alembic and tests import this)."""

from sqlmodel import SQLModel

from models.absence import Absence
from models.access_log import AccessLog
from models.auth import LoginThrottle, RefreshToken
from models.ops import SchedulerHeartbeat
from models.organisation import Organisation, Unit
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
    "LoginThrottle",
    "Organisation",
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
