"""Supervision domain."""
