"""Imports every table so `SQLModel.metadata` is complete (Alembic and tests import this)."""

from sqlmodel import SQLModel

from models.access_log import AccessLog
from models.auth import LoginThrottle, RefreshToken
from models.ops import SchedulerHeartbeat
from models.organisation import Organisation, Unit
from models.staff import Staff

metadata = SQLModel.metadata

__all__ = [
    "AccessLog",
    "LoginThrottle",
    "Organisation",
    "RefreshToken",
    "SchedulerHeartbeat",
    "Staff",
    "Unit",
    "metadata",
]
