"""`flask console add-operator|list-operators|remove-operator`: who may sign in to /console."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import current as services
from models import Estate, Staff, transaction
from models.console import MIN_PASSWORD, Operator, end_sessions, hash_password
from models.staff import LEVELS, CoverageError, parse_buildings

console_cli = AppGroup("console", help="The operators who sign in to /console.")


@console_cli.command("add-operator")
@click.option("--name", required=True, help="the name they sign in with")
@click.option("--level", type=click.Choice(LEVELS), required=True)
@click.option("--estate", "estate_name", default=None,
              help="their estate (grid, property, estate), or the estate whose community or "
                   "street they cover; default: the only (or first) estate")
@click.option("--buildings", default="", help="grid only: the buildings they cover, e.g. 1-5,8")
@click.option("--staff", "staff_id", default=None,
              help="the registered staff member (their WeCom UserID) they act as on tickets")
def add_operator(name: str, level: str, estate_name: str | None, buildings: str,
                 staff_id: str | None) -> None:
    """Add an operator, or update one (a new password ends their sessions).

    The password is asked for (twice) on a terminal, else read from the first line of stdin.
    """
    name = name.strip()
    if not name or len(name) > 50:
        raise click.BadParameter("give a name of 1 to 50 characters", param_hint="--name")
    try:
        numbers = parse_buildings(buildings)
    except CoverageError as err:
        raise click.BadParameter(str(err), param_hint="--buildings") from None
    if (level == "grid") != bool(numbers):
        raise click.BadParameter("a grid operator lists buildings (e.g. 1-5); no other level does",
                                 param_hint="--buildings")
    password = _password()
    with transaction(services().sessions) as session:
        estate = _estate(session, estate_name)
        member = _staff(session, staff_id)
        operator = session.scalar(select(Operator).where(Operator.name == name))
        if operator is None:
            operator = Operator(name=name, created_at=services().clock())
            session.add(operator)
        else:
            end_sessions(session, operator.id)
        operator.password_hash, operator.level = hash_password(password), level
        operator.estate_id = estate.id if level in ("grid", "property", "estate") else None
        operator.community = estate.community if level == "community" else None
        operator.street = estate.street if level == "street" else None
        operator.buildings = buildings if level == "grid" else ""
        operator.staff_id = member.id if member else None
        where = {"community": operator.community, "street": operator.street}.get(level) or estate.name
    click.echo(f"operator {name} ({level}, {where}) can sign in at /console")


@console_cli.command("list-operators")
def list_operators() -> None:
    """List the operators and what they cover."""
    with services().sessions() as session:
        for o in session.scalars(select(Operator).order_by(Operator.id)):
            where = o.street or o.community or (o.estate.name if o.estate else "")
            click.echo(f"{o.name}\t{o.level}\t{where}\t{o.buildings or ''}"
                       f"\t{o.staff.user_id if o.staff else ''}")


@console_cli.command("remove-operator")
@click.option("--name", required=True)
def remove_operator(name: str) -> None:
    """Remove an operator; their sessions end at once."""
    with transaction(services().sessions) as session:
        operator = session.scalar(select(Operator).where(Operator.name == name))
        if operator is None:
            raise click.ClickException(f"no operator {name}")
        end_sessions(session, operator.id)
        session.delete(operator)
    click.echo(f"operator {name} removed")


def _password() -> str:
    """The new password: prompted for on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"the password needs at least {MIN_PASSWORD} characters")
    return password


def _estate(session: Session, name: str | None) -> Estate:
    query = select(Estate).order_by(Estate.id)
    if name is not None:
        query = query.where(Estate.name == name)
    estate = session.scalar(query)
    if estate is None:
        known = ", ".join(session.scalars(select(Estate.name)))
        raise click.BadParameter(f"no estate {name!r}; estates: {known or 'none yet'}",
                                 param_hint="--estate")
    return estate


def _staff(session: Session, user_id: str | None) -> Staff | None:
    if user_id is None:
        return None
    member = session.scalar(select(Staff).where(Staff.user_id == user_id)
                            .order_by(Staff.id))
    if member is None:
        raise click.BadParameter(f"no staff member {user_id!r}; add them with `flask staff add`",
                                 param_hint="--staff")
    return member


COMMANDS = (console_cli,)
