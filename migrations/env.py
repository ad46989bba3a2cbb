"""Alembic environment: runs on the connection handed over by models.migrate, or on a URL."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import models
from models.db import resolve_url

config = context.config
target_metadata = models.Base.metadata


def run_migrations_online() -> None:
    """Run the migrations on the given connection (or one made from the URL)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url or "hash_key" not in config.attributes:  # `alembic upgrade` run by hand
        import settings
        configured = settings.read()
        url = url or configured.database.url
        config.attributes.setdefault("hash_key", configured.hash_key)
    with create_engine(resolve_url(url)).connect() as connection:
        _run(connection)
        connection.commit()


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
