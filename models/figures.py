"""The governance figures the field report measures, counted by the database.

Satisfaction counts 满意 and 基本满意 (3 stars and up) as satisfied, as the report's
surveys do. A ticket counts as settled at grid level when it was resolved while the
grid held it. A ticket withdrawn by staff (不是报修: the message was no problem) is in
no figure but the share of tickets corrected, so it counts against nobody.

Everything is SQL aggregation, so no ticket is read into Python: per grouping
(everything, category, building, month, handler) one GROUP BY counts, and the times
are nearest-rank percentiles (the value at rank ceil(p·n) in ascending order, as
the figures were first defined):
- on PostgreSQL, in the same GROUP BY, by the standard ordered-set aggregate
  `percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY resolved_at - created_at)`,
  which is exactly nearest rank and leaves out NULLs (over a million tickets about
  2.5 times faster than window functions), and `everything()` counts all groupings
  in one pass with GROUPING SETS;
- on SQLite (no ordered-set aggregates), by window functions, ROW_NUMBER() and
  COUNT() over the group, keeping the rows at ranks ceil(n/2) and ceil(9n/10),
  written as integer arithmetic since SQLite has no CEIL by default. This way also
  runs on PostgreSQL (`portable=True`), and tests check that both ways agree.
percentile_disc returns the interval itself; by window functions only the few
tickets at those ranks come back, and their times are subtracted in Python. Either
way the times are exact to the microsecond. Two more expressions differ by dialect, with the same
meaning: a ticket's local month, and the order of two durations.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Collection, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import (ColumnElement, and_, case, distinct, func, literal, null, or_, select, true,
                        tuple_)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from models.corrections import LabelledExample
from models.staff import Staff
from models.tickets import OPEN_STATES, Ticket

SATISFIED_FROM = 3
DONE_STATES = ("resolved", "closed")
WITHDRAWN = "withdrawn"
DIMENSIONS = ("category", "building", "month", "handler")
# measure -> (from, to, unit in seconds)
MEASURES = {
    "first_response_minutes": (Ticket.created_at, Ticket.first_response_at, 60),
    "resolve_hours": (Ticket.created_at, Ticket.resolved_at, 3600),
}


Estates = Collection[int] | None  # the estates counted (their ids); None: every ticket


def _counted(estates: Estates = None) -> ColumnElement[bool]:
    """The tickets the figures count: problems, not those withdrawn as no problem at all, in
    the estates asked for."""
    return and_(Ticket.kind == "problem", Ticket.state != WITHDRAWN, _in_estates(estates))


def _in_estates(estates: Estates) -> ColumnElement[bool]:
    """Tickets of the estates asked for (None: all of them)."""
    return true() if estates is None else Ticket.estate_id.in_(sorted(estates))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def local_month(session: Session, tz: ZoneInfo, now: datetime) -> ColumnElement[str]:
    """The month a ticket was opened in, "YYYY-MM" in the estate's time zone.

    PostgreSQL converts with the zone's own rules. SQLite knows no zones: it adds the
    zone's offset at `now`, which is exact for zones without daylight saving (Asia/Shanghai
    has none since 1991); for a zone with it, a ticket opened within an hour of midnight
    on a month's first or last day of summer time could fall in the neighbouring month.
    """
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone(_inline(tz.key), Ticket.created_at), _inline("YYYY-MM"))
    offset = now.astimezone(tz).utcoffset() or timedelta(0)
    # whole seconds: SQLite rounds a time to the millisecond, which could carry
    # 23:59:59.9996 over into the next month
    return func.strftime(_inline("%Y-%m"), func.substr(Ticket.created_at, 1, 19),
                         _inline(f"{int(offset.total_seconds()):+d} seconds"))


def _inline(value: str) -> ColumnElement[str]:
    # Written into the statement, not bound: PostgreSQL matches a GROUP BY expression to
    # the selected one by its text, and two parameters are never the same text.
    return literal(value, literal_execute=True)


def _key(session: Session, dimension: str | None, tz: ZoneInfo,
         now: datetime) -> ColumnElement[Any] | None:
    if dimension is None:
        return None
    if dimension == "category":
        return func.coalesce(Ticket.category, _inline("other"))
    if dimension == "building":
        return func.coalesce(Ticket.building, _inline("—"))
    if dimension == "month":
        return local_month(session, tz, now)
    if dimension == "handler":
        return Ticket.assignee_id
    raise ValueError(f"unknown dimension {dimension!r}")


def _tally(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _counts(session: Session, keys: dict[str | None, ColumnElement[Any] | None], now: datetime,
            ranked_in_sql: bool, estates: Estates = None) -> dict[str | None, dict[Any, dict[str, Any]]]:
    """Every figure but the times, per grouping and group; with `ranked_in_sql`, the times too.

    `keys` maps each grouping to its key (None: everything). Several groupings are
    counted in one pass with GROUPING SETS, which only PostgreSQL has.
    """
    is_open = Ticket.state.in_(OPEN_STATES)
    is_done = Ticket.state.in_(DONE_STATES)
    due = case((Ticket.assignee_id.is_(None), Ticket.response_due_at), else_=Ticket.resolve_due_at)
    columns = [func.count(), _tally(is_open), _tally(and_(is_open, due < now)), _tally(is_done),
               _tally(and_(is_done, Ticket.level == "grid")), func.count(Ticket.rating),
               _tally(Ticket.rating >= SATISFIED_FROM), func.count(Ticket.resolved_at),
               _tally(and_(Ticket.resolved_at.is_not(None), Ticket.reopen_count > 0))]
    if ranked_in_sql:
        # PostgreSQL's ordered-set aggregate: nearest rank, ceil(p·n), nulls left out
        columns += [func.percentile_disc(postgresql.array([0.5, 0.9])).within_group(end - start)
                    for start, end, _unit in MEASURES.values()]
    grouped = {dimension: key for dimension, key in keys.items() if key is not None}
    sets = len(keys) > 1
    # GROUPING(key) is 0 in the rows grouped by that key
    flags = [func.grouping(key) for key in grouped.values()] if sets else []
    query = select(*flags, *grouped.values(), *columns).where(_counted(estates))
    if sets:
        query = query.group_by(func.grouping_sets(
            *[tuple_() if key is None else key for key in keys.values()]))
    elif grouped:
        query = query.group_by(*grouped.values())
    out: dict[str | None, dict[Any, dict[str, Any]]] = {dimension: {} for dimension in keys}
    for row in session.execute(query):
        marks = row[:len(flags)] if sets else (0,) * len(grouped)
        names, values = row[len(flags):len(flags) + len(grouped)], row[len(flags) + len(grouped):]
        dimension, name = next(((d, n) for d, n, m in zip(grouped, names, marks) if m == 0),
                               (None, None))
        out[dimension][name] = _group(values)
    return out


def group_figures(values: Sequence[Any]) -> dict[str, Any]:
    """One group's figures from its counts: total, open, overdue, resolved, resolved in the grid,
    rated, satisfied, ever resolved, reopened after resolving (times left empty)."""
    return _group(values)


def ordered(session: Session, dimension: str, groups: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """A breakdown's groups in reading order; handlers by staff id, with their names and roles."""
    return _ordered(session, dimension, groups)


