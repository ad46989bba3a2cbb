"""The scheduler: jobs list and run, one firing scheduler per database, late runs, restarts.

Schedulers here run real APScheduler on real time with sub-second test jobs. What is asserted
is which runs happened, by whom, and for which occurrence: APScheduler logs each run with the
time it was scheduled for, so the tests compare occurrences (exact, on the trigger's grid),
never how long something took. Waits poll for an event with a generous deadline.
"""
from __future__ import annotations

import functools
import logging
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

import pytest
from flask import Flask

from bot import outbox
from bot.services import Services, utc_now
from models import transaction
from scheduler import lease
from scheduler.jobs import JOBS, JobSpec
from scheduler.leader import Scheduler
from tests.conftest import EXAMPLE, PROJECT, Clock, make_app
from tests.fakes import FakeWeChat

FAST = {"lease_seconds": 1.0, "renew_seconds": 0.1}
DEADLINE = 30.0  # seconds any awaited run may take on a loaded machine
# APScheduler's executor logs every run as: Running job "NAME (trigger: ...)" (scheduled at TIME)
RUNNING = re.compile(r'Running job "(\w+) \(trigger: .*\)" \(scheduled at ([^)]+)\)')


def services(app: Flask) -> Services:
    return app.extensions["linli"]


class Runs:
    """What the test jobs did: (job, who ran it, monotonic time), in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, float]] = []
        self.names: dict[int, str] = {}  # id(Services) -> "A", "B"

    def recorder(self, name: str) -> Callable[[Services], str]:
        """A job function that records each run."""
        def record(s: Services) -> str:
            with self.lock:
                self.log.append((name, self.names.get(id(s), "?"), time.monotonic()))
            return "ran"
        return record

    def job(self, name: str, seconds: float) -> JobSpec:
        """An interval job that records each run."""
        return JobSpec(name, self.recorder(name), "interval", {"seconds": seconds})

    def of(self, name: str, since: float = 0.0, until: float = float("inf")) -> list[str]:
        """Who ran `name`, in order, between two monotonic times."""
        with self.lock:
            return [who for job, who, at in self.log if job == name and since <= at < until]

    def times(self, name: str) -> list[float]:
        with self.lock:
            return [at for job, _who, at in self.log if job == name]


@pytest.fixture
def runs(app: Flask) -> Runs:
    runs = Runs()
    runs.names[id(services(app))] = "A"
    return runs


@pytest.fixture
def other(database: tuple[str, str | None], fake_wechat: FakeWeChat, clock: Clock,
          runs: Runs) -> Iterator[Flask]:
    """A second app on the same database: another process, as far as the lease can tell."""
    app = make_app(database, fake_wechat, clock)
    runs.names[id(services(app))] = "B"
    yield app
    services(app).close()


@pytest.fixture
def schedulers() -> Iterator[list[Scheduler]]:
    """Schedulers a test starts; all are shut down at the end, whatever happened."""
    started: list[Scheduler] = []
    yield started
    for scheduler in started:
        scheduler.shutdown()


def scheduled(text: str, name: str) -> list[datetime]:
    """The occurrences `name` ran for, in order, read from APScheduler's log lines."""
    return [datetime.fromisoformat(when) for job, when in RUNNING.findall(text) if job == name]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in list(caplog.records))


def on_grid(slots: list[datetime], every: float) -> bool:
    """Whether each occurrence lies a whole number of intervals after the first."""
    step = timedelta(seconds=every)
    return all((slot - slots[0]) % step == timedelta(0) for slot in slots)


@pytest.fixture(autouse=True)
def aps_log(caplog: pytest.LogCaptureFixture) -> None:
    """Capture APScheduler's run and misfire lines."""
    caplog.set_level(logging.INFO, logger="apscheduler")


# --- the command line -------------------------------------------------------------------


def test_jobs_list_shows_each_job_and_its_next_run_in_shanghai(
        app: Flask, schedulers: list[Scheduler]) -> None:
    cli = app.test_cli_runner()
    before = cli.invoke(args=["jobs", "list"])
    assert before.exit_code == 0, before.output
    lines = before.output.splitlines()
    for spec in JOBS:
        line = next(ln for ln in lines if ln.startswith(spec.name + "\t"))
        _name, trigger, upcoming, _help = line.split("\t")
        assert trigger.startswith(spec.trigger + "[")
        assert upcoming.endswith("+08:00")
    assert lines[-1] == "scheduler: none is running"

    schedulers.append(Scheduler(services(app)))  # the real jobs; none is due within the test
    assert schedulers[0].start()
    running = cli.invoke(args=["jobs", "list"]).output.splitlines()
    holder = schedulers[0].lease.holder
    assert running[-1].startswith(f"scheduler: firing in {holder}, lease until ")
    schedulers.pop().shutdown()
    stopped = cli.invoke(args=["jobs", "list"]).output.splitlines()
    assert stopped[:-1] == running[:-1]  # the stored next runs survive the stop
    assert stopped[-1] == "scheduler: none is running"


