"""/stats and /stats.json: the governance figures as charts, tables and plain text.

The figures are read, not counted: every ticket change keeps the rollups (models/rollups.py)
in its own transaction, and the medians and p90s are ranked again only for the groups whose
times changed (models/ranks.py); what depends on the clock (overdue) is counted over the open
tickets only. So a fresh process over a million tickets answers at once, and the figures
are what a full recount (models/figures.py, still the command line's way) would say.

A process still keeps the figures KEEP_SECONDS by the app's clock, one count at a time:
readers who come while a count runs wait for that count instead of starting their own, so
a burst of requests costs the database one read, not one each, and a new report shows
within those seconds. Should a count ever take SLOW_SECONDS or more (when the times of more
than ranks.RECOUNT_ABOVE groups changed since anyone read them, one recount ranks them all),
the process keeps its figures and renews them in the background (on the app's
worker pool) when they are CACHE_SECONDS old, or ten times as old as the count took if that
is longer; only a process's first request waits for such a count, for at most WAIT_SECONDS,
after which it is asked to come back (503, Retry-After) while the count goes on.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import Services, current as services
from models import figures, kept_figures, transaction, votes
from models.categories import CATEGORY_NAMES
from models.estates import EstateError, estates as all_estates, selection
from web.pages import page_blueprint

bp = page_blueprint("stats", __name__)
log = logging.getLogger(__name__)

CACHE_SECONDS = 60
KEEP_SECONDS = 5  # figures are never counted twice within this (a burst of readers is one count)
RENEW_FACTOR = 10  # slow figures are kept at least ten times as long as they took to count
SLOW_SECONDS = 1.0  # a count this long is kept and renewed in the background
WAIT_SECONDS = 10.0  # then a first request is told to come back, well before a worker's timeout
VOTES_SHOWN = 12
PLACES = ("estate", "community", "street")  # ?estate=<id or name>&community=...&street=...
STATS_BAD = {"estate": "没有叫“{value}”的小区，请检查小区名称或编号。",
             "community": "没有“{value}”这个社区的小区，请检查社区名称。",
             "street": "没有“{value}”这个街道的小区，请检查街道名称。"}
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
        """Return the figures: kept ones while fresh enough, else those of the one count running.

        Quick figures are kept KEEP_SECONDS, then counted again: every reader waits for the
        same count. Slow figures are answered from the last ones at once while `submit` runs
        one renewal. The very first count is waited for up to `wait` seconds, after which
        NotReady is raised and the count goes on.
        """
        entry = self.entry
        if entry is not None:
            value, at, took = entry
            # a count taking more than a tenth of the minute waits longer, so that
            # renewing never keeps the database busier than that
            keep = max(CACHE_SECONDS, RENEW_FACTOR * took) if took >= SLOW_SECONDS else KEEP_SECONDS
            if now - at < timedelta(seconds=keep):
                return value
            if took >= SLOW_SECONDS:
                try:
                    self._start(compute, now, submit)
                except RuntimeError:  # the app is shutting down: keep what we have
                    pass
                return value
        try:
            self._start(compute, now, submit).result(timeout=self.wait)
        except TimeoutError:
            if entry is not None:
                return entry[0]  # the recount is slow this time: the last figures meanwhile
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


def cache(key: tuple[int, ...] | None = None) -> Cache:
    """Return this app's figures cache (of everything, or of the estates `key` names)."""
    if key is None:
        return current_app.extensions.setdefault("linli_stats_cache", Cache())
    kept: dict[tuple[int, ...], Cache] = current_app.extensions.setdefault("linli_stats_caches", {})
    return kept.setdefault(key, Cache())  # keys are registered estates' ids only


@dataclass(frozen=True)
class Places:
    """Whose figures a reader asked for: the estates (None: everything), and what they are called."""

    estates: tuple[int, ...] | None = None
    title: str | None = None
    # the estates side by side when more than one (None: every estate's, looked up in the count)
    names: tuple[tuple[int, str], ...] | None = None


def places(session: Session, args: Any) -> Places:
    """Read ?estate=, ?community= and ?street=; raise EstateError (with the message) when none fits."""
    given = {name: str(args.get(name, "")).strip() for name in PLACES}
    if not any(given.values()):
        return Places()  # everything: nothing to look up, so kept figures cost no query
    for name, value in given.items():
        if value:
            try:
                selection(session, **{name: value})
            except EstateError:
                raise EstateError(STATS_BAD[name].format(value=value[:20])) from None
    try:
        chosen = selection(session, **{k: v or None for k, v in given.items()})
    except EstateError:
        raise EstateError(STATS_BAD["estate"].format(value=given["estate"][:20])) from None
    assert chosen is not None  # something was asked for
    names = tuple((e.id, e.name) for e in chosen) if len(chosen) > 1 else ()
    title = "、".join(e.name for e in chosen) if given["estate"] or len(chosen) == 1 \
        else given["community"] or given["street"]
    return Places(tuple(e.id for e in chosen), title, names)


