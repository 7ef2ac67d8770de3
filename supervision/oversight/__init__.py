"""Oversight of supervision: roll-ups, the monthly trend, the report card."""
