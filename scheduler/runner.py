"""How a stored job finds the app, and how a JobSpec becomes an APScheduler job.

APScheduler pickles each job into the database as a reference to a module-level
function plus its arguments; it cannot pickle the app's Services (an engine, thread
pools). So every stored job is `scheduler.runner:run_job` with the job's name, and
the scheduler that holds the lease binds its Services and job list here before it
fires anything, and unbinds when it stops. Only the lease holder fires, so a
process has at most one binding in use; `flask jobs run` skips the binding and
calls `run` with the app's Services directly, which is the same code path.

Late runs, deliberately: `coalesce` folds every run missed while no scheduler was
up into one; `misfire_grace_time` (a day, unless a job gives its own in `when`) is
how late that one run may still start, so a daily job missed in an outage runs
once when the scheduler is back, and anything staler is skipped and logged as
missed; `max_instances=1` keeps a slow run from overlapping the next.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Iterable, Mapping

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.services import Services
from scheduler.jobs import JobSpec

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 24 * 3600
JOB_DEFAULTS: dict[str, Any] = {
    "coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}
# The only job option a JobSpec may set (in `when`); coalescing and one instance are rules.
PER_JOB_OPTIONS = ("misfire_grace_time",)
TRIGGERS: dict[str, type[BaseTrigger]] = {
    "cron": CronTrigger, "interval": IntervalTrigger, "date": DateTrigger}


@dataclass(frozen=True)
class Binding:
    """The Services and jobs of the scheduler that fires in this process."""

    services: Services
    jobs: Mapping[str, JobSpec]


_bound: Binding | None = None
_guard = threading.Lock()


def bind(services: Services, jobs: Iterable[JobSpec]) -> Binding:
    """Make `run_job` use these Services and jobs from now on."""
    global _bound
    binding = Binding(services, {spec.name: spec for spec in jobs})
    with _guard:
        _bound = binding
    return binding


def unbind(binding: Binding) -> None:
    """Forget the binding, unless another scheduler in this process has bound since."""
    global _bound
    with _guard:
        if _bound is binding:
            _bound = None


def run_job(name: str) -> str:
    """Run the named job for the bound app: the function every stored job refers to."""
    binding = _bound
    if binding is None:
        raise RuntimeError(f"job {name!r} fired, but no scheduler in this process is bound")
    spec = binding.jobs.get(name)
    if spec is None:
        raise LookupError(f"job {name!r} is not in the firing scheduler's list")
    return run(spec, binding.services, scheduled=True)


def run(spec: JobSpec, services: Services, *, scheduled: bool = False) -> str:
    """Do the job's work now and return its one-line result (the trigger's variant if fired)."""
    started = time.monotonic()
    line = ((spec.on_schedule or spec.func) if scheduled else spec.func)(services)
    log.info("job %s: %s (%.2f s)", spec.name, line, time.monotonic() - started)
    return line


def trigger_for(spec: JobSpec, tz: tzinfo) -> BaseTrigger:
    """Build the job's trigger in the estate's time zone."""
    try:
        kind = TRIGGERS[spec.trigger]
    except KeyError:
        raise ValueError(f"job {spec.name}: trigger must be one of {', '.join(TRIGGERS)}") from None
    args = {k: v for k, v in spec.when.items() if k not in PER_JOB_OPTIONS}
    return kind(timezone=tz, **args)


def job_options(spec: JobSpec) -> dict[str, Any]:
    """Return the job's APScheduler options: the defaults, and its own grace if it gives one."""
    return {**JOB_DEFAULTS, **{k: v for k, v in spec.when.items() if k in PER_JOB_OPTIONS}}


def same_schedule(old: BaseTrigger, new: BaseTrigger) -> bool:
    """Return whether two triggers fire at the same times (a stored next run still holds)."""
    return (str(old) == str(new)
            and str(getattr(old, "timezone", "")) == str(getattr(new, "timezone", "")))