def group_key(session: Session, dimension: str | None, tz: ZoneInfo, now: datetime) -> ColumnElement[Any] | None:
    """The SQL expression that keys a ticket's group in a breakdown (None: everything)."""
    return _key(session, dimension, tz, now)


def counted_tickets(estates: Estates = None) -> ColumnElement[bool]:
    """The tickets the figures count (see _counted)."""
    return _counted(estates)


def _group(values: Sequence[Any]) -> dict[str, Any]:
    """One group's figures from its row of aggregates."""
    total, open_, overdue, done, grid, rated, satisfied, ever_done, reopened = \
        (int(v or 0) for v in values[:9])
    group: dict[str, Any] = {
        "tickets": {"total": total, "open": open_, "overdue": overdue, "resolved": done},
        "grid_resolved_share": _share(grid, done),
        "first_response_minutes": {"median": None, "p90": None},
        "resolve_hours": {"median": None, "p90": None},
        "satisfaction_rate": _share(satisfied, rated),
        "reopen_rate": _share(reopened, ever_done),
    }
    for measure, (_start, _end, unit), picked in zip(MEASURES, MEASURES.values(), values[9:]):
        median, p90 = picked or (None, None)
        group[measure] = {"median": _in(median, unit), "p90": _in(p90, unit)}
    return group


