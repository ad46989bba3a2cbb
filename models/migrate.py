"""Bring a database's schema to the newest migration."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from models.db import PROJECT


def upgrade(engine: Engine, revision: str = "head", *, hash_key: bytes | None = None) -> None:
    """Apply every migration up to `revision` on the engine's database, in one transaction.

    `hash_key` (the config's `hash_key`) lets a migration turn stored secrets into keyed
    hashes; one that has rows to turn refuses to run without it. On SQLite, where changing a
    table means rebuilding it, foreign keys are checked once at the end instead of midway
    (SQLite's own procedure for schema changes).
    """
    config = Config()
    config.set_main_option("script_location", str(PROJECT / "migrations"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(connection, on=False)
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                config.attributes["hash_key"] = hash_key
                command.upgrade(config, revision)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("a migration left rows pointing at nothing; nothing was changed")
        finally:
            if sqlite:
                _foreign_keys(connection, on=True)


def _foreign_keys(connection: Connection, *, on: bool) -> None:
    """Turn SQLite's foreign keys on or off; only outside a transaction does that take."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")  # type: ignore[attr-defined]
