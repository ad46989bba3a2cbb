"""The scheduled jobs, as data: name, what runs, and when (Asia/Shanghai).

Each job is a plain function of the app's services that does its work now and
returns one line saying what it did; `flask jobs run NAME` calls the same function.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from bot import followthrough, market, outbox, votes
from bot.services import Services


@dataclass(frozen=True)
class JobSpec:
    """A job: its name, its function, and an APScheduler trigger ("cron" or "interval")."""

    name: str
    func: Callable[[Services], str]
    trigger: str
    when: dict[str, Any] = field(default_factory=dict)
    help: str = ""
    # What the trigger runs, when a timed run must differ from `flask jobs run` (which runs `func`).
    on_schedule: Callable[[Services], str] | None = None


def deliver_outbox(services: Services) -> str:
    """Send every queued message that is due."""
    return f"{outbox.deliver_due(services)} message(s) sent"


JOBS: tuple[JobSpec, ...] = (
    JobSpec("outbox", deliver_outbox, "interval", {"seconds": 15},
            "send queued messages that are due (retries, held ones released)"),
    JobSpec("sla_sweep", followthrough.sla_sweep, "interval", {"seconds": 60},
            "warn handlers before deadlines, climb overdue tickets a level, remind at street"),
    JobSpec("look_back", followthrough.look_back, "interval", {"minutes": 30},
            "回头看: ask whether tickets fixed [followup].look_back ago stayed fixed"),
    JobSpec("daily_digest", followthrough.daily_digest, "cron", {"hour": 8, "minute": 30},
            "post new, open, overdue and yesterday's resolved tickets to each staff group"),
    JobSpec("vote_close", votes.vote_close, "interval", {"seconds": 60},
            "announce votes that opened, remind non-voters a day before, close and publish due votes"),
    JobSpec("market_reminder", market.market_reminder, "cron", {"minute": "0,30"},
            "remind subscribers and groups of market day: the evening before and that morning",
            on_schedule=market.market_reminder_due),
)


def by_name(name: str) -> JobSpec:
    """Return the job called `name`, or raise KeyError."""
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(name)
