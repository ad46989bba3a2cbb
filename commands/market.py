"""`flask market set YYYY-MM --date YYYY-MM-DD | --cancel` and `flask notice send TEXT`."""
from __future__ import annotations

import re
from datetime import date

import click
from flask.cli import AppGroup

from bot import notices, outbox
from bot.services import current as services
from models import transaction
from models.market import set_override, upcoming

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


market_cli = AppGroup("market", help="Move or cancel a month's market day.")


@market_cli.command("set")
@click.argument("month")
@click.option("--date", "moved_to", help="the date it is held instead (YYYY-MM-DD)")
@click.option("--cancel", is_flag=True, help="no market that month")
def market_set(month: str, moved_to: str | None, cancel: bool) -> None:
    """Hold MONTH's market on another date, or cancel it."""
    if not MONTH.match(month):
        raise click.BadParameter("write the month as YYYY-MM", param_hint="MONTH")
    if cancel == bool(moved_to):
        raise click.UsageError("give exactly one of --date YYYY-MM-DD or --cancel")
    day = None
    if moved_to:
        try:
            day = date.fromisoformat(moved_to)
        except ValueError:
            raise click.BadParameter("write the date as YYYY-MM-DD", param_hint="--date") from None
    s = services()
    with transaction(s.sessions) as session:
        set_override(session, month, moved_to=day, cancelled=cancel)
        held = upcoming(session, s.config.market, s.clock(), s.tz)
    click.echo(f"{month}: {'cancelled' if cancel else f'moved to {day}'}; "
               f"next market {held.day if held else 'none'}")


notice_cli = AppGroup("notice", help="Send a notice to every subscriber and group.")


@notice_cli.command("send")
@click.argument("text")
@click.option("--key", help="the notice's key: a key is sent once (default: the text and today)")
def notice_send(text: str, key: str | None) -> None:
    """Queue TEXT once for every subscribed resident and every group robot, and send it."""
    if not text.strip():
        raise click.BadParameter("the notice is empty", param_hint="TEXT")
    s = services()
    now = s.clock()
    key = key or notices.notice_key(text, now)
    with s.transaction() as session:  # sent as soon as it commits, by a fan-out of senders
        residents, groups = notices.send_notice(s, session, text.strip(), key=key, now=now)
    sent = outbox.sent_after_commit(session)
    click.echo(f"notice {key}: {residents} resident(s) and {groups} group(s) queued, {sent} sent")


COMMANDS = (market_cli, notice_cli)
