"""`flask staff add|list|remove`: the people who handle tickets, and what they cover."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bot.services import current as services
from models import Coverage, Staff, Ticket, transaction
from models.categories import CODES as CATEGORIES
from models.estates import EstateError, estates, named_or_only
from models.staff import LEVELS, ONE_ESTATE, CoverageError, parse_buildings, parse_homes


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
def staff_add(user_id: str, channel: str, name: str, role: str, buildings: str, homes: str,
              categories: str, estate_name: str | None, community: str | None) -> None:
    """Register a staff member, or update one already registered."""
    try:
        numbers, parts = parse_buildings(buildings), parse_homes(homes)
    except CoverageError as err:
        raise click.BadParameter(str(err)) from None
    unknown = [c for c in filter(None, categories.split(",")) if c not in CATEGORIES]
    if unknown:
        raise click.BadParameter(f"unknown categories {', '.join(unknown)}; use {', '.join(CATEGORIES)}")
    with transaction(services().sessions) as session:
        member = session.scalar(select(Staff).where(Staff.user_id == user_id, Staff.channel == channel))
        if member is None:
            member = Staff(user_id=user_id, channel=channel)
            session.add(member)
        member.name, member.role, member.buildings, member.categories = name, role, buildings, categories
        member.estate_id, member.community = _where(session, role, estate_name, community)
        member.coverage = [Coverage(building=b) for b in numbers] + \
            [Coverage(building=b, unit=u, room=r) for b, u, r in parts]
    click.echo(f"staff {name} ({role}, {channel}:{user_id}) registered")


def _where(session: object, role: str, estate_name: str | None,
           community: str | None) -> tuple[int | None, str | None]:
    """The estate (grid, property, estate) or community (community) a new member acts in."""
    if role == "street" or not estates(session):  # type: ignore[arg-type]
        return None, None
    try:
        if role in ONE_ESTATE:
            return named_or_only(session, estate_name).id, None  # type: ignore[arg-type]
        if community:
            if community not in {e.community for e in estates(session)}:  # type: ignore[arg-type]
                raise EstateError(f"no estate is in the community {community!r}")
            return None, community
        return None, named_or_only(session, estate_name).community  # type: ignore[arg-type]
    except EstateError as err:
        raise click.BadParameter(str(err)) from None


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
        for ticket in session.scalars(select(Ticket).where(Ticket.assignee_id == member.id)):
            ticket.assignee_id = None  # back in the queue of its level
        session.delete(member)
    click.echo(f"staff {channel}:{user_id} removed")


COMMANDS = (staff_cli,)
