"""The database engine, the session factory and the declarative base."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, or_
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


def make_sessionmaker(engine: Engine, tz: Any = None) -> sessionmaker[Session]:
    """Return the session factory bound to the engine; `tz` is the zone the rollups count months in."""
    return sessionmaker(engine, expire_on_commit=False, info={"tz": tz} if tz is not None else None)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session whose work is committed together, or rolled back on error."""
    with factory() as session, session.begin():
        yield session
