"""The governance figures the field report measures, from tickets and their event log.

Satisfaction counts 满意 and 基本满意 (3 stars and up) as satisfied, as the report's
surveys do. A ticket counts as settled at grid level when it was resolved while the
grid held it.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.tickets import OPEN_STATES, Ticket

SATISFIED_FROM = 3
DONE_STATES = ("resolved", "closed")


@dataclass(frozen=True)
class Row:
    """What the figures need of one ticket."""

    category: str
    building: str
    month: str
    state: str
    level: str
    overdue: bool
    response_minutes: float | None
    resolve_hours: float | None
    rating: int | None
    reopened: bool


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no data."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summarise(rows: list[Row]) -> dict[str, Any]:
    """The figures for a set of tickets, in the shape `flask stats --json` prints."""
    done = [r for r in rows if r.state in DONE_STATES]
    rated = [r.rating for r in rows if r.rating is not None]
    responses = [r.response_minutes for r in rows if r.response_minutes is not None]
    fixes = [r.resolve_hours for r in rows if r.resolve_hours is not None]
    ever_done = [r for r in rows if r.resolve_hours is not None]
    return {
        "tickets": {"total": len(rows), "open": sum(r.state in OPEN_STATES for r in rows),
                    "overdue": sum(r.overdue for r in rows), "resolved": len(done)},
        "grid_resolved_share": _share(sum(r.level == "grid" for r in done), len(done)),
        "first_response_minutes": {"median": _round(percentile(responses, 0.5)),
                                   "p90": _round(percentile(responses, 0.9))},
        "resolve_hours": {"median": _round(percentile(fixes, 0.5)),
                          "p90": _round(percentile(fixes, 0.9))},
        "satisfaction_rate": _share(sum(r >= SATISFIED_FROM for r in rated), len(rated)),
        "reopen_rate": _share(sum(r.reopened for r in ever_done), len(ever_done)),
    }


def rows(session: Session, now: datetime, tz: ZoneInfo) -> list[Row]:
    """Read every problem ticket as a Row."""
    out = []
    for t in session.scalars(select(Ticket).where(Ticket.kind == "problem")):
        due = t.response_due_at if t.assignee_id is None else t.resolve_due_at
        out.append(Row(
            category=t.category or "other", building=t.building or "—",
            month=t.created_at.astimezone(tz).strftime("%Y-%m"), state=t.state, level=t.level,
            overdue=t.state in OPEN_STATES and due is not None and due < now,
            response_minutes=(t.first_response_at - t.created_at).total_seconds() / 60
            if t.first_response_at else None,
            resolve_hours=(t.resolved_at - t.created_at).total_seconds() / 3600
            if t.resolved_at else None,
            rating=t.rating, reopened=(t.reopen_count or 0) > 0))
    return out


def breakdown(items: Iterable[Row], key: Callable[[Row], str]) -> dict[str, dict[str, Any]]:
    """The figures per category, building or month."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in items:
        groups[key(row)].append(row)
    order = sorted(groups, key=lambda name: (len(name), name) if name.isdigit() else (99, name))
    return {name: summarise(groups[name]) for name in order}
