"""`flask export tickets|figures|vote`: spreadsheets (.xlsx) for the street and community offices.

The workbooks are built by `models/workbook.py` (the console offers the same files); this
module checks the options as the board checks its filters and writes the file.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from bot.services import current as services
from models import board
from models.categories import CODES
from models.tickets import TRANSITIONS
from models.votes import Vote
from models.workbook import ExportError, figures_book, month_range, save, tickets_book, vote_book

STATES = (*TRANSITIONS, board.OVERDUE)
CATEGORIES = (*CODES, board.SUGGESTION)

export_cli = AppGroup("export", help="Spreadsheets (.xlsx) for the street office: tickets, figures, a vote.")
output = click.option("-o", "--output", "path", required=True, type=click.Path(dir_okay=False, path_type=Path),
                      help="the .xlsx file to write")
month_option = click.option("--month", help="YYYY-MM, in Asia/Shanghai")


def _write(path: Path, data: bytes) -> None:
    if path.suffix.lower() != ".xlsx":
        raise click.BadParameter("the file must end in .xlsx", param_hint="--output")
    try:
        path.write_bytes(data)
    except OSError as err:
        raise click.ClickException(f"cannot write {path}: {err.strerror}") from None
    click.echo(f"wrote {path} ({len(data):,} bytes)")


@export_cli.command("tickets")
@month_option
@click.option("--state", type=click.Choice(STATES), help="a state, or overdue")
@click.option("--category", type=click.Choice(CATEGORIES), help="a category code, or suggestion")
@click.option("--building", help="a building number, e.g. 3")
@output
def export_tickets(month: str | None, state: str | None, category: str | None,
                   building: str | None, path: Path) -> None:
    """The tickets the board's filters choose, with the figures when only a month is chosen."""
    s = services()
    try:
        since, until = month_range(month, s.tz) if month else (None, None)
    except ExportError as err:
        raise click.BadParameter(str(err), param_hint="--month") from None
    with s.sessions() as session:
        number = building.strip().removesuffix("栋") if building else None
        if number is not None and number not in board.buildings(session):
            raise click.BadParameter(f"本小区没有“{building[:20]}”栋", param_hint="--building")
        filters = board.Filters(state=state, category=category, building=number, since=since,
                                until=until)
        book = tickets_book(session, filters, month=month, now=s.clock(), tz=s.tz)
    _write(path, save(book))


@export_cli.command("figures")
@click.option("--month", required=True, help="YYYY-MM, in Asia/Shanghai")
@output
def export_figures(month: str, path: Path) -> None:
    """A month's governance figures, the numbers of /stats, with every month before it."""
    s = services()
    try:
        month_range(month, s.tz)
    except ExportError as err:
        raise click.BadParameter(str(err), param_hint="--month") from None
    with s.sessions() as session:
        book = figures_book(session, month, now=s.clock(), tz=s.tz)
    _write(path, save(book))


@export_cli.command("vote")
@click.argument("number", type=int)
@output
def export_vote(number: int, path: Path) -> None:
    """A vote's result as published (no one's choice) and its register's summary."""
    s = services()
    with s.sessions() as session:
        vote = session.get(Vote, number)
        if vote is None:
            raise click.ClickException(f"no vote #{number}")
        book = vote_book(session, vote, now=s.clock(), tz=s.tz)
    _write(path, save(book))


COMMANDS = (export_cli,)
