"""`flask init-db` and `flask demo-data`: the schema (migrations) and the demo street."""
from __future__ import annotations

import click

from bot.services import current as services
from models import demo as demo_estate
from models import transaction
from models.migrate import upgrade


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema to the newest migration."""
    upgrade(services().engine, hash_key=services().config.hash_key)
    click.echo("database is up to date")


@click.command("demo-data")
def demo_data() -> None:
    """Load the demo street (the 1,059-home estate and two smaller ones) unless it is there."""
    upgrade(services().engine, hash_key=services().config.hash_key)
    estate = services().config.estate
    with transaction(services().sessions) as session:
        made = demo_estate.load_street(session, "邻里花园" if estate.name is None else estate.name,
                                       "和顺社区" if estate.community is None else estate.community,
                                       "龙溪街道" if estate.street is None else estate.street,
                                       key=services().config.hash_key)
    click.echo("demo street loaded: 1,059 homes and two smaller estates" if made
               else "demo street already present")


COMMANDS = (init_db, demo_data)
