"""/stats and /stats.json: the governance figures as charts, tables and plain text.

The figures are SQL aggregates (models/figures.py). Over a million tickets one
computation takes seconds, so each process keeps the last one for CACHE_SECONDS
(by the app's clock): the page may be up to a minute behind, and while one request
recomputes, the others are served the previous figures instead of waiting.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import replies
from bot.services import Services
from models import figures, votes
from web.pages import page_blueprint

bp = page_blueprint("stats", __name__)

CACHE_SECONDS = 60
VOTES_SHOWN = 12
# The field report's targets: over 70% settled in the grid, over 90% satisfied.
TARGETS = {"grid_resolved_share": 0.7, "satisfaction_rate": 0.9, "quorum": round(2 / 3, 4)}


@dataclass
class Cache:
    """The last figures a process computed, and when (by the app's clock)."""

    value: dict[str, Any] | None = None
    at: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, now: datetime, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Return figures at most CACHE_SECONDS old, or older ones while another request renews them."""
        fresh = self.at is not None and now - self.at < timedelta(seconds=CACHE_SECONDS)
        if self.value is not None and fresh:
            return self.value
        if self.value is not None and not self.lock.acquire(blocking=False):
            return self.value  # someone is renewing them now
        if self.value is None:
            self.lock.acquire()  # the very first figures: wait for whoever computes them
            if self.value is not None:
                self.lock.release()
                return self.value
        try:
            self.value, self.at = compute(), now
            return self.value
        finally:
            self.lock.release()


def services() -> Services:
    """Return the running app's services."""
    return current_app.extensions["linli"]


def cache() -> Cache:
    """Return this app's figures cache."""
    return current_app.extensions.setdefault("linli_stats_cache", Cache())


def collect(session: Session, now: datetime, s: Services) -> dict[str, Any]:
    """Every figure the page shows, as plain data in reading order."""
    tz = s.tz
    buildings = figures.breakdown(session, "building", now, tz)
    handlers = figures.breakdown(session, "handler", now, tz)
    return {
        "generated_at": now.astimezone(tz).isoformat(timespec="seconds"),
        "targets": TARGETS,
        "overall": figures.summary(session, now, tz),
        "category_states": [{"category": name, "states": states}
                            for name, states in figures.category_states(session).items()],
        "categories": [{"category": name, **values} for name, values in
                       figures.breakdown(session, "category", now, tz).items()],
        "months": [{"month": name, **values} for name, values in
                   figures.breakdown(session, "month", now, tz).items()],
        "buildings": sorted(({"building": name, **values} for name, values in buildings.items()),
                            key=_by_time_to_fix),
        "handlers": sorted(handlers.values(), key=_by_time_to_fix),
        "votes": turnout(session, now),
    }


def _by_time_to_fix(row: dict[str, Any]) -> tuple[bool, float, int]:
    """Fastest median fix first; those with nothing fixed yet last, busiest first."""
    median = row["resolve_hours"]["median"]
    return (median is None, median or 0.0, -row["tickets"]["total"])


def turnout(session: Session, now: datetime) -> list[dict[str, Any]]:
    """The newest votes' turnout by area and by heads, counted as `vote show` counts them."""
    shown = session.scalars(select(votes.Vote).where(votes.Vote.opens_at <= now)
                            .order_by(votes.Vote.id.desc()).limit(VOTES_SHOWN)).all()
    out = []
    for vote in reversed(shown):
        tally = votes.count(session, vote)
        out.append({"vote": vote.id, "title": vote.title, "kind": vote.kind,
                    "state": vote.state(now), "eligible_heads": tally.eligible_heads,
                    "voted_heads": tally.voted_heads,
                    "eligible_area": str(tally.eligible_area), "voted_area": str(tally.voted_area),
                    "area_turnout": round(float(tally.area_turnout), 4),
                    "head_turnout": round(float(tally.head_turnout), 4),
                    "quorum_met": tally.quorum_met})
    return out


def current() -> dict[str, Any]:
    """Return the figures, from the cache when they are fresh enough."""
    s = services()

    def compute() -> dict[str, Any]:
        with s.sessions() as session:
            return collect(session, s.clock(), s)

    return cache().get(s.clock(), compute)


@bp.get("/stats")
def page() -> ResponseReturnValue:
    """The figures as charts, with every number also written out as text."""
    return render_template("stats.html", stats=current(), names=replies.CATEGORY_NAMES)


@bp.get("/stats.json")
def as_json() -> ResponseReturnValue:
    """The same figures as JSON."""
    return jsonify(current())
