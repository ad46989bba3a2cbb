"""The /stats figures read from the rollups, in the shapes models/figures.py counts them in.

What never depends on the clock comes from the rollups (models/rollups.py), summed over the
estates asked for; the times' medians and p90s from models/ranks.py; what does depend on the
clock, the overdue tickets, is counted live among the open tickets, which stay few however
many tickets there are. A test drives random histories and checks these figures against a
full recount (models/figures.py), which stays the reference and the command line's way.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Collection, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from models import figures, ranks
from models.estate import Estate
from models.rollups import COUNTS, DIMENSIONS, Rollup, rebuild as recount_rollups
from models.staff import Staff
from models.tickets import IS_OPEN, Ticket

Estates = Collection[int] | None
COUNTED = ("total", "open", "overdue", "resolved", "grid", "rated", "satisfied", "ever", "reopened")
# the counts read per group (overdue is counted live)
KEPT = tuple(name for name in COUNTED if name != "overdue") + tuple(
    f"{short}:{what}" for short in ("response", "fix") for what in ("n", "ver"))


def everything(session: Session, now: datetime, tz: ZoneInfo, estates: Estates = None) -> dict[str, Any]:
    """The summary ("overall"), every breakdown and the categories' states, as `figures.everything`
    and `figures.category_states` give them."""
    chosen = None if estates is None else tuple(sorted(estates))
    counts = _counts(session, chosen)
    late = _overdue(session, now, tz, chosen, counts)
    shown = {group: values for group, values in counts.items() if values.get("total", 0) > 0}
    asks = {group: ranks.Ask(chosen, group[0], group[1], values) for group, values in shown.items()
            if not (group[0] == "handler" and group[1] == "")}  # tickets nobody holds: no handler row
    times = ranks.resolve(session, list(asks.values()), now, tz)
    grouped: dict[str, dict[Any, dict[str, Any]]] = {d: {} for d in DIMENSIONS}
    for group, ask in asks.items():
        dimension, key = group
        values = shown[group] | {"overdue": late.get(group, 0)}
        one = figures.group_figures([values.get(name, 0) for name in COUNTED]) | times[ask]
        grouped[dimension][int(key) if dimension == "handler" else key] = one
    overall = grouped["all"].get("", figures.group_figures([0] * len(COUNTED)))
    out: dict[str, Any] = {"overall": overall}
    for dimension in DIMENSIONS[1:-1]:
        out[dimension] = figures.ordered(session, dimension, grouped[dimension])
    out["handler"] = _handlers(session, grouped["handler"])
    states: dict[str, dict[str, int]] = {}
    for key, what, n in session.execute(
            select(Rollup.key, Rollup.what, func.sum(Rollup.n))
            .where(Rollup.tier == COUNTS, Rollup.dimension == "category", Rollup.what.like("state:%"),
                   _in_estates(Rollup.estate_id, chosen)).group_by(Rollup.key, Rollup.what)):
        if n:
            states.setdefault(key, {})[what.removeprefix("state:")] = int(n)
    out["category_states"] = {key: dict(sorted(states[key].items())) for key in sorted(states)}
    return out


def league(session: Session, now: datetime, tz: ZoneInfo, estates: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each estate's summary (estate id -> figures), for the street's or community's league table."""
    if not estates:
        return {}
    counts: dict[int, dict[str, int]] = {e: {} for e in estates}
    for estate, what, n in session.execute(
            select(Rollup.estate_id, Rollup.what, Rollup.n).where(
                Rollup.tier == COUNTS, Rollup.dimension == "all", Rollup.estate_id.in_(estates))):
        counts[estate][what] = int(n)
    pending = dict(session.execute(  # type: ignore[arg-type]
        select(Ticket.estate_id, func.count()).where(figures.counted_tickets(estates), _not_due(now))
        .group_by(Ticket.estate_id)).all())
    late = {e: counts[e].get("open", 0) - pending.get(e, 0) for e in estates}
    asks = {e: ranks.Ask((e,), "all", "", counts[e]) for e in estates}
    times = ranks.resolve(session, list(asks.values()), now, tz)
    return {e: figures.group_figures([(counts[e] | {"overdue": late.get(e, 0)}).get(name, 0)
                                      for name in COUNTED]) | times[asks[e]] for e in estates}


