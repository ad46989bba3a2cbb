"""Rollups: the /stats counts, kept in the same transaction as the ticket changes that move them.

A fresh process over a million tickets cannot count them at once, so every transaction that
adds or changes tickets also adds what changed to `rollups`, in one multi-row upsert (INSERT ...
ON CONFLICT DO UPDATE SET n = n + excluded.n) just before it commits: each flush notes each
ticket's old contribution, subtracted, and its new one, added. These are Session events, so no
code path that changes a ticket through the ORM can skip them (a Core UPDATE of tickets would:
there is none but `rebuild`'s); `rebuild` counts everything again (the migration and
`flask stats rebuild` run it).

A row is (tier, estate, dimension, key, what) -> n, per estate (0: tickets of no estate), so a
community's or street's figures are sums over its estates:
- tier 0, the counts: "total", "open", "resolved", "grid", "rated", "satisfied", "ever"
  (ever resolved), "reopened", per category "state:<state>", and per measure "<m>:n" (tickets
  with that time) and "<m>:ver", which grows whenever a time in the group changes, so that a
  median kept in `rollup_ranks` is known to be still right (models/ranks.py);
- tier 1, per measure a coarse histogram "<m>:<bucket>" (four buckets per doubling of seconds),
  which tells in which bucket a rank lies, so that only that bucket's tickets are read.
What depends on the clock (overdue) is counted live from the open tickets, which stay few.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (BigInteger, Float, Integer, String, and_, bindparam, case, cast, delete, event,
                        extract, insert, inspect, select, update)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import INSERTS, Base, Prepared, built_once, dialect_of
from models.tickets import OPEN_STATES, Ticket

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")  # a session's info["tz"] says otherwise (app.py)
NO_ESTATE = 0
COUNTS, BUCKETS = 0, 1
DIMENSIONS = ("all", "category", "building", "month", "handler")
DONE_STATES = ("resolved", "closed")
SATISFIED_FROM = 3
# the figures' measure -> (short name, the time it ends at, the ticket's column of its length)
MEASURES = {"first_response_minutes": ("response", "first_response_at", "response_us"),
            "resolve_hours": ("fix", "resolved_at", "fix_us")}
Key = tuple[int, int, str, str, str]  # tier, estate, dimension, key, what


class Rollup(Base):
    """One count of the /stats figures, for one estate and group."""

    __tablename__ = "rollups"

    tier: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    what: Mapped[str] = mapped_column(String(32), primary_key=True)
    estate_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class RankCache(Base):
    """A group's exact median and 90th percentile, and the version of its times they belong to."""

    __tablename__ = "rollup_ranks"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)  # "*" or estate ids "1,2"
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    measure: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    median: Mapped[float | None] = mapped_column(Float)
    p90: Mapped[float | None] = mapped_column(Float)


class Facts(NamedTuple):
    """What of a ticket the figures count."""

    kind: str | None
    state: str | None
    estate_id: int | None
    category: str | None
    building: str | None
    created_at: datetime | None
    assignee_id: int | None
    level: str | None
    rating: int | None
    resolved_at: datetime | None
    first_response_at: datetime | None
    reopen_count: int | None


def counted(facts: Facts) -> bool:
    """Problems count, except those withdrawn as no problem at all (不是报修)."""
    return facts.kind == "problem" and facts.state != "withdrawn"


def bucket(us: int) -> int:
    """The histogram bucket of a length: seconds 0-7 one each, then four per doubling."""
    s = us // 1_000_000
    if s < 8:
        return max(s, 0)
    e = s.bit_length()
    return 4 * e + ((s >> (e - 3)) & 3) - 8


def bucket_floor(b: int) -> int | None:
    """The least length (microseconds) in bucket `b`; None for bucket 0, which holds all below 1 s."""
    if b <= 0:
        return None
    if b < 8:
        return b * 1_000_000
    e, x = divmod(b + 8, 4)
    return ((4 + x) << (e - 3)) * 1_000_000


def month_of(moment: datetime, tz: ZoneInfo) -> str:
    """The month a ticket was opened in, as models/figures.py local_month() says it."""
    return moment.astimezone(tz).strftime("%Y-%m")


def lengths(facts: Facts) -> dict[str, int | None]:
    """Microseconds to first response and to resolution (per short measure name), when counted."""
    out: dict[str, int | None] = {}
    for short, end, _column in MEASURES.values():
        ends = getattr(facts, end)
        out[short] = None if not counted(facts) or ends is None or facts.created_at is None \
            else (ends - facts.created_at) // timedelta(microseconds=1)
    return out