def in_unit(length: timedelta | None, unit: int) -> float | None:
    """A length in minutes or hours (`unit` seconds), to a tenth, as the figures show it."""
    return _in(length, unit)


def _in(length: timedelta | None, unit: int) -> float | None:
    return None if length is None else _round(length.total_seconds() / unit)


def _ranked(session: Session, key: ColumnElement[Any] | None, measure: str, estates: Estates = None,
            ) -> dict[Any, dict[str, float | None]]:
    """Median and 90th percentile (nearest rank) of a measure per group, by window functions."""
    start, end, unit = MEASURES[measure]
    if _dialect(session) == "postgresql":
        length: ColumnElement[Any] = end - start  # an interval orders by its length
    else:
        length = func.julianday(end) - func.julianday(start)  # days, to the millisecond
    partition = {} if key is None else {"partition_by": key}
    ranked = select((key if key is not None else null()).label("key"),
                    start.label("a"), end.label("b"),
                    func.row_number().over(order_by=(length, Ticket.id), **partition).label("rank"),
                    func.count().over(**partition).label("n"),
                    ).where(_counted(estates), end.is_not(None)).subquery()
    median_rank = (ranked.c.n + 1) // 2  # ceil(n / 2)
    p90_rank = (9 * ranked.c.n + 9) // 10  # ceil(9n / 10)
    query = select(ranked.c.key, ranked.c.a, ranked.c.b, ranked.c.rank, median_rank, p90_rank
                   ).where(or_(ranked.c.rank == median_rank, ranked.c.rank == p90_rank))
    out: dict[Any, dict[str, float | None]] = {}
    for name, a, b, rank, median_at, p90_at in session.execute(query):
        group = out.setdefault(name, {"median": None, "p90": None})
        if rank == median_at:
            group["median"] = _in(b - a, unit)
        if rank == p90_at:
            group["p90"] = _in(b - a, unit)
    return out


def _figures(session: Session, dimensions: Sequence[str | None], now: datetime, tz: ZoneInfo,
             portable: bool = False, estates: Estates = None
             ) -> dict[str | None, dict[Any, dict[str, Any]]]:
    """The figures per grouping (None: everything) and group.

    On PostgreSQL one pass counts every grouping and ranks the times; elsewhere, or
    with `portable`, each grouping is counted alone and ranked by window functions.
    """
    keys = {d: _key(session, d, tz, now) for d in dimensions}
    if _dialect(session) == "postgresql" and not portable:
        return _counts(session, keys, now, ranked_in_sql=True, estates=estates)
    out: dict[str | None, dict[Any, dict[str, Any]]] = {}
    for dimension, key in keys.items():
        groups = out[dimension] = _counts(session, {dimension: key}, now, False, estates)[dimension]
        for measure in MEASURES:
            for name, values in _ranked(session, key, measure, estates).items():
                groups[name][measure] = values
    return out


def by_group(session: Session, dimensions: Sequence[str | None], now: datetime, tz: ZoneInfo,
             estates: Estates = None) -> dict[str | None, dict[Any, dict[str, Any]]]:
    """The figures per grouping (None: everything) and group key, as counted (no names, no order)."""
    return _figures(session, dimensions, now, tz, estates=estates)


