"""`flask board publish|unpublish N`: a resident's words on the public board, or off it."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from bot.services import current as services
from models import Ticket, board, transaction
from models.board import SCRUB_MASKS


board_cli = AppGroup("board", help="The public board: publish a resident's words, or withdraw them.")


def _set_published(number: int, published: bool) -> None:
    s = services()
    with transaction(s.sessions) as session:
        ticket = session.get(Ticket, number)
        if ticket is None:
            raise click.ClickException(f"no ticket #{number}")
        changed = board.set_published(session, ticket, published, SCRUB_MASKS,
                                      actor="system", now=s.clock())
        words = ticket.public_text
    state = "published" if published else "withdrawn"
    click.echo(f"#{number} {state}" + ("" if changed else " already") +
               (f": {words}" if published else ""))


@board_cli.command("publish")
@click.argument("number", type=click.IntRange(min=1))
def board_publish(number: int) -> None:
    """Show ticket #NUMBER's words on /board (phones, rooms and registered names hidden)."""
    _set_published(number, True)


@board_cli.command("unpublish")
@click.argument("number", type=click.IntRange(min=1))
def board_unpublish(number: int) -> None:
    """Take ticket #NUMBER's words off /board."""
    _set_published(number, False)


COMMANDS = (board_cli,)
