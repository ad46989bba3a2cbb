"""Bring a database's schema to the newest migration."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from models.db import PROJECT


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision` on the engine's database."""
    config = Config()
    config.set_main_option("script_location", str(PROJECT / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