def rebuild(session: Session, now: datetime, tz: ZoneInfo) -> int:
    """Count the rollups again from the tickets, and rank every group's times once (everything's and
    each estate's), so that the next reader, in any process, reads instead of counting.
    Return the tickets counted."""
    counted = recount_rollups(session, tz)
    everything(session, now, tz)
    league(session, now, tz, list(session.scalars(select(Estate.id).order_by(Estate.id))))
    return counted


def _in_estates(column: Any, estates: tuple[int, ...] | None) -> ColumnElement[bool]:
    return true() if estates is None else column.in_(estates)


def _handlers(session: Session, groups: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Per staff member who holds tickets, by id, with name and role (as figures.ordered gives them;
    read as plain rows: hundreds of staff objects would cost more than all the counts)."""
    staff = {i: (name, role) for i, name, role in session.execute(
        select(Staff.id, Staff.name, Staff.role).where(Staff.id.in_(sorted(groups))))} if groups else {}
    return {k: {**groups[k], "name": staff[k][0], "role": staff[k][1]} for k in sorted(groups) if k in staff}


def _counts(session: Session, estates: tuple[int, ...] | None) -> dict[tuple[str, str], dict[str, int]]:
    """Every group's counts, summed over the estates, one row per group (dimension, key)."""
    kept = Rollup.__table__.c  # plain rows: thousands of groups at a street's scale
    summed = [func.sum(case((kept.what == what, kept.n), else_=0)) for what in KEPT]
    out: dict[tuple[str, str], dict[str, int]] = {}
    for dimension, key, *values in session.execute(
            select(kept.dimension, kept.key, *summed)
            .where(kept.tier == COUNTS, kept.what.in_(KEPT), _in_estates(kept.estate_id, estates))
            .group_by(kept.dimension, kept.key)).all():
        out[(dimension, key)] = {what: int(n or 0) for what, n in zip(KEPT, values)}
    return out


def _overdue(session: Session, now: datetime, tz: ZoneInfo, estates: tuple[int, ...] | None,
             counts: dict[tuple[str, str], dict[str, int]]) -> dict[tuple[str, str], int]:
    """Open tickets past their deadline now, per (dimension, key): the open ones (kept) less those
    not yet due, which are few (deadlines lie days ahead at most) and read by the deadline indexes."""
    waiting = _not_due(now)
    keys = {d: figures.group_key(session, None if d == "all" else d, tz, now) for d in DIMENSIONS}
    pending: dict[tuple[str, str], int] = {}
    for dimension, key in keys.items():
        columns = [] if key is None else [key]
        query = select(*columns, func.count()).where(figures.counted_tickets(estates), waiting)
        for *name, n in session.execute(query.group_by(*columns) if columns else query):
            group = (dimension, "" if not name or name[0] is None else str(name[0]))
            pending[group] = n
    return {group: values.get("open", 0) - pending.get(group, 0) for group, values in counts.items()}


def _not_due(now: datetime) -> ColumnElement[bool]:
    """Open tickets whose deadline (to respond while unclaimed, else to fix) is not past, or unset;
    each arm a range of one partial index (ix_tickets_open_response_due_at, ..._resolve_due_at)."""
    unheld, held = Ticket.assignee_id.is_(None), Ticket.assignee_id.is_not(None)
    return and_(IS_OPEN, or_(
        and_(unheld, Ticket.response_due_at >= now), and_(unheld, Ticket.response_due_at.is_(None)),
        and_(held, Ticket.resolve_due_at >= now), and_(held, Ticket.resolve_due_at.is_(None))))