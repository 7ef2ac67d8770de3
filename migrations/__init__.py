"""Alembic migrations (shipped in the package so `harbour migrate` works from a wheel)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from models.crypto import KeyRing

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str | None = None, key_ring: KeyRing | None = None) -> Config:
    """An Alembic config pointing at these migrations, optionally at a given database, and
    with the key ring the migrations that seal existing rows use (default: the one
    `HARBOUR_ENCRYPTION_KEYS` gives, as the app's settings read it)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if database_url is not None:
        config.attributes["database_url"] = database_url
    if key_ring is not None:
        config.attributes["key_ring"] = key_ring
    return config
