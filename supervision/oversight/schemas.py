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
    # Agreements (an agreement signed by both, in force, with the current line supervisor)
    # and group supervision attended (held in the last 90 days).
    agreement_in_place: bool
    agreement_review_due_on: date | None
    agreement_review_overdue: bool
    group_sessions_last_90_days: int


class UnitRollup(BaseModel):
    unit_id: uuid.UUID
    name: str
    staff_count: int
    compliant_count: int
    compliance_rate: float | None
    overdue_count: int
    agreement_in_place_count: int
    agreement_review_overdue_count: int
    # Group supervision in the last 90 days, apart from one-to-ones: sessions at least one
    # person here attended (each once), and how many people here attended one.
    group_sessions_last_90_days: int
    group_people_reached_last_90_days: int


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
    group_sessions_held: int  # apart from one-to-ones: each group session once
    group_people_reached: int  # people in the subtree who attended one that month


class SupervisionTrend(BaseModel):
    unit_id: uuid.UUID
    months: list[TrendMonth]