def summary(session: Session, now: datetime, tz: ZoneInfo, *,
            portable: bool = False, estates: Estates = None) -> dict[str, Any]:
    """The figures over every problem ticket, in the shape `flask stats --json` prints.

    `portable` ranks the times by window functions on PostgreSQL too, as on SQLite
    (slower there; tests use it to check both ways agree).
    """
    return _figures(session, [None], now, tz, portable, estates)[None][None]


def _order(name: str) -> tuple[int, str]:
    return (len(name), name) if name.isdigit() else (99, name)


def breakdown(session: Session, dimension: str, now: datetime, tz: ZoneInfo, *,
              portable: bool = False, estates: Estates = None) -> dict[Any, dict[str, Any]]:
    """The figures per category, building, month or handler (name -> figures), in reading order.

    For "handler", per staff member who holds tickets: keys are staff ids, and each
    entry also carries the member's registered "name" and "role".
    """
    return _ordered(session, dimension,
                    _figures(session, [dimension], now, tz, portable, estates)[dimension])


def everything(session: Session, now: datetime, tz: ZoneInfo,
               dimensions: Sequence[str] = DIMENSIONS, estates: Estates = None) -> dict[str, Any]:
    """The summary ("overall") and every breakdown, in one pass over the tickets on PostgreSQL."""
    counted = _figures(session, [None, *dimensions], now, tz, estates=estates)
    return {"overall": counted[None][None],
            **{d: _ordered(session, d, counted[d]) for d in dimensions}}


def _ordered(session: Session, dimension: str,
             groups: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    if dimension == "handler":
        staff = {s.id: s for s in session.scalars(
            select(Staff).where(Staff.id.in_([k for k in groups if k is not None])))}
        return {k: {**groups[k], "name": staff[k].name, "role": staff[k].role}
                for k in sorted(k for k in groups if k in staff)}
    return {name: groups[name] for name in sorted(groups, key=_order)}


def category_states(session: Session, estates: Estates = None) -> dict[str, dict[str, int]]:
    """How many problem tickets each category has in each state."""
    category = func.coalesce(Ticket.category, _inline("other"))
    out: dict[str, dict[str, int]] = {}
    for name, state, n in session.execute(
            select(category, Ticket.state, func.count()).where(_counted(estates))
            .group_by(category, Ticket.state)):
        out.setdefault(name, {})[state] = n
    return {name: out[name] for name in sorted(out)}


def corrected_by_month(session: Session, now: datetime, tz: ZoneInfo,
                       months: dict[str, dict[str, Any]], estates: Estates = None
                       ) -> list[dict[str, Any]]:
    """The share of problem tickets staff corrected (改类, 不是报修), per month they were opened in.

    `months` is `breakdown(..., "month")` (or `everything`'s), whose totals leave out withdrawn
    tickets; they are added back here, since each of them was corrected. Only the corrected
    and withdrawn tickets are read, so this costs little however many tickets there are.
    """
    month = local_month(session, tz, now)
    withdrawn = dict(session.execute(  # type: ignore[arg-type]
        select(month, func.count()).where(Ticket.kind == "problem", Ticket.state == WITHDRAWN,
                                          _in_estates(estates)).group_by(month)).all())
    corrected = dict(session.execute(  # type: ignore[arg-type]
        select(month, func.count(distinct(Ticket.id)))
        .join(LabelledExample, LabelledExample.ticket_id == Ticket.id)
        .where(Ticket.kind == "problem", LabelledExample.source == "staff", _in_estates(estates))
        .group_by(month)).all())
    out = []
    for name in sorted(set(months) | set(withdrawn)):
        tickets = months.get(name, {}).get("tickets", {}).get("total", 0) + withdrawn.get(name, 0)
        fixed = corrected.get(name, 0)
        out.append({"month": name, "tickets": tickets, "corrected": fixed, "share": _share(fixed, tickets)})
    return out
