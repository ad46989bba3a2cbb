"""Migrated databases for the tests, made the long way once per test process and then copied.

Migrating and loading the demo estate cost about a second a test, most of the suite's time.
The first app of a test process on each kind of database (and hash key) is made the long way
(`make_app`). After it:
- SQLite: every later test's empty file is a copy of that first one's, as it was then;
- PostgreSQL: every statement the long way ran is kept as one script that fills a later test's
  empty schema in one round trip (about half the time: PostgreSQL's DDL is most of what is left).
  Reusing a finished test's schema (emptied, its rows put back) was tried and dropped: the
  planner's statistics and the heap's free space carry over, and a plan test and a figures test
  saw them.
The migrations themselves are tested from empty in test_migrations.py.
"""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Iterator

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bot.services import Services


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as psycopg.connect takes it (no driver name, password kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


_FILES: dict[bytes, Path] = {}
_SCRIPTS: dict[tuple[str, bytes], str] = {}


def fill(services: Services, database: tuple[str, str | None]) -> bool:
    """Make the test's empty database a copy of this process's first migrated one; False if
    there is none yet or the database is not empty (a second app on it)."""
    url, schema = database
    key = services.config.hash_key
    if schema is None:
        ready_file = _FILES.get(key)
        if ready_file is None or not empty(database):
            return False
        shutil.copyfile(ready_file, make_url(url).database or "")
        return True
    script = _SCRIPTS.get((url, key))
    if script is None or not empty(database):
        return False
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute(script)  # one script, no parameters
    return True


def empty(database: tuple[str, str | None]) -> bool:
    """Whether the test's database has no tables yet (no app on it was migrated)."""
    url, schema = database
    if schema is None:
        return not Path(make_url(url).database or "").exists()
    with psycopg.connect(libpq_url(url)) as conn:
        return not conn.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s LIMIT 1", (schema,)).fetchone()


@contextmanager
def recording(services: Services, database: tuple[str, str | None]) -> Iterator[None]:
    """Around the long way on the test's database: keep what it made, if it is the first."""
    url, schema = database
    key = services.config.hash_key
    first = (key not in _FILES) if schema is None else ((url, key) not in _SCRIPTS)
    if not first or not empty(database):
        yield
        return
    if schema is None:
        yield
        copy = Path(tempfile.mkdtemp(prefix="linli-test-ready-")) / "ready.db"
        with closing(sqlite3.connect(make_url(url).database or "")) as source, \
                closing(sqlite3.connect(copy)) as target:
            source.backup(target)
        _FILES[key] = copy
        return
    statements: list[str] = []

    def keep(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            return
        writer = psycopg.ClientCursor(cursor.connection)
        for one in (parameters if isinstance(parameters, list) else [parameters]):  # executemany
            statements.append(writer.mogrify(statement, one))

    event.listen(services.engine, "before_cursor_execute", keep)
    try:
        yield
    finally:
        event.remove(services.engine, "before_cursor_execute", keep)
    _SCRIPTS[(url, key)] = ";\n".join(statements)
