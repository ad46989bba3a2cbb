"""`flask import-households FILE.csv [--replace]`: the register of homes and owners (CONTRACT.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from bot.services import current as services
from models import Estate, households, transaction


@click.command("import-households")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="remove registered homes the file does not list")
def import_households(file: Path, replace: bool) -> None:
    """Import the register of homes (building,unit,room,area_m2,owner_name,phone[,unsold])."""
    try:
        rows = households.read(file.read_text(encoding="utf-8-sig"))
    except (households.RegisterError, UnicodeDecodeError) as err:
        raise click.ClickException(f"{file.name}: {err}; nothing was imported") from None
    with transaction(services().sessions) as session:
        done = households.apply(session, _estate(session), rows, replace=replace)
    click.echo(f"{len(rows)} homes read: {done.created} new, {done.updated} updated, "
               f"{done.removed} removed; {done.owners} owners")


def _estate(session: Any) -> Estate:
    """The estate the register belongs to: the configured one, else the only one, else a new one."""
    conf = services().config.estate
    name = "邻里花园" if conf.name is None else conf.name
    estate = session.scalar(select(Estate).where(Estate.name == name)) \
        or session.scalar(select(Estate).order_by(Estate.id))
    if estate is None:
        estate = Estate(name=name, community=conf.community or "", street=conf.street or "")
        session.add(estate)
    return estate


COMMANDS = (import_households,)
