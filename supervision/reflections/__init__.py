"""Reflective notes: private to their author, shared with their supervisor by choice."""