def test_jobs_run_does_the_work_now_and_prints_its_result(app: Flask,
                                                          fake_wechat: FakeWeChat) -> None:
    s = services(app)
    with transaction(s.sessions) as session:
        outbox.enqueue(session, key="test:group", channel="wecom_group", recipient="property",
                       body="3栋电梯 #1", now=s.clock())
    result = app.test_cli_runner().invoke(args=["jobs", "run", "outbox"])
    assert result.exit_code == 0, result.output
    assert result.output == "1 message(s) sent\n"
    assert len(fake_wechat.sent("/webhook/send")) == 1
    again = app.test_cli_runner().invoke(args=["jobs", "run", "outbox"])
    assert again.output == "0 message(s) sent\n"


def test_jobs_run_unknown_name_is_an_error_listing_the_jobs(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "run", "sla_swep"])
    assert result.exit_code != 0
    assert "no job called 'sla_swep'" in result.output
    assert all(spec.name in result.output for spec in JOBS)


# --- one scheduler fires ------------------------------------------------------------------


def test_two_schedulers_started_at_once_fire_each_job_once(
        app: Flask, other: Flask, runs: Runs, schedulers: list[Scheduler],
        caplog: pytest.LogCaptureFixture) -> None:
    jobs = [runs.job("fast", 0.4), runs.job("slow", 0.6)]
    schedulers += [Scheduler(services(app), jobs, **FAST), Scheduler(services(other), jobs, **FAST)]
    threads = [threading.Thread(target=s.start) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: len(runs.of("fast")) >= 3 and len(runs.of("slow")) >= 2, DEADLINE)
    while schedulers:
        schedulers.pop().shutdown()
    fast, slow = runs.of("fast"), runs.of("slow")
    assert len(set(fast + slow)) == 1, "only the lease holder fires"
    for name, every, who in (("fast", 0.4, fast), ("slow", 0.6, slow)):
        slots = scheduled(logged(caplog), name)
        assert len(slots) == len(who) and len(set(slots)) == len(slots), slots  # each occurrence once
        assert on_grid(slots, every), slots


