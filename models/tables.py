"""Imports every table so `SQLModel.metadata` is complete (Alembic and tests import this)."""

from sqlmodel import SQLModel

from models.auth import LoginThrottle, RefreshToken
from models.ops import SchedulerHeartbeat
from models.organisation import Organisation, Unit
from models.staff import Staff

metadata = SQLModel.metadata

__all__ = [
    "LoginThrottle",
    "Organisation",
    "RefreshToken",
    "SchedulerHeartbeat",
    "Staff",
    "Unit",
    "metadata",
]
