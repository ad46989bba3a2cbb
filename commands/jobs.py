"""`flask scheduler`, `flask jobs list` and `flask jobs run NAME`."""
from __future__ import annotations

import signal
import threading
from datetime import datetime
from types import FrameType

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bot.services import current as services
from models import StoredJob
from scheduler import lease, runner
from scheduler.jobs import JOBS, by_name
from scheduler.leader import Scheduler


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler until stopped: it fires jobs, or stands by while another one does."""
    if not services().config.scheduler.enabled:
        raise click.ClickException("[scheduler] enabled is false: no jobs are to fire")
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    scheduler = Scheduler(services())
    firing = scheduler.start()
    click.echo(f"scheduler {scheduler.lease.holder}: {'firing' if firing else 'standing by'}"
               f" ({len(scheduler.jobs)} jobs, time zone {services().tz})")
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown()
        click.echo(f"scheduler {scheduler.lease.holder}: stopped")


jobs_cli = AppGroup("jobs", help="See the scheduled jobs, or run one now.")


@jobs_cli.command("list")
def jobs_list() -> None:
    """Print each job's name, trigger and next run time (in the estate's time zone)."""
    s = services()
    with s.sessions() as session:
        stored = {row.id: row.next_run_time
                  for row in session.execute(select(StoredJob.id, StoredJob.next_run_time))}
    for spec in JOBS:
        trigger = runner.trigger_for(spec, s.tz)
        if spec.name in stored:
            when = stored[spec.name]
            upcoming = datetime.fromtimestamp(when, s.tz) if when is not None else None
        else:  # no scheduler has stored it yet: when it would first fire
            upcoming = trigger.get_next_fire_time(None, s.clock().astimezone(s.tz))
        shown = upcoming.isoformat(timespec="seconds") if upcoming else "paused"
        click.echo(f"{spec.name}\t{trigger}\t{shown}\t{spec.help}")
    holder = lease.current(s.sessions)
    click.echo(f"scheduler: firing in {holder.holder}, lease until "
               f"{s.local(holder.expires_at).isoformat(timespec='seconds')}" if holder
               else "scheduler: none is running")


@jobs_cli.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Do the job's work now, in this process, and print its result."""
    try:
        spec = by_name(name)
    except KeyError:
        names = ", ".join(job.name for job in JOBS)
        raise click.BadParameter(f"no job called {name!r}; the jobs are: {names}",
                                 param_hint="NAME") from None
    click.echo(runner.run(spec, services()))


COMMANDS = (scheduler_command, jobs_cli)