def groups(facts: Facts, tz: ZoneInfo) -> list[tuple[int, str, str]]:
    """The (estate, dimension, key) groups a counted ticket is in."""
    assert facts.created_at is not None
    estate = facts.estate_id or NO_ESTATE
    keys = ("", facts.category or "other", facts.building or "—", month_of(facts.created_at, tz),
            "" if facts.assignee_id is None else str(facts.assignee_id))
    return [(estate, dimension, key) for dimension, key in zip(DIMENSIONS, keys)]


def contribution(facts: Facts, tz: ZoneInfo) -> Counter[Key]:
    """The rows a ticket adds to the rollups (none when it does not count)."""
    out: Counter[Key] = Counter()
    if not counted(facts):
        return out
    done = facts.state in DONE_STATES
    ever = facts.resolved_at is not None
    flags = {"total": True, "open": facts.state in OPEN_STATES, "resolved": done,
             "grid": done and facts.level == "grid", "rated": facts.rating is not None,
             "satisfied": facts.rating is not None and facts.rating >= SATISFIED_FROM,
             "ever": ever, "reopened": ever and (facts.reopen_count or 0) > 0}
    times = lengths(facts)
    for estate, dimension, key in groups(facts, tz):
        for what, on in flags.items():
            if on:
                out[(COUNTS, estate, dimension, key, what)] += 1
        if dimension == "category":
            out[(COUNTS, estate, dimension, key, f"state:{facts.state}")] += 1
        for short, us in times.items():
            if us is not None:
                out[(COUNTS, estate, dimension, key, f"{short}:n")] += 1
                out[(BUCKETS, estate, dimension, key, f"{short}:{bucket(us)}")] += 1
    return out


def change(old: Facts | None, new: Facts | None, tz: ZoneInfo) -> Counter[Key]:
    """What moving a ticket from `old` to `new` (None: absent) does to the rollups, zeros left out."""
    delta: Counter[Key] = Counter()
    if new is not None:
        delta.update(contribution(new, tz))
    if old is not None:
        delta.subtract(contribution(old, tz))
    before, after = _timed(old, tz), _timed(new, tz)
    for estate, dimension, key, short in {(e, d, k, m) for e, d, k, m, _us in before ^ after}:
        delta[(COUNTS, estate, dimension, key, f"{short}:ver")] += 1
    return Counter({k: n for k, n in delta.items() if n})


def _timed(facts: Facts | None, tz: ZoneInfo) -> set[tuple[int, str, str, str, int]]:
    if facts is None or not counted(facts):
        return set()
    times = lengths(facts)
    return {(e, d, k, short, us) for e, d, k in groups(facts, tz)
            for short, us in times.items() if us is not None}


def _facts(ticket: Ticket, old: bool) -> Facts:
    """The ticket's facts as they are now, or (`old`) as the database holds them before this flush."""
    attrs = inspect(ticket).attrs
    if not old:
        facts = Facts(*(getattr(ticket, name) for name in Facts._fields))
        held = attrs["assignee"].history  # set by relationship: the id follows only in the flush
        if held.added or held.deleted:
            member = held.added[0] if held.added else None
            facts = facts._replace(assignee_id=None if member is None else member.id)
        return facts
    values = []
    for name in Facts._fields:
        history = attrs[name].history  # the columns are active_history: the old value is loaded
        values.append(history.deleted[0] if history.deleted
                      else history.unchanged[0] if history.unchanged else None)
    return Facts(*values)


def zone(session: Session) -> ZoneInfo:
    """The time zone months are counted in: the app's (set on its sessions), else Shanghai."""
    tz = session.info.get("tz")
    return tz if isinstance(tz, ZoneInfo) else DEFAULT_ZONE


PENDING = "linli_rollups_pending"  # session.info: the transaction's changes, added at its commit


def _pending(session: Session) -> Counter[Key]:
    return session.info.setdefault(PENDING, Counter())


@event.listens_for(Session, "before_commit")
def _add_at_commit(session: Session) -> None:
    """Add the transaction's ticket changes in one statement just before it commits, so that
    the rows every change of an estate touches stay locked for the commit only."""
    if session.in_nested_transaction():
        return  # a savepoint's changes were added as they were flushed
    session.flush()
    add(session, _pending(session))
    _pending(session).clear()


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous: Any) -> None:
    if not previous.nested:  # a savepoint rolled back only what it added itself
        _pending(session).clear()


