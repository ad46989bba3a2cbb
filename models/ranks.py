"""Exact medians and 90th percentiles of the /stats times, without ranking every ticket.

A group's times are ranked at most once per change: `rollup_ranks` keeps each group's median
and p90 (per scope: everything, or a set of estates) with the version of its times they were
ranked at (the rollups' "<m>:ver", which every change of a time in the group raises). A
group whose version moved is ranked again, exactly, by reading little:
- the rollups' coarse histogram (models/rollups.py) says which bucket holds rank ceil(n/2)
  and which ceil(9n/10), and how far into the bucket;
- the ticket at that place is read from the tickets' kept lengths (response_us, fix_us),
  ordered by an index, among the tickets of that group and bucket only.
When very many groups moved (a rebuild, a long quiet process), one recount ranks them all
(models/figures.py), as before, and keeps the answers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Index, and_, func, or_, select, text, true
from sqlalchemy.orm import Session

from models import figures
from models.db import insert_for
from models.rollups import BUCKETS, MEASURES, RankCache, Rollup, bucket_floor
from models.tickets import OPEN_STATES, Ticket

RECOUNT_ABOVE = 200  # more groups to rank again than this: one recount ranks them all
Ranks = dict[str, dict[str, float | None]]  # measure -> {"median", "p90"}

# the tickets' kept lengths, in order, per group: a rank is read from one bucket's few entries
INDEXES = [Index(f"ix_tickets_{column}{'_' + by if by else ''}", *([getattr(Ticket, by)] if by else []),
                 getattr(Ticket, column), sqlite_where=text(f"{column} IS NOT NULL"),
                 postgresql_where=text(f"{column} IS NOT NULL"))
           for column in ("response_us", "fix_us") for by in ("", "category", "building", "assignee_id")]
# open tickets by deadline: /stats counts those not yet due (few) and subtracts them from the open
_OPEN = text("state IN ({})".format(", ".join(f"'{state}'" for state in OPEN_STATES)))
INDEXES += [Index(f"ix_tickets_open_{column}", getattr(Ticket, column), sqlite_where=_OPEN,
                  postgresql_where=_OPEN) for column in ("response_due_at", "resolve_due_at")]


@dataclass(frozen=True)
class Ask:
    """One group whose times are wanted: in which estates (None: all), which group, its counts."""

    estates: tuple[int, ...] | None
    dimension: str
    key: str
    counts: dict[str, int] = field(compare=False, hash=False)

    @property
    def scope(self) -> str:
        return "*" if self.estates is None else ",".join(map(str, self.estates))


def resolve(session: Session, asks: Sequence[Ask], now: datetime, tz: ZoneInfo) -> dict[Ask, Ranks]:
    """Each group's median and p90 per measure: kept ones while their version holds, else ranked anew."""
    scopes = sorted({ask.scope for ask in asks})
    table = RankCache.__table__.c  # plain rows: thousands of groups at a street's scale
    kept = {(r.scope, r.dimension, r.key, r.measure): r for r in session.execute(
        select(table.scope, table.dimension, table.key, table.measure, table.version, table.median,
               table.p90).where(table.scope.in_(scopes))).all()} if scopes else {}
    out: dict[Ask, Ranks] = {}
    stale: list[tuple[Ask, str, int]] = []
    for ask in asks:
        ranks = out[ask] = {}
        for measure, (short, _end, _column) in MEASURES.items():
            version, found = ask.counts.get(f"{short}:ver", 0), None
            if ask.counts.get(f"{short}:n", 0) > 0:
                found = kept.get((ask.scope, ask.dimension, ask.key, measure))
                if found is None or found.version != version:
                    stale.append((ask, measure, version))
            ranks[measure] = {"median": found.median if found else None, "p90": found.p90 if found else None}
    if not stale:
        return out
    fresh = _recount(session, stale, now, tz) if len(stale) > RECOUNT_ABOVE \
        else {(ask, measure): _ranked(session, ask, measure, tz) for ask, measure, _v in stale}
    for ask, measure, _version in stale:
        out[ask][measure] = fresh[(ask, measure)]
    _keep(session, [(ask, measure, version, fresh[(ask, measure)]) for ask, measure, version in stale])
    return out


