"""Imports every table so `SQLModel.metadata` is complete (Alembic and tests import this)."""

from sqlmodel import SQLModel

from models.access_log import AccessLog
from models.auth import LoginThrottle, RefreshToken
from models.ops import SchedulerHeartbeat
from models.organisation import Organisation, Unit
from models.staff import Staff
from models.wellbeing import (
    AnalyticsAudit,
    CheckIn,
    CheckInShare,
    InstrumentText,
    WellbeingSettings,
)

metadata = SQLModel.metadata

__all__ = [
    "AccessLog",
    "AnalyticsAudit",
    "CheckIn",
    "CheckInShare",
    "InstrumentText",
    "LoginThrottle",
    "Organisation",
    "RefreshToken",
    "SchedulerHeartbeat",
    "Staff",
    "Unit",
    "WellbeingSettings",
    "metadata",
]
