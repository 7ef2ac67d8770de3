"""Wellbeing domain."""
