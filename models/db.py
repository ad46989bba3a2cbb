"""The database engine, the session factory and the declarative base."""
from __future__ import annotations

from collections import namedtuple
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from sqlalchemy import Connection, DateTime, Dialect, Engine, MetaData, create_engine, event, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")
PROJECT = Path(__file__).resolve().parent.parent

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; SQLite forgets zones, so we put it back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def resolve_url(url: str) -> str:
    """Anchor a relative SQLite path at the project folder and make its directory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    path = Path(parsed.database)
    if not path.is_absolute():
        path = PROJECT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def make_engine(url: str, schema: str | None = None) -> Engine:
    """Create the engine; SQLite gets WAL and a busy timeout, PostgreSQL an optional schema."""
    url = resolve_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        # hide_parameters: a failed statement's message must not carry tokens or residents' words
        engine = create_engine(url, connect_args={"timeout": 15}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args = {"connect_timeout": 3}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # Let SQLAlchemy, not pysqlite, say when transactions begin (SQLAlchemy's recipe).
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _sqlite_begin(connection: object) -> None:
    # Take the write lock up front: a deferred transaction that reads, then writes,
    # fails at once with "database is locked" when another writer got in between.
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # type: ignore[attr-defined]


INSERTS: dict[str, Callable[..., Any]] = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def insert_for(session: Session) -> Callable[..., Any]:
    """The INSERT construct of the session's dialect, which has ON CONFLICT (SQLite, PostgreSQL)."""
    return INSERTS[dialect_of(session)]


def dialect_of(session: Session) -> str:
    """The name of the session's database dialect ("sqlite", "postgresql")."""
    return session.get_bind().dialect.name


def one_of(column: Any, values: Iterable[Any]) -> Any:
    """SQL: the column is one of the values, as `column = ? OR column = ? ...`.

    Not IN: SQLAlchemy writes an IN's list into the statement at every execution, after its
    statement cache (a tenth of the claim every message makes, when it had one)."""
    return or_(*(column == value for value in values))


def built_once(build: Callable[[str], T]) -> Callable[[Session], T]:
    """Build a statement once per dialect and reuse it, its varying parts as bind parameters.

    On the paths every message takes, putting a SQLAlchemy statement together (and working
    out its cache key) costs more CPU than running it; a statement built once is compiled
    once too.
    """
    made: dict[str, T] = {}

    def statement(session: Session) -> T:
        name = dialect_of(session)
        if name not in made:
            made[name] = build(name)
        return made[name]
    return statement


class Prepared:
    """A Core statement on the path every message takes, run on the driver's cursor: compiled
    once per dialect, with its constants' values worked out once.

    SQLAlchemy runs a statement from its cache by hashing the statement's key, building every
    bind parameter's value (constants included) through its type, and wrapping the cursor in a
    result with its own metadata: about 17 µs a statement on SQLite here, where the driver's
    cursor takes 3, and 55 µs more than the driver on PostgreSQL, paid by every statement of
    every message. Here a call converts only the values it gives, with the same type processors,
    runs the SQL on the connection's own cursor and converts the columns that need it with the
    types' result processors. What SQLAlchemy does around a statement is kept: given a session,
    it flushes what the session holds first and runs on the session's connection (as the
    session's own execute would autoflush); it begins the connection's transaction if none is
    open (as its autobegin would), tells the engine's
    `before_cursor_execute` and `after_cursor_execute` listeners (not as `retval` listeners:
    they cannot change the statement), and hands a driver error to the connection's own
    handling, which raises SQLAlchemy's error class and invalidates a lost connection. Rows come
    back as named tuples (a column without a name, such as a `literal_column`, is `_<position>`).
    A statement whose SQL would change at execution (an IN of a list, a literal_execute
    parameter) is refused when first compiled.
    """

    def __init__(self, statement: Any) -> None:
        if getattr(statement, "is_insert", False) and not statement.exported_columns:
            statement = statement.inline()  # no RETURNING of the new key that nobody reads
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def execute(self, on: Connection | Session, params: dict[str, Any]) -> list[Any]:
        """Run the statement on a connection, or a session's (flushed first), with `params` (its
        bind parameters by key); return its rows (none without RETURNING or a SELECT)."""
        if isinstance(on, Session):
            on.flush()
            on = on.connection()
        return self._for(on.dialect).run(on, params)

    def first(self, on: Connection | Session, params: dict[str, Any]) -> Any:
        """The first row, or None."""
        rows = self.execute(on, params)
        return rows[0] if rows else None

    def execute_many(self, connection: Connection, params: list[dict[str, Any]]) -> None:
        """Run a statement that returns nothing once for each set of parameters, as the driver's
        `executemany` (as SQLAlchemy runs a list of parameters for such a statement)."""
        self._for(connection.dialect).run(connection, params, many=True)

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return compiled


