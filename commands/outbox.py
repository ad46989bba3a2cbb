"""`flask outbox list|retry|deliver`: see, retry and send outbound messages."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bot import outbox as outbox_worker
from bot.services import current as services
from models import OutboxMessage, transaction


outbox_cli = AppGroup("outbox", help="See and retry outbound messages.")


@outbox_cli.command("list")
@click.option("--failed", is_flag=True, help="only the ones that gave up")
def outbox_list(failed: bool) -> None:
    """List outbound messages that are not sent yet (or that failed)."""
    states = ("failed",) if failed else ("pending", "sending", "held", "failed")
    with services().sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(states))
                               .order_by(OutboxMessage.id)).all()
    for m in rows:
        click.echo(f"{m.id}\t{m.status}\t{m.channel}\t{m.recipient}\ttries={m.attempts}"
                   f"\t{m.last_error or ''}\t{m.body[:40]!r}")
    click.echo(f"{len(rows)} message(s)")


@outbox_cli.command("retry")
@click.option("--id", "ids", multiple=True, type=int, help="only these (default: every failed one)")
def outbox_retry(ids: tuple[int, ...]) -> None:
    """Give failed messages a fresh set of tries, and send what is due."""
    with transaction(services().sessions) as session:
        rows = outbox_worker.retry(session, list(ids) or None, services().clock())
    sent = outbox_worker.deliver_due(services())
    click.echo(f"{len(rows)} message(s) queued again, {sent} sent")


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="keep delivering until stopped")
def outbox_deliver(loop: bool) -> None:
    """Send what is due now (the worker the scheduler runs)."""
    while True:
        sent = outbox_worker.deliver_due(services())
        click.echo(f"{sent} sent")
        if not loop:
            return
        time.sleep(1)


COMMANDS = (outbox_cli,)
