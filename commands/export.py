"""`flask export tickets|figures|vote`: spreadsheets (.xlsx) for the street and community offices.

The workbooks are built by `models/workbook.py` (the console offers the same files); this
module checks the options as the board checks its filters and writes the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from bot.services import current as services

from models import Estate, board
from models.categories import CODES
from models.estates import EstateError, selection
from models.tickets import TRANSITIONS
from models.votes import Vote
from models.workbook import ExportError, figures_book, month_range, save, tickets_book, vote_book

STATES = (*TRANSITIONS, board.OVERDUE)
CATEGORIES = (*CODES, board.SUGGESTION)

export_cli = AppGroup("export", help="Spreadsheets (.xlsx) for the street office: tickets, figures, a vote.")
output = click.option("-o", "--output", "path", required=True, type=click.Path(dir_okay=False, path_type=Path),
                      help="the .xlsx file to write")
month_option = click.option("--month", help="YYYY-MM, in Asia/Shanghai")


def places(command: Any) -> Any:
    """--estate, --community, --street: whose tickets or figures (as /board and /stats take them)."""
    for name in ("street", "community", "estate"):
        command = click.option(f"--{name}",
                               help=f"only this {name}'s (a name; an estate also by number)")(command)
    return command


def _chosen(session: Session, estate: str | None, community: str | None,
            street: str | None) -> tuple[tuple[int, ...] | None, list[Estate]]:
    """The estates asked for (None: every ticket), or a usage error naming the option."""
    try:
        found = selection(session, estate=estate, community=community, street=street)
    except EstateError:
        raise click.BadParameter("no such estate, community or street (or not together)",
                                 param_hint="--estate/--community/--street") from None
    return (None, []) if found is None else (tuple(e.id for e in found), found)


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
@places
@click.option("--state", type=click.Choice(STATES), help="a state, or overdue")
@click.option("--category", type=click.Choice(CATEGORIES), help="a category code, or suggestion")
@click.option("--building", help="a building number, e.g. 3")
@output
def export_tickets(month: str | None, estate: str | None, community: str | None,
                   street: str | None, state: str | None, category: str | None,
                   building: str | None, path: Path) -> None:
    """The tickets the board's filters choose, with the figures when only a month is chosen."""
    s = services()
    try:
        since, until = month_range(month, s.tz) if month else (None, None)
    except ExportError as err:
        raise click.BadParameter(str(err), param_hint="--month") from None
    with s.sessions() as session:
        ids, found = _chosen(session, estate, community, street)
        number = building.strip().removesuffix("栋") if building else None
        if number is not None and number not in board.buildings(session, ids):
            raise click.BadParameter(f"本小区没有“{building[:20]}”栋", param_hint="--building")
        filters = board.Filters(state=state, category=category, building=number, since=since,
                                until=until, estates=ids)
        book = tickets_book(session, filters, month=month, now=s.clock(), tz=s.tz,
                            place="、".join(e.name for e in found) or None)
    _write(path, save(book))


@export_cli.command("figures")
@click.option("--month", required=True, help="YYYY-MM, in Asia/Shanghai")
@places
@output
def export_figures(month: str, estate: str | None, community: str | None, street: str | None,
                   path: Path) -> None:
    """A month's governance figures, the numbers of /stats, with every month before it."""
    s = services()
    try:
        month_range(month, s.tz)
    except ExportError as err:
        raise click.BadParameter(str(err), param_hint="--month") from None
    with s.sessions() as session:
        ids, found = _chosen(session, estate, community, street)
        book = figures_book(session, month, now=s.clock(), tz=s.tz, estates=ids,
                            place="、".join(e.name for e in found) or None,
                            names=tuple((e.id, e.name) for e in found) if len(found) > 1 else ())
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
