"""Oversight of supervision: unit roll-ups, trends, a supervisor's view (no record text)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/oversight", tags=["oversight"])