def _keep(session: Session, ranked: list[tuple[Ask, str, int, dict[str, float | None]]]) -> None:
    """Keep newly ranked figures with their versions (for the next reader, in any process)."""
    rows = sorted(({"scope": ask.scope, "dimension": ask.dimension, "key": ask.key, "measure": measure,
                    "version": version, **values} for ask, measure, version, values in ranked),
                  key=lambda r: (r["scope"], r["dimension"], r["key"], r["measure"]))
    insert = insert_for(session)
    for start in range(0, len(rows), 300):
        statement = insert(RankCache).values(rows[start:start + 300])
        session.execute(statement.on_conflict_do_update(
            index_elements=["scope", "dimension", "key", "measure"],
            set_={c: statement.excluded[c] for c in ("version", "median", "p90")}))


def _ranked(session: Session, ask: Ask, measure: str, tz: ZoneInfo) -> dict[str, float | None]:
    """One group's median and p90 (nearest rank), from its histogram and one bucket's tickets each."""
    short, _end, _column = MEASURES[measure]
    histogram = sorted((int(what.split(":")[1]), int(n)) for what, n in session.execute(
        select(Rollup.what, func.sum(Rollup.n)).where(
            Rollup.tier == BUCKETS, Rollup.dimension == ask.dimension, Rollup.key == ask.key,
            Rollup.what.like(f"{short}:%"), _in_estates(Rollup.estate_id, ask.estates))
        .group_by(Rollup.what)))
    n = sum(count for _b, count in histogram)
    if n == 0:
        return {"median": None, "p90": None}
    return {"median": _at(session, ask, measure, histogram, (n + 1) // 2, tz),
            "p90": _at(session, ask, measure, histogram, (9 * n + 9) // 10, tz)}


def _at(session: Session, ask: Ask, measure: str, histogram: list[tuple[int, int]], rank: int,
        tz: ZoneInfo) -> float | None:
    """The time at `rank` (1-based, ascending) in the group, in the measure's unit."""
    start, end, unit = figures.MEASURES[measure]
    column = getattr(Ticket, MEASURES[measure][2])
    before = 0
    for b, count in histogram:
        if before + count >= rank:
            break
        before += count
    low, high = bucket_floor(b), bucket_floor(b + 1)
    query = select(start, end).where(column.is_not(None), column < high, _in_group(ask, tz),
                                     _in_estates(Ticket.estate_id, ask.estates))
    if low is not None:
        query = query.where(column >= low)
    row = session.execute(query.order_by(column).offset(rank - before - 1).limit(1)).first()
    return None if row is None else figures.in_unit(row[1] - row[0], unit)


def _in_estates(column: Any, estates: tuple[int, ...] | None) -> ColumnElement[bool]:
    return true() if estates is None else column.in_(estates)


def _in_group(ask: Ask, tz: ZoneInfo) -> ColumnElement[bool]:
    """The tickets of one group, written so that the group's index serves it."""
    key = ask.key
    if ask.dimension == "category":
        return or_(Ticket.category == key, Ticket.category.is_(None)) if key == "other" \
            else Ticket.category == key
    if ask.dimension == "building":
        return or_(Ticket.building == key, Ticket.building.is_(None)) if key == "—" \
            else Ticket.building == key
    if ask.dimension == "handler":
        return Ticket.assignee_id.is_(None) if key == "" else Ticket.assignee_id == int(key)
    if ask.dimension == "month":
        year, month = map(int, key.split("-"))
        first = datetime(year, month, 1, tzinfo=tz)
        after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
        return and_(Ticket.created_at >= first, Ticket.created_at < after)
    return true()


def _recount(session: Session, stale: list[tuple[Ask, str, int]], now: datetime,
             tz: ZoneInfo) -> dict[tuple[Ask, str], dict[str, float | None]]:
    """Rank many groups at once by a recount of their scopes (models/figures.py)."""
    out: dict[tuple[Ask, str], dict[str, float | None]] = {}
    for scope in sorted({ask.estates or () for ask, _m, _v in stale}):
        mine = [(ask, m) for ask, m, _v in stale if (ask.estates or ()) == scope]
        dimensions = sorted({ask.dimension for ask, _m in mine})
        counted = figures.by_group(session, [None if d == "all" else d for d in dimensions], now, tz,
                                   estates=scope or None)
        for ask, measure in mine:
            group = counted[None if ask.dimension == "all" else ask.dimension].get(_figures_key(ask), {})
            out[(ask, measure)] = group.get(measure, {"median": None, "p90": None})
    return out


def _figures_key(ask: Ask) -> Any:
    """The group's key as models/figures.py writes it."""
    if ask.dimension == "all":
        return None
    if ask.dimension == "handler":
        return int(ask.key) if ask.key else None
    return ask.key
