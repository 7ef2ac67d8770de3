"""Imports every table so `SQLModel.metadata` is complete (Alembic and tests import this)."""

from sqlmodel import SQLModel

from models.absence import Absence
from models.access_log import AccessLog
from models.agreement import SupervisionAgreement
from models.changes import Change, ChangeCounter
from models.directory.auth import LoginThrottle, RefreshToken
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Staff
from models.group_supervision import GroupAttendee, GroupSession
from models.notifications.deliveries import Delivery
from models.notifications.outbox import Device, Notification
from models.notifications.preferences import NotificationPreferences
from models.notifications.webhooks import Webhook
from models.ops import SchedulerHeartbeat
from models.reflection import Reflection
from models.supervision import (
    Addendum,
    CaseDiscussion,
    SessionFeedback,
    SupervisionAction,
    SupervisionPolicyRow,
    SupervisionRecord,
    SupervisionSession,
)
from models.wellbeing import (
    AnalyticsAudit,
    CheckIn,
    CheckInShare,
    InstrumentText,
    WellbeingSettings,
)

metadata = SQLModel.metadata

__all__ = [
    "Absence",
    "AccessLog",
    "Addendum",
    "AnalyticsAudit",
    "CaseDiscussion",
    "Change",
    "ChangeCounter",
    "CheckIn",
    "CheckInShare",
    "Delivery",
    "Device",
    "GroupAttendee",
    "GroupSession",
    "InstrumentText",
    "LoginThrottle",
    "Notification",
    "NotificationPreferences",
    "Organisation",
    "RefreshToken",
    "Reflection",
    "SchedulerHeartbeat",
    "SessionFeedback",
    "Staff",
    "SupervisionAgreement",
    "SupervisionAction",
    "SupervisionPolicyRow",
    "SupervisionRecord",
    "SupervisionSession",
    "Unit",
    "Webhook",
    "WellbeingSettings",
    "metadata",
]
