"""Oversight response schemas: dates, counts and rates only; no field can carry record text."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel

from models.directory.staff import Cohort


class StaffSupervisionRow(BaseModel):
    staff_id: uuid.UUID
    display_name: str
    cohort: Cohort
    unit_id: uuid.UUID | None
    last_held_on: date | None
    next_due_on: date
    days_overdue: int
    on_leave: bool
    cancelled_last_90_days: int
    open_actions: int
    overdue_actions: int
    awaiting_write_up: int
    awaiting_sign_off: int
    write_up_late: int
    sign_off_late: int


class UnitRollup(BaseModel):
    unit_id: uuid.UUID
    name: str
    staff_count: int
    compliant_count: int
    compliance_rate: float | None
    overdue_count: int


class UnitSupervisionOversight(UnitRollup):
    units: list[UnitRollup]
    staff: list[StaffSupervisionRow]


class SupervisorOversight(BaseModel):
    staff: list[StaffSupervisionRow]


class TrendMonth(BaseModel):
    month: str
    as_of: date
    staff_count: int
    compliant_count: int
    compliance_rate: float | None
    sessions_held: int
    counted_sessions: int
    cancelled: int


class SupervisionTrend(BaseModel):
    unit_id: uuid.UUID
    months: list[TrendMonth]
