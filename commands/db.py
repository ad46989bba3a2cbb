"""`flask init-db` and `flask demo-data`: the schema (migrations) and the demo estate."""
from __future__ import annotations

import click

from bot.services import current as services
from models import demo as demo_estate
from models import transaction
from models.migrate import upgrade


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema to the newest migration."""
    upgrade(services().engine)
    click.echo("database is up to date")


@click.command("demo-data")
def demo_data() -> None:
    """Load the demo estate (1,059 homes) unless it is there already."""
    upgrade(services().engine)
    estate = services().config.estate
    with transaction(services().sessions) as session:
        made = demo_estate.load(session, "邻里花园" if estate.name is None else estate.name,
                                "和顺社区" if estate.community is None else estate.community,
                                "龙溪街道" if estate.street is None else estate.street)
    click.echo("demo estate loaded: 1,059 homes" if made else "demo estate already present")


COMMANDS = (init_db, demo_data)
