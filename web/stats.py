"""/stats and /stats.json: the governance figures as charts, tables and plain text.

The figures are SQL aggregates (models/figures.py). Over a million tickets one
computation takes seconds, so each process keeps the last one and renews it in the
background (on the app's worker pool) once it is CACHE_SECONDS old by the app's
clock: the page is at most a minute and one computation behind, and only the
first request a process serves waits for the figures.
"""
from __future__ import annotations

import logging
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
log = logging.getLogger(__name__)

CACHE_SECONDS = 60
VOTES_SHOWN = 12
# The field report's targets: over 70% settled in the grid, over 90% satisfied.
TARGETS = {"grid_resolved_share": 0.7, "satisfaction_rate": 0.9, "quorum": round(2 / 3, 4)}


@dataclass
class Cache:
    """The last figures a process computed, and when (by the app's clock)."""

    entry: tuple[dict[str, Any], datetime] | None = None  # the figures and when; one swap
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while computing

    def get(self, now: datetime, compute: Callable[[], dict[str, Any]],
            submit: Callable[..., object]) -> dict[str, Any]:
        """Return the figures; once they are CACHE_SECONDS old, renew them in the background.

        Only the very first request waits for a computation; later ones are answered
        from the last figures at once, while `submit` runs one renewal at a time.
        """
        entry = self.entry
        if entry is not None:
            value, at = entry
            if now - at >= timedelta(seconds=CACHE_SECONDS) and self.lock.acquire(blocking=False):
                try:
                    submit(self._renew, compute, now)
                except RuntimeError:  # the app is shutting down: keep what we have
                    self.lock.release()
            return value
        with self.lock:
            if self.entry is None:
                self.entry = (compute(), now)
            return self.entry[0]

    def _renew(self, compute: Callable[[], dict[str, Any]], now: datetime) -> None:
        try:
            self.entry = (compute(), now)
        except Exception:  # keep the last figures; the next request tries again
            log.exception("could not renew the figures for /stats")
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

    return cache().get(s.clock(), compute, s.executor.submit)


@bp.get("/stats")
def page() -> ResponseReturnValue:
    """The figures as charts, with every number also written out as text."""
    return render_template("stats.html", stats=current(), names=replies.CATEGORY_NAMES)


@bp.get("/stats.json")
def as_json() -> ResponseReturnValue:
    """The same figures as JSON."""
    return jsonify(current())
