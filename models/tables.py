"""Imports every table so `SQLModel.metadata` is complete (Alembic and tests import this)."""

from sqlmodel import SQLModel

from models.absence import Absence
from models.access_log import AccessLog
from models.agreement import SupervisionAgreement
from models.analytics.tables import MembershipSnapshot, PrivacySpend, PublishedFigure
from models.calendar import BankHoliday, ClosureDay
from models.changes import Change, ChangeCounter
from models.directory.auth import LoginThrottle, RefreshToken
from models.directory.identity import (
    IdentityAudit,
    PasswordLink,
    ScimGroup,
    ScimGroupMember,
    ScimToken,
    SsoConfig,
    SsoLogin,
    WebSession,
)
from models.directory.organisation import Organisation, Unit
from models.directory.staff import Staff
from models.group_supervision import GroupAttendee, GroupSession
from models.incidents import Incident
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
    SupportText,
    TalkRequest,
    WellbeingSettings,
)

metadata = SQLModel.metadata

__all__ = [
    "Absence",
    "AccessLog",
    "Addendum",
    "AnalyticsAudit",
    "BankHoliday",
    "CaseDiscussion",
    "Change",
    "ChangeCounter",
    "CheckIn",
    "CheckInShare",
    "ClosureDay",
    "Delivery",
    "Device",
    "GroupAttendee",
    "GroupSession",
    "IdentityAudit",
    "Incident",
    "MembershipSnapshot",
    "InstrumentText",
    "LoginThrottle",
    "Notification",
    "NotificationPreferences",
    "Organisation",
    "PasswordLink",
    "PrivacySpend",
    "PublishedFigure",
    "RefreshToken",
    "Reflection",
    "SchedulerHeartbeat",
    "ScimGroup",
    "ScimGroupMember",
    "ScimToken",
    "SessionFeedback",
    "SsoConfig",
    "SsoLogin",
    "Staff",
    "SupervisionAgreement",
    "SupervisionAction",
    "SupervisionPolicyRow",
    "SupervisionRecord",
    "SupervisionSession",
    "SupportText",
    "TalkRequest",
    "Unit",
    "Webhook",
    "WebSession",
    "WellbeingSettings",
    "metadata",
]