def league(session: Session, now: datetime, s: Services, names: tuple[tuple[int, str], ...] | None,
           ) -> list[dict[str, Any]]:
    """The estates side by side: grid-settled share, response and fix times, satisfaction, overdue."""
    if names is None:
        every = all_estates(session)
        names = tuple((e.id, e.name) for e in every) if len(every) > 1 else ()
    each = kept_figures.league(session, now, s.tz, [estate_id for estate_id, _name in names])
    rows = []
    for estate_id, name in names:
        one = each[estate_id]
        rows.append({"estate": name, "id": estate_id, "tickets": one["tickets"],
                     "grid_resolved_share": one["grid_resolved_share"],
                     "first_response_minutes": one["first_response_minutes"],
                     "resolve_hours": one["resolve_hours"],
                     "satisfaction_rate": one["satisfaction_rate"], "overdue": one["tickets"]["overdue"]})
    return rows


def collect(session: Session, now: datetime, s: Services, where: Places = Places()) -> dict[str, Any]:
    """Every figure the page shows (of the estates asked for), as plain data in reading order.

    Medians newly ranked are kept for the next reader (models/ranks.py): the caller commits.
    """
    tz = s.tz
    chosen = where.estates
    counted = kept_figures.everything(session, now, tz, estates=chosen)
    return {
        "generated_at": now.astimezone(tz).isoformat(timespec="seconds"),
        "targets": TARGETS,
        "place": where.title,
        "overall": counted["overall"],
        # the street's (or community's) estates side by side
        "estates": league(session, now, s, where.names),
        "category_states": [{"category": name, "states": states}
                            for name, states in counted["category_states"].items()],
        "categories": [{"category": name, **values} for name, values in counted["category"].items()],
        "months": [{"month": name, **values} for name, values in counted["month"].items()],
        # tickets staff corrected (改类, 不是报修): how often the engine misread, month by month
        "corrections": figures.corrected_by_month(session, now, tz, counted["month"], chosen),
        "buildings": sorted(({"building": name, **values}
                             for name, values in counted["building"].items()),
                            key=_by_time_to_fix),
        "handlers": sorted(counted["handler"].values(), key=_by_time_to_fix),
        "votes": turnout(session, now, chosen),
    }


def _by_time_to_fix(row: dict[str, Any]) -> tuple[bool, float, int]:
    """Fastest median fix first; those with nothing fixed yet last, busiest first."""
    median = row["resolve_hours"]["median"]
    return (median is None, median or 0.0, -row["tickets"]["total"])


def turnout(session: Session, now: datetime, estates: tuple[int, ...] | None = None,
            ) -> list[dict[str, Any]]:
    """The newest votes' turnout by area and by heads, counted as `vote show` counts them."""
    query = select(votes.Vote).where(votes.Vote.opens_at <= now)
    if estates is not None:
        query = query.where(votes.Vote.estate_id.in_(estates))
    shown = session.scalars(query.order_by(votes.Vote.id.desc()).limit(VOTES_SHOWN)).all()
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


def current(where: Places = Places()) -> dict[str, Any]:
    """Return the figures (of the estates asked for), from the cache when they are fresh enough."""
    s = services()

    def compute() -> dict[str, Any]:
        with transaction(s.sessions) as session:  # commits the medians it ranked anew
            return collect(session, s.clock(), s, where)

    return cache(where.estates).get(s.clock(), compute, s.executor.submit)


def _asked() -> Places:
    s = services()
    with s.sessions() as session:
        return places(session, request.args)


@bp.get("/stats")
def page() -> ResponseReturnValue:
    """The figures as charts, with every number also written out as text."""
    try:
        where = _asked()
        stats = current(where)
    except EstateError as err:
        return render_template("stats_error.html", message=str(err)), 400
    except NotReady:
        return render_template("stats.html", stats=None), 503, {"Retry-After": "10"}
    named = {"estate_name": where.title} if where.title else {}
    return render_template("stats.html", stats=stats, names=CATEGORY_NAMES, **named)


@bp.get("/stats.json")
def as_json() -> ResponseReturnValue:
    """The same figures as JSON."""
    try:
        return jsonify(current(_asked()))
    except EstateError as err:
        return jsonify({"error": str(err)}), 400
    except NotReady:
        return jsonify({"error": "counting", "retry_after": 10}), 503, {"Retry-After": "10"}
