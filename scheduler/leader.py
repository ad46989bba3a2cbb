"""The scheduler: APScheduler on the project database, firing only while it holds the lease.

Started only by `flask serve` (in-process, when [scheduler] enabled) and `flask
scheduler` (production: one process beside the web workers); never by create_app
or a web worker, because an APScheduler job store cannot be shared by schedulers
that fire at once. Any number may be started: the one holding the lease fires, the
others stand by and poll, and one of them takes over when the holder stops
(it releases the lease) or dies (the lease expires unrenewed).

A standby runs no APScheduler at all. On taking the lease a scheduler builds a
fresh one, registers every job under its name (keeping the stored next run time
when the schedule is unchanged, so a run that came due while no scheduler was up
still happens, once), and starts firing. On losing the lease it stops at once.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Sequence

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from bot.services import Services
from models import StoredJob
from scheduler import runner
from scheduler.jobs import JOBS, JobSpec
from scheduler.lease import Lease

log = logging.getLogger(__name__)


class AppEngineJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store on the app's own engine, which it must not dispose."""

    def shutdown(self) -> None:
        """Leave the engine open: the app, not the scheduler, owns it."""


class Scheduler:
    """One contender: fires the jobs while it holds the lease, stands by otherwise."""

    def __init__(self, services: Services, jobs: Sequence[JobSpec] = JOBS, *,
                 lease_seconds: float = 30.0, renew_seconds: float = 5.0) -> None:
        self.services, self.jobs, self.renew = services, tuple(jobs), renew_seconds
        self.lease = Lease(services.sessions, timedelta(seconds=lease_seconds))
        self._aps: BackgroundScheduler | None = None
        self._binding: runner.Binding | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def firing(self) -> bool:
        """Return whether this scheduler holds the lease and fires jobs."""
        return self._aps is not None

    def start(self) -> bool:
        """Try for the lease now, then keep renewing or waiting in the background."""
        self._tick()
        self._thread = threading.Thread(target=self._loop, name="scheduler-lease", daemon=True)
        self._thread.start()
        log.info("scheduler %s: %s", self.lease.holder, "firing" if self.firing else "standing by")
        return self.firing

    def shutdown(self) -> None:
        """Stop firing, let running jobs finish, and release the lease to a standby."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.firing:
            self._stand_down(wait=True)
        try:
            if self.lease.valid_until is not None:
                self.lease.release()
        except SQLAlchemyError:
            log.warning("scheduler %s: could not release the lease; it will expire",
                        self.lease.holder, exc_info=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.renew):
            self._tick()

    def _tick(self) -> None:
        try:
            held = self.lease.acquire()
        except SQLAlchemyError:
            log.warning("scheduler %s: cannot renew the lease", self.lease.holder, exc_info=True)
            # Stop before a standby may find the lease expired, not after.
            held = self.lease.still_valid(margin=timedelta(seconds=2 * self.renew))
        if held and not self.firing:
            self._take_over()
        elif not held and self.firing:
            log.warning("scheduler %s: lost the lease; standing by", self.lease.holder)
            self._stand_down(wait=False)

    def _take_over(self) -> None:
        aps = self._build()
        binding = runner.bind(self.services, self.jobs)
        try:
            aps.start(paused=True)  # register before anything fires
            self._register(aps)
            aps.resume()
        except BaseException as err:
            if aps.running:
                aps.shutdown(wait=False)
            runner.unbind(binding)
            if not isinstance(err, SQLAlchemyError):
                raise
            log.warning("scheduler %s: could not start; retrying", self.lease.holder, exc_info=True)
            return
        self._aps, self._binding = aps, binding
        log.info("scheduler %s: took the lease; firing %d job(s)", self.lease.holder,
                 len(self.jobs))

    def _build(self) -> BackgroundScheduler:
        store = AppEngineJobStore(engine=self.services.engine, tablename=StoredJob.__tablename__)
        return BackgroundScheduler(
            timezone=self.services.tz, jobstores={"default": store},
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults=runner.JOB_DEFAULTS)

    def _register(self, aps: BackgroundScheduler) -> None:
        stored = {job.id: job for job in aps.get_jobs()}
        for spec in self.jobs:
            trigger = runner.trigger_for(spec, self.services.tz)
            old = stored.pop(spec.name, None)
            keep = {}
            if old is not None and old.next_run_time and runner.same_schedule(old.trigger, trigger):
                # A run that came due while no scheduler was up still happens (coalesced).
                keep["next_run_time"] = old.next_run_time
            aps.add_job(runner.run_job, trigger, args=(spec.name,), id=spec.name, name=spec.name,
                        replace_existing=True, **runner.job_options(spec), **keep)
        for job_id in stored:  # a job no longer in the list must not fire from the store
            aps.remove_job(job_id)

    def _stand_down(self, *, wait: bool) -> None:
        aps, binding = self._aps, self._binding
        self._aps = self._binding = None
        if aps is not None:
            aps.shutdown(wait=wait)
        if binding is not None:
            runner.unbind(binding)


def start_if_enabled(services: Services) -> Scheduler | None:
    """Start a scheduler in this process when [scheduler] enabled is true (the default)."""
    if not services.config.scheduler.enabled:
        return None
    scheduler = Scheduler(services)
    scheduler.start()
    return scheduler
