"""`flask staff add|list|remove`: the people who handle tickets, and what they cover."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bot.services import current as services
from models import Staff, transaction
from models.estates import estates
from models.staff import LEVELS, register, unregister


staff_cli = AppGroup("staff", help="Register the people who handle tickets.")


@staff_cli.command("add")
@click.option("--id", "user_id", required=True, help="WeCom UserID or WeChat openid")
@click.option("--channel", type=click.Choice(["wecom", "wechat"]), required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(LEVELS), required=True)
@click.option("--buildings", default="", help="buildings covered, e.g. 1-5,8")
@click.option("--homes", default="", help="finer coverage: units or homes, e.g. 3-2,3-1-501")
@click.option("--categories", default="", help="for property staff: e.g. elevator,water")
@click.option("--estate", "estate_name", default=None,
              help="grid, property and estate staff: the estate they act in (needed with several)")
@click.option("--community", default=None,
              help="community staff: the community whose estates they see (default: their estate's)")
@click.option("--demo", is_flag=True, help="made up for a demo or training: /sim may speak as them")
def staff_add(user_id: str, channel: str, name: str, role: str, buildings: str, homes: str,
              categories: str, estate_name: str | None, community: str | None, demo: bool) -> None:
    """Register a staff member, or update one already registered."""
    try:
        with transaction(services().sessions) as session:
            register(session, user_id=user_id, channel=channel, name=name, role=role,
                     buildings=buildings, homes=homes, categories=categories, demo=demo,
                     estate_name=estate_name, community=community)
    except ValueError as err:  # CoverageError and EstateError too: a list or a place not known
        raise click.BadParameter(str(err)) from None
    click.echo(f"staff {name} ({role}, {channel}:{user_id}) registered")


@staff_cli.command("list")
def staff_list() -> None:
    """List the registered staff."""
    with services().sessions() as session:
        names = {e.id: e.name for e in estates(session)}
        for m in session.scalars(select(Staff).order_by(Staff.role, Staff.id)):
            cover = ",".join(filter(None, [m.buildings] + [
                "-".join(filter(None, (c.building, c.unit, c.room))) for c in m.coverage if c.unit]))
            where = names.get(m.estate_id or 0) or m.community or "all estates"
            click.echo(f"{m.channel}:{m.user_id}\t{m.name}\t{m.role}\t{cover or 'all'}"
                       f"\t{m.categories or 'all categories'}\t{where}")


@staff_cli.command("remove")
@click.option("--id", "user_id", required=True)
@click.option("--channel", type=click.Choice(["wecom", "wechat"]), default="wecom")
def staff_remove(user_id: str, channel: str) -> None:
    """Remove a staff member; their open tickets go back to their level's queue."""
    with transaction(services().sessions) as session:
        member = session.scalar(select(Staff).where(Staff.user_id == user_id, Staff.channel == channel))
        if member is None:
            raise click.ClickException(f"no staff member {channel}:{user_id}")
        unregister(session, member)
    click.echo(f"staff {channel}:{user_id} removed")


COMMANDS = (staff_cli,)