class _Compiled:
    """A statement's SQL for one dialect, its constants, its parameters' and columns' processors."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.post_compile_params or compiled.literal_execute_params or compiled.escaped_bind_names:
            raise ValueError("a prepared statement's SQL must not change at execution")
        if getattr(compiled, "implicit_returning", None):
            raise ValueError("a prepared statement returns only the columns it names")
        self.sql = compiled.string
        self.constants: dict[str, Any] = {}
        self.given: list[tuple[str, str, Callable[[Any], Any] | None]] = []  # name, key, processor
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.callable is not None:
                raise ValueError(f"parameter {bind.key!r} has a callable value")
            if bind.required:
                self.given.append((name, bind.key, process))
            else:
                self.constants[name] = process(bind.value) if process else bind.value
        self.order = tuple(compiled.positiontup) if compiled.positional else None
        columns = list(getattr(statement, "exported_columns", ()))
        self.columns = [column.type.dialect_impl(dialect) for column in columns]
        self.row = namedtuple("Row", [column.key or "_" for column in columns], rename=True)  # type: ignore[misc]
        self.dialect = dialect
        self.convert: list[tuple[int, Callable[[Any], Any]]] | None = None  # known at the first rows

    def _args(self, params: dict[str, Any]) -> Any:
        values = dict(self.constants)
        for name, key, process in self.given:
            value = params[key]
            values[name] = process(value) if process is not None and value is not None else value
        return tuple(values[name] for name in self.order) if self.order is not None else values

    def run(self, connection: Connection, params: Any, many: bool = False) -> list[Any]:
        if many and self.columns:
            raise ValueError("a statement run for many sets of parameters returns nothing")
        args = [self._args(one) for one in params] if many else self._args(params)
        if not connection.in_transaction():
            connection.begin()
        dispatch = connection.dispatch
        cursor = connection.connection.cursor()
        try:
            dispatch.before_cursor_execute(connection, cursor, self.sql, args, None, many)
            if many:
                cursor.executemany(self.sql, args)
            else:
                cursor.execute(self.sql, args)
            dispatch.after_cursor_execute(connection, cursor, self.sql, args, None, many)
            rows = cursor.fetchall() if not many and cursor.description is not None else []
            if rows and self.convert is None:  # a column's processor may depend on the driver's type
                self.convert = [(i, process) for i, (kind, described) in
                                enumerate(zip(self.columns, cursor.description))
                                if (process := kind.result_processor(self.dialect, described[1]))]
        except Exception as err:  # noqa: BLE001 - SQLAlchemy's handling raises its own error
            _close(cursor)
            connection._handle_dbapi_exception(err, self.sql, args, cursor, None)
            raise
        _close(cursor)
        if not self.convert:
            return [self.row(*row) for row in rows]
        made = []
        for row in rows:
            items = list(row)
            for i, process in self.convert:
                items[i] = process(items[i])
            made.append(self.row(*items))
        return made


def _close(cursor: Any) -> None:
    """Close a cursor; one of a connection already lost may refuse, which changes nothing."""
    try:
        cursor.close()
    except Exception:  # noqa: BLE001 - the error that matters is the statement's
        pass


def make_sessionmaker(engine: Engine, tz: Any = None) -> sessionmaker[Session]:
    """Return the session factory bound to the engine; `tz` is the zone the rollups count months in."""
    return sessionmaker(engine, expire_on_commit=False, info={"tz": tz} if tz is not None else None)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session whose work is committed together, or rolled back on error."""
    with factory() as session, session.begin():
        yield session