def test_standby_takes_over_when_the_holder_stops(app: Flask, other: Flask, runs: Runs,
                                                 schedulers: list[Scheduler],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    tick = runs.job("tick", 0.3)
    first = Scheduler(services(app), [tick], **FAST)
    second = Scheduler(services(other), [tick], **FAST)
    schedulers += [first, second]
    assert first.start() and not second.start()
    wait_for(lambda: len(runs.of("tick")) >= 2, DEADLINE)  # A fires
    first.shutdown()  # releases the lease: B need not wait for it to expire
    holder = lease.current(services(app).sessions)
    assert holder is None or holder.holder == second.lease.holder
    wait_for(lambda: runs.of("tick").count("B") >= 2, DEADLINE)
    second.shutdown()
    who = runs.of("tick")
    assert who == ["A"] * who.count("A") + ["B"] * who.count("B"), who
    slots = scheduled(logged(caplog), "tick")
    assert slots == sorted(set(slots)) and on_grid(slots, 0.3), slots  # B goes on with A's grid


def test_restart_runs_what_came_due_once_and_repeats_nothing(app: Flask, runs: Runs,
                                                            schedulers: list[Scheduler],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    every = 0.4
    tick = runs.job("tick", every)
    schedulers.append(Scheduler(services(app), [tick], **FAST))
    schedulers[-1].start()
    wait_for(lambda: len(runs.of("tick")) >= 2, DEADLINE)
    schedulers.pop().shutdown()
    before = scheduled(logged(caplog), "tick")
    assert len(runs.of("tick")) == len(before) >= 2
    next_due = before[-1] + timedelta(seconds=every)
    # Down while at least two more occurrences come due (APScheduler keeps real time).
    wait_for(lambda: utc_now() > next_due + timedelta(seconds=every * 1.5), DEADLINE)
    schedulers.append(Scheduler(services(app), [tick], **FAST))
    schedulers[-1].start()
    wait_for(lambda: len(runs.of("tick")) >= len(before) + 2, DEADLINE)
    schedulers.pop().shutdown()
    slots = scheduled(logged(caplog), "tick")
    after = slots[len(before):]
    assert on_grid(slots, every), slots  # the stored next run was kept, not a fresh start
    assert after[0] >= next_due + timedelta(seconds=every), slots  # the missed ones: one run
    assert after[1] == after[0] + timedelta(seconds=every), slots  # then the grid goes on
    assert "was missed by" not in logged(caplog)  # the missed run ran, it was not skipped
    assert len(set(slots)) == len(slots)


def test_a_late_run_within_its_grace_runs_and_a_staler_one_is_skipped(
        app: Flask, runs: Runs, schedulers: list[Scheduler],
        caplog: pytest.LogCaptureFixture) -> None:
    due = utc_now() - timedelta(seconds=2)  # APScheduler's default grace (1 s) would skip both

    def once(name: str, **grace: int) -> JobSpec:
        return JobSpec(name, runs.recorder(name), "date", {"run_date": due, **grace})

    jobs = [once("lenient"), once("strict", misfire_grace_time=1)]
    schedulers.append(Scheduler(services(app), jobs))
    schedulers[-1].start()
    wait_for(lambda: runs.of("lenient") and 'job "strict' in logged(caplog)
             and "was missed by" in logged(caplog), DEADLINE)
    assert runs.of("lenient") == ["A"]
    assert runs.of("strict") == []


def test_a_slow_run_never_overlaps_the_next(app: Flask, schedulers: list[Scheduler],
                                           caplog: pytest.LogCaptureFixture) -> None:
    lock, running, most, done = threading.Lock(), [0], [0], [0]

    def slow(_s: Services) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.45)  # the job's own work, three intervals long
        with lock:
            running[0] -= 1
            done[0] += 1
        return "done"

    schedulers.append(Scheduler(services(app), [JobSpec("slow", slow, "interval",
                                                        {"seconds": 0.15})]))
    schedulers[-1].start()
    # two runs done, and at least one occurrence came while a run was busy
    wait_for(lambda: done[0] >= 2 and "maximum number of running instances reached" in logged(caplog),
             DEADLINE)
    schedulers.pop().shutdown()
    assert most == [1]


# --- a scheduler process dies ---------------------------------------------------------------


def record_to(path: str, who: str, _services: Services) -> str:
    """A job that appends who ran it, and when, to a file both processes can read."""
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{who} {time.time()}\n")
    return "ran"


def tick_job(path: str, who: str) -> JobSpec:
    return JobSpec("tick", functools.partial(record_to, path, who), "interval", {"seconds": 0.3})


def read_runs(path: Path) -> list[tuple[str, float]]:
    if not path.exists():
        return []
    return [(who, float(at)) for who, at in (ln.split() for ln in path.read_text().splitlines())]


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_standby_takes_over_when_the_holder_dies(
        app: Flask, database: tuple[str, str | None], tmp_path: Path,
        schedulers: list[Scheduler], caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "runs.txt"
    url, schema = database
    child_log = tmp_path / "child.log"  # its APScheduler lines: the occurrences it ran
    with open(child_log, "w", encoding="utf-8") as errors:
        child = subprocess.Popen([sys.executable, "-m", "tests.test_scheduler", url, schema or "",
                                  str(log)], cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=errors)
    try:
        wait_for(lambda: len(read_runs(log)) >= 2, timeout=DEADLINE)
        standby = Scheduler(services(app), [tick_job(str(log), "standby")], **FAST)
        schedulers.append(standby)
        assert not standby.start()
        seen = len(read_runs(log))
        wait_for(lambda: len(read_runs(log)) >= seen + 2, timeout=DEADLINE)  # the child fires on
        child.send_signal(signal.SIGKILL)  # no shutdown, no release: the lease must expire
        child.wait()
        wait_for(lambda: [w for w, _ in read_runs(log)][-2:] == ["standby", "standby"], timeout=DEADLINE)
        schedulers.pop().shutdown()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    who = [w for w, _ in read_runs(log)]
    assert who == ["child"] * who.count("child") + ["standby"] * who.count("standby"), who
    ran = scheduled(child_log.read_text(encoding="utf-8"), "tick")
    took_over = scheduled(logged(caplog), "tick")
    assert len(ran) >= who.count("child") and len(took_over) == who.count("standby")
    # The standby keeps the dead child's grid (missed slots coalesce into one catch-up run)
    # and never runs an occurrence the child ran.
    slots = ran + took_over
    assert slots == sorted(set(slots)) and on_grid(slots, 0.3), slots


def _child(url: str, schema: str, log: str) -> None:
    """A scheduler process for the test above: holds the lease and ticks until killed."""
    from app import create_app
    app = create_app({"config_path": str(EXAMPLE), "overrides": {"database.url": url},
                      "schema": schema or None})
    Scheduler(services(app), [tick_job(log, "child")], **FAST).start()
    threading.Event().wait()


if __name__ == "__main__":
    _child(*sys.argv[1:4])
