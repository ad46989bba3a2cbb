"""`flask import-households FILE.csv [--replace] [--estate NAME]`: the register of homes and
owners of one estate (CONTRACT.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from bot.services import current as services
from models import Estate, households, transaction
from models.estates import estates, find


@click.command("import-households")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="remove registered homes the file does not list")
@click.option("--estate", "estate_name", default=None,
              help="the estate the file is the register of (made if new; needed with several)")
@click.option("--community", default=None, help="a new estate's community (default: [estate])")
@click.option("--street", default=None, help="a new estate's street (default: [estate])")
@click.option("--location", default=None, help="the estate's place as LAT,LNG (e.g. 29.56,106.55)")
def import_households(file: Path, replace: bool, estate_name: str | None, community: str | None,
                      street: str | None, location: str | None) -> None:
    """Import the register of homes (building,unit,room,area_m2,owner_name,phone[,unsold])."""
    place = _location(location)
    try:
        rows = households.read(file.read_text(encoding="utf-8-sig"))
    except (households.RegisterError, UnicodeDecodeError) as err:
        raise click.ClickException(f"{file.name}: {err}; nothing was imported") from None
    with transaction(services().sessions) as session:
        estate = _estate(session, estate_name, community, street)
        if place is not None:
            estate.latitude, estate.longitude = place
        done = households.apply(session, estate, rows, replace=replace,
                                now=services().clock(), key=services().config.hash_key)
    click.echo(f"{len(rows)} homes read into {estate.name}: {done.created} new, {done.updated} "
               f"updated, {done.removed} removed; {done.owners} owners")


def _location(given: str | None) -> tuple[float, float] | None:
    """Read "LAT,LNG"; refuse anything else before the file is read."""
    if given is None:
        return None
    try:
        lat, lng = (float(part) for part in given.split(","))
    except ValueError:
        raise click.BadParameter("write the place as LAT,LNG, e.g. 29.56,106.55",
                                 param_hint="--location") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise click.BadParameter("latitude is -90..90 and longitude -180..180", param_hint="--location")
    return lat, lng


def _estate(session: Any, name: str | None, community: str | None, street: str | None) -> Estate:
    """The estate the register belongs to: the one named (made when new), else the only one, else
    the configured one made now; with several and none named, say so and import nothing."""
    conf = services().config.estate
    if name:
        found = find(session, name)
        if found is None:
            found = Estate(name=name, community=community or conf.community or "",
                           street=street or conf.street or "")
            session.add(found)
        return found
    known = estates(session)
    if len(known) > 1:
        raise click.ClickException("there are several estates (" + ", ".join(e.name for e in known)
                                   + "): say which with --estate NAME; nothing was imported")
    if known:
        return known[0]
    estate = Estate(name="邻里花园" if conf.name is None else conf.name,
                    community=community or conf.community or "", street=street or conf.street or "")
    session.add(estate)
    return estate


COMMANDS = (import_households,)
