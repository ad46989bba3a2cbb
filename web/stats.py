"""/stats and /stats.json: the governance figures as charts, tables and plain text.

The figures are SQL aggregates (models/figures.py). On an estate's few thousand
tickets they take milliseconds and every request counts afresh, so a report shows
at once. Over a million tickets one count takes seconds: once a count has taken
SLOW_SECONDS or more, the process keeps its figures and renews them in the
background (on the app's worker pool) when they are CACHE_SECONDS old by the app's
clock, or ten times as old as the count took if that is longer, so that renewing
keeps the database busy a tenth of the time at most. Readers are answered at once
from the last figures; only a process's first request waits for a count, for at
most WAIT_SECONDS, after which it is asked to come back (503, Retry-After) while
the count goes on.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import Services, current as services
from models import figures, votes
from models.categories import CATEGORY_NAMES
from web.pages import page_blueprint

bp = page_blueprint("stats", __name__)
log = logging.getLogger(__name__)

CACHE_SECONDS = 60
RENEW_FACTOR = 10  # slow figures are kept at least ten times as long as they took to count
SLOW_SECONDS = 1.0  # a count this long is kept and renewed in the background
WAIT_SECONDS = 10.0  # then a first request is told to come back, well before a worker's timeout
VOTES_SHOWN = 12
# The field report's targets: over 70% settled in the grid, over 90% satisfied.
TARGETS = {"grid_resolved_share": 0.7, "satisfaction_rate": 0.9, "quorum": round(2 / 3, 4)}


class NotReady(Exception):
    """The first figures are still being counted."""


@dataclass
class Cache:
    """The last figures a process counted, when (by the app's clock), and if that was slow."""

    # the figures, when they were counted and how many seconds that took; swapped whole
    entry: tuple[dict[str, Any], datetime, float] | None = None
    running: Future[None] | None = None  # the count under way, if any
    wait: float = WAIT_SECONDS  # how long a first request waits for the first count
    timer: Callable[[], float] = time.perf_counter  # measures how long a count took
    guard: threading.Lock = field(default_factory=threading.Lock)

    def get(self, now: datetime, compute: Callable[[], dict[str, Any]],
            submit: Callable[..., Future[None]]) -> dict[str, Any]:
        """Return the figures: fresh if they are quick to count, else the last ones kept.

        Slow figures are answered from the last ones at once while `submit` runs one
        renewal; the very first count is waited for up to `wait` seconds, after which
        NotReady is raised and the count goes on.
        """
        entry = self.entry
        if entry is not None and entry[2] >= SLOW_SECONDS:
            value, at, took = entry
            # a count taking more than a tenth of the minute waits longer, so that
            # renewing never keeps the database busier than that
            if now - at >= timedelta(seconds=max(CACHE_SECONDS, RENEW_FACTOR * took)):
                try:
                    self._start(compute, now, submit)
                except RuntimeError:  # the app is shutting down: keep what we have
                    pass
            return value
        if entry is not None:  # quick to count: count again
            entry = self._timed(compute, now)
            self.entry = entry
            return entry[0]
        try:
            self._start(compute, now, submit).result(timeout=self.wait)
        except TimeoutError:
            raise NotReady() from None
        entry = self.entry
        assert entry is not None  # the count finished without an error
        return entry[0]

    def _start(self, compute: Callable[[], dict[str, Any]], now: datetime,
               submit: Callable[..., Future[None]]) -> Future[None]:
        """Start a count unless one is under way; return it."""
        with self.guard:
            if self.running is None or self.running.done():
                self.running = submit(self._count, compute, now)
                self.running.add_done_callback(_log_failure)
            return self.running

    def _count(self, compute: Callable[[], dict[str, Any]], now: datetime) -> None:
        self.entry = self._timed(compute, now)

    def _timed(self, compute: Callable[[], dict[str, Any]],
               now: datetime) -> tuple[dict[str, Any], datetime, float]:
        started = self.timer()
        value = compute()
        return value, now, self.timer() - started


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("could not count the figures for /stats", exc_info=future.exception())


def cache() -> Cache:
    """Return this app's figures cache."""
    return current_app.extensions.setdefault("linli_stats_cache", Cache())


def collect(session: Session, now: datetime, s: Services) -> dict[str, Any]:
    """Every figure the page shows, as plain data in reading order."""
    tz = s.tz
    counted = figures.everything(session, now, tz)
    return {
        "generated_at": now.astimezone(tz).isoformat(timespec="seconds"),
        "targets": TARGETS,
        "overall": counted["overall"],
        "category_states": [{"category": name, "states": states}
                            for name, states in figures.category_states(session).items()],
        "categories": [{"category": name, **values} for name, values in counted["category"].items()],
        "months": [{"month": name, **values} for name, values in counted["month"].items()],
        "buildings": sorted(({"building": name, **values}
                             for name, values in counted["building"].items()),
                            key=_by_time_to_fix),
        "handlers": sorted(counted["handler"].values(), key=_by_time_to_fix),
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
    try:
        stats = current()
    except NotReady:
        return render_template("stats.html", stats=None), 503, {"Retry-After": "10"}
    return render_template("stats.html", stats=stats, names=CATEGORY_NAMES)


@bp.get("/stats.json")
def as_json() -> ResponseReturnValue:
    """The same figures as JSON."""
    try:
        return jsonify(current())
    except NotReady:
        return jsonify({"error": "counting", "retry_after": 10}), 503, {"Retry-After": "10"}
