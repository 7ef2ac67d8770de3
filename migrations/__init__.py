"""Alembic migrations (shipped in the package so `harbour migrate` works from a wheel)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at these migrations, optionally at a given database."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config
