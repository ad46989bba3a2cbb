"""The migrations and the models agree (what `alembic check` checks), on SQLite and PostgreSQL,
and every migration downgrades and upgrades again."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import models
from models import make_engine
from models.db import PROJECT


# Every model module, so the metadata holds every table whoever imported what before.
for _module in pkgutil.iter_modules(models.__path__):
    importlib.import_module(f"models.{_module.name}")


@pytest.fixture
def engine(database: tuple[str, str | None]) -> Iterator[Engine]:
    """An engine on a fresh, empty database (no migration run yet)."""
    url, schema = database
    made = make_engine(url, schema=schema)
    yield made
    made.dispose()


def migrate(engine: Engine, direction: str, revision: str) -> None:
    """Run `alembic upgrade|downgrade REVISION` on the engine's database, as models.migrate does."""
    config = Config()
    config.set_main_option("script_location", str(PROJECT / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


def differences(engine: Engine) -> list[object]:
    """What autogenerate would write into a new migration: nothing, when models and migrations agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, models.Base.metadata)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_the_migrations_build_exactly_the_models(engine: Engine) -> None:
    migrate(engine, "upgrade", "head")
    assert differences(engine) == []
    assert tables(engine) == set(models.Base.metadata.tables)


def test_every_migration_downgrades_and_upgrades_again(engine: Engine) -> None:
    script = ScriptDirectory.from_config(_config())
    revisions = list(reversed(list(script.walk_revisions("base", "heads"))))  # oldest first
    assert len(revisions) >= 11
    for revision in revisions:
        migrate(engine, "upgrade", revision.revision)
        after = tables(engine)
        migrate(engine, "downgrade", revision.down_revision or "base")
        migrate(engine, "upgrade", revision.revision)
        assert tables(engine) == after, revision.revision  # the same schema back
    migrate(engine, "downgrade", "base")
    assert tables(engine) == set()  # every migration undoes what it made
    migrate(engine, "upgrade", "head")
    assert differences(engine) == []


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT / "migrations"))
    return config
