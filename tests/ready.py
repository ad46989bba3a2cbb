"""Migrated databases for the tests, made the long way once per test process and then copied.

Migrating and loading the demo estate cost about a second a test, most of the suite's time.
The first app of a test process on each kind of database (and hash key) is made the long way
(`make_app`). After it:
- SQLite: every later test's empty file is a copy of that first one's, as it was then;
- PostgreSQL: every statement the long way ran is kept as one script that fills a later test's
  empty schema in one round trip; and a schema handed out so is, when its test ends, emptied
  (TRUNCATE: new files, so its heap is as fresh as a new one's), given the first one's rows
  again (COPY) and kept for the next test, unless the test changed its tables (then it is
  dropped, as every other test schema is). PostgreSQL's DDL was most of what the script cost.
The migrations themselves are tested from empty in test_migrations.py.
"""
from __future__ import annotations

import graphlib
import shutil
import sqlite3
import tempfile
import uuid
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bot.services import Services


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as psycopg.connect takes it (no driver name, password kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# The tables, columns, indexes and sequences of a schema: a test that changed them gets no reuse.
SHAPE = """
SELECT string_agg(c.relkind::text || ' ' || c.relname || '.' || a.attname || ':'
                  || format_type(a.atttypid, a.atttypmod), ',' ORDER BY c.relname, a.attnum)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
WHERE n.nspname = %s AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'i', 'S', 'v')
"""


@dataclass
class Ready:
    """What the long way made of an empty PostgreSQL schema."""
    script: str                              # every statement it ran, as one script
    shape: str
    tables: list[str]                        # parents before the tables that point at them
    rows: list[tuple[str, bytes]]            # each table's rows as COPY writes them, in that order
    sequences: dict[str, int | None]         # each sequence's last value (None: never used)
    spare: list[str] = field(default_factory=list)  # reset schemas waiting for a test


_FILES: dict[bytes, Path] = {}
_READY: dict[tuple[str, bytes], Ready] = {}
_HANDED: dict[tuple[str, str], tuple[str, bytes]] = {}  # (url, schema) -> its Ready's key


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
    ready = _READY.get((url, key))
    if ready is None or not empty(database):
        return False
    with psycopg.connect(libpq_url(url)) as conn:
        if ready.spare:
            spare = ready.spare.pop()
            conn.execute(f'DROP SCHEMA "{schema}"')
            conn.execute(f'ALTER SCHEMA "{spare}" RENAME TO "{schema}"')
        else:
            conn.execute(f'SET search_path = "{schema}"')
            conn.execute(ready.script)  # one script, no parameters
    _HANDED[(url, schema)] = (url, key)
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
    first = (key not in _FILES) if schema is None else ((url, key) not in _READY)
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
    with psycopg.connect(libpq_url(url)) as conn:
        tables = _tables(conn, schema)
        _READY[(url, key)] = Ready(";\n".join(statements), _shape(conn, schema), tables,
                                   _rows(conn, schema, tables), _sequences(conn, schema))
    _HANDED[(url, schema)] = (url, key)


def recycle(url: str, schema: str) -> bool:
    """Reset a handed-out schema whose test has ended and keep it for the next; False when it
    was not handed out, its test changed its tables, or something still holds it."""
    handed = _HANDED.pop((url, schema), None)
    if handed is None:
        return False
    ready = _READY[handed]
    spare = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(libpq_url(url), options=f"-csearch_path={schema}") as conn:
            conn.execute("SET lock_timeout = '1s'")
            if _shape(conn, schema) != ready.shape:
                return False
            listed = ", ".join(f'"{table}"' for table in ready.tables)
            conn.execute(f"TRUNCATE {listed} RESTART IDENTITY")  # new files: a heap as fresh as new
            cursor = conn.cursor()
            for table, data in ready.rows:
                with cursor.copy(f'COPY "{table}" FROM STDIN') as copy:
                    copy.write(data)
            for sequence, value in ready.sequences.items():
                if value is None:
                    conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')
                else:
                    conn.execute("SELECT setval(%s::regclass, %s)", (f'"{sequence}"', value))
            conn.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{spare}"')
    except psycopg.Error:
        return False
    ready.spare.append(spare)
    return True


def spares() -> list[tuple[str, str]]:
    """The reset schemas no test took: (url, schema), for the end of the run to drop."""
    return [(url, spare) for (url, _), ready in _READY.items() for spare in ready.spare]


def _shape(conn: psycopg.Connection, schema: str) -> str:
    return conn.execute(SHAPE, (schema,)).fetchone()[0] or ""


def _tables(conn: psycopg.Connection, schema: str) -> list[str]:
    """The schema's tables, each after those its foreign keys point at."""
    names = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))]
    order = graphlib.TopologicalSorter({t: set() for t in names})
    for child, parent in conn.execute(
            "SELECT c.relname, p.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
            " JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace n ON n.oid = k.connamespace"
            " WHERE k.contype = 'f' AND n.nspname = %s AND c.oid <> p.oid", (schema,)):
        order.add(child, parent)
    return list(order.static_order())


def _rows(conn: psycopg.Connection, schema: str, tables: list[str]) -> list[tuple[str, bytes]]:
    rows = []
    cursor = conn.cursor()
    for table in tables:
        with cursor.copy(f'COPY "{schema}"."{table}" TO STDOUT') as copy:
            data = b"".join(bytes(block) for block in copy)
        if data:
            rows.append((table, data))
    return rows


def _sequences(conn: psycopg.Connection, schema: str) -> dict[str, int | None]:
    return {name: value for name, value in conn.execute(
        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s", (schema,))}