@event.listens_for(Session, "after_transaction_create")
def _start_clean(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        _pending(session).clear()


@event.listens_for(Session, "before_flush")
def _keep_rollups(session: Session, _context: object, _instances: object) -> None:
    """Note the flush's ticket changes; they are added at commit, in the same transaction
    (inside a savepoint at once, since the savepoint may be rolled back alone)."""
    tz = zone(session)
    delta: Counter[Key] = Counter()
    for ticket in session.new:
        if isinstance(ticket, Ticket):
            ticket.state, ticket.level = ticket.state or "open", ticket.level or "grid"
            ticket.reopen_count = ticket.reopen_count or 0
            delta.update(_note(ticket, None, _facts(ticket, old=False), tz))
    for ticket in session.dirty:
        if isinstance(ticket, Ticket) and session.is_modified(ticket):
            delta.update(_note(ticket, _facts(ticket, old=True), _facts(ticket, old=False), tz))
    for ticket in session.deleted:
        if isinstance(ticket, Ticket):
            delta.update(change(_facts(ticket, old=True), None, tz))
    if session.in_nested_transaction():
        add(session, delta)
    else:
        _pending(session).update(delta)


def _note(ticket: Ticket, old: Facts | None, new: Facts, tz: ZoneInfo) -> Counter[Key]:
    """Keep the ticket's lengths on its row (for ranking), and return its change to the rollups."""
    times = lengths(new)
    for short, _end, column in MEASURES.values():
        if getattr(ticket, column) != times[short]:
            setattr(ticket, column, times[short])
    return change(old, new, tz)


@built_once
def _upsert(dialect: str) -> Prepared:
    statement = INSERTS[dialect](Rollup.__table__).values(
        {name: bindparam(f"r_{name}") for name in ("tier", "estate_id", "dimension", "key", "what", "n")})
    return Prepared(statement.on_conflict_do_update(
        index_elements=["tier", "dimension", "key", "what", "estate_id"],
        set_={"n": Rollup.__table__.c.n + statement.excluded.n}))


def add(session: Session, delta: Counter[Key]) -> None:
    """Add counts to the rollups: one statement for a ticket's change, built once and given the
    rows as its parameters (in key order, so that concurrent transactions lock rows alike)."""
    rows = [{"r_tier": t, "r_estate_id": e, "r_dimension": d, "r_key": k, "r_what": w, "r_n": n}
            for (t, e, d, k, w), n in sorted(delta.items()) if n]
    if rows:
        _upsert(session).execute_many(session.connection(), rows)


FACT_COLUMNS = [getattr(Ticket, name) for name in Facts._fields]


def rebuild(session: Session, tz: ZoneInfo) -> int:
    """Count the rollups again from the tickets (and their kept lengths); return the tickets counted."""
    session.execute(delete(Rollup))
    session.execute(delete(RankCache))
    _store_lengths(session)
    total: Counter[Key] = Counter()
    seen = 0
    query = select(*FACT_COLUMNS).where(Ticket.kind == "problem", Ticket.state != "withdrawn")
    for row in session.execute(query.execution_options(yield_per=20_000)):
        facts = Facts(*row)
        total.update(contribution(facts, tz))
        for estate, dimension, key, short, _us in _timed(facts, tz):
            total[(COUNTS, estate, dimension, key, f"{short}:ver")] = 1
        seen += 1
    rows = [{"tier": t, "estate_id": e, "dimension": d, "key": k, "what": w, "n": n}
            for (t, e, d, k, w), n in sorted(total.items()) if n]
    if rows:  # the table is empty: one plain INSERT of many rows, not an upsert
        session.execute(insert(Rollup), rows)
    return seen


def _store_lengths(session: Session) -> None:
    """Write every ticket's lengths (response_us, fix_us): in SQL on PostgreSQL, else one by one."""
    if dialect_of(session) == "postgresql":
        session.execute(update(Ticket).values(
            response_us=_pg_length(Ticket.first_response_at), fix_us=_pg_length(Ticket.resolved_at)))
        return
    changed = []
    for row in session.execute(select(Ticket.id, *FACT_COLUMNS)):
        times = lengths(Facts(*row[1:]))
        changed.append({"id": row[0], "response_us": times["response"], "fix_us": times["fix"]})
    for start in range(0, len(changed), 5000):
        session.execute(update(Ticket), changed[start:start + 5000])


def _pg_length(end: Any) -> Any:
    counts = and_(Ticket.kind == "problem", Ticket.state != "withdrawn", end.is_not(None))
    return case((counts, cast(extract("epoch", end - Ticket.created_at) * 1_000_000, BigInteger)), else_=None)

