"""`flask --app app <command>`: the operator's commands (see CONTRACT.md, "Command line")."""
from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from bot import outbox as outbox_worker
from bot.services import Services
from models import Coverage, OutboxMessage, Staff, Ticket, transaction
from models import demo as demo_estate
from models import figures
from models.categories import CODES as CATEGORIES
from models.migrate import upgrade
from models.staff import LEVELS, CoverageError, parse_buildings, parse_homes
import market_cli
import votes_cli


def services() -> Services:
    """Return the running app's services."""
    return current_app.extensions["linli"]


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


@click.command("serve")
def serve() -> None:
    """Serve on [server] host and port (threaded; for production use gunicorn)."""
    from werkzeug.serving import run_simple

    from scheduler.leader import start_if_enabled  # here: only `serve` may start a scheduler

    server = services().config.server
    outbox_worker.kick(services())  # whatever waited while we were down goes out now
    jobs = start_if_enabled(services())
    address = f"http://{server.host}:{server.port}"
    click.echo(f"邻里通 is serving on {address}  (WeChat: /wechat)")
    if services().config.sim.enabled:
        click.echo(f"chat simulator: {address}/sim")
    try:
        # Not app.run(): Flask ignores it inside a `flask` command and returns at once.
        run_simple(server.host, server.port, current_app._get_current_object(),
                   threaded=True, use_reloader=False)
    finally:
        if jobs is not None:
            jobs.shutdown()


staff_cli = AppGroup("staff", help="Register the people who handle tickets.")


@staff_cli.command("add")
@click.option("--id", "user_id", required=True, help="WeCom UserID or WeChat openid")
@click.option("--channel", type=click.Choice(["wecom", "wechat"]), required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(LEVELS), required=True)
@click.option("--buildings", default="", help="buildings covered, e.g. 1-5,8")
@click.option("--homes", default="", help="finer coverage: units or homes, e.g. 3-2,3-1-501")
@click.option("--categories", default="", help="for property staff: e.g. elevator,water")
def staff_add(user_id: str, channel: str, name: str, role: str, buildings: str, homes: str,
              categories: str) -> None:
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
        member.coverage = [Coverage(building=b) for b in numbers] + \
            [Coverage(building=b, unit=u, room=r) for b, u, r in parts]
    click.echo(f"staff {name} ({role}, {channel}:{user_id}) registered")


@staff_cli.command("list")
def staff_list() -> None:
    """List the registered staff."""
    with services().sessions() as session:
        for m in session.scalars(select(Staff).order_by(Staff.role, Staff.id)):
            cover = ",".join(filter(None, [m.buildings] + [
                "-".join(filter(None, (c.building, c.unit, c.room))) for c in m.coverage if c.unit]))
            click.echo(f"{m.channel}:{m.user_id}\t{m.name}\t{m.role}\t{cover or 'all'}"
                       f"\t{m.categories or 'all categories'}")


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


outbox_cli = AppGroup("outbox", help="See and retry outbound messages.")


@outbox_cli.command("list")
@click.option("--failed", is_flag=True, help="only the ones that gave up")
def outbox_list(failed: bool) -> None:
    """List outbound messages that are not sent yet (or that failed)."""
    states = ("failed",) if failed else ("pending", "sending", "held", "failed")
    with services().sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(states))
                               .order_by(OutboxMessage.id)).all()
    for m in rows:
        click.echo(f"{m.id}\t{m.status}\t{m.channel}\t{m.recipient}\ttries={m.attempts}"
                   f"\t{m.last_error or ''}\t{m.body[:40]!r}")
    click.echo(f"{len(rows)} message(s)")


@outbox_cli.command("retry")
@click.option("--id", "ids", multiple=True, type=int, help="only these (default: every failed one)")
def outbox_retry(ids: tuple[int, ...]) -> None:
    """Give failed messages a fresh set of tries, and send what is due."""
    with transaction(services().sessions) as session:
        query = select(OutboxMessage).where(OutboxMessage.status == "failed")
        if ids:
            query = query.where(OutboxMessage.id.in_(ids))
        rows = session.scalars(query).all()
        for m in rows:
            m.status, m.attempts, m.due_at = "pending", 0, services().clock()
    sent = outbox_worker.deliver_due(services())
    click.echo(f"{len(rows)} message(s) queued again, {sent} sent")


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="keep delivering until stopped")
def outbox_deliver(loop: bool) -> None:
    """Send what is due now (the worker the scheduler runs)."""
    while True:
        sent = outbox_worker.deliver_due(services())
        click.echo(f"{sent} sent")
        if not loop:
            return
        time.sleep(1)


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="one JSON object, as the contract gives it")
def stats(as_json: bool) -> None:
    """Print the governance figures: grid share, response and fix times, satisfaction."""
    s = services()
    with s.sessions() as session:
        summary = figures.summary(session, s.clock(), s.tz)
        if as_json:
            click.echo(json.dumps(summary, ensure_ascii=False))
            return
        click.echo(_figures_table("全部", {"全部": summary}))
        for title, dimension in (("按类别", "category"), ("按楼栋", "building"), ("按月份", "month")):
            groups = figures.breakdown(session, dimension, s.clock(), s.tz)
            click.echo("\n" + _figures_table(title, groups))


def _figures_table(title: str, groups: dict[str, dict]) -> str:  # type: ignore[type-arg]
    head = f"{title:<16}{'total':>6}{'open':>6}{'overdue':>8}{'grid%':>7}{'resp.min':>9}" \
           f"{'fix.h':>7}{'satisf%':>8}{'reopen%':>8}"
    lines = [head]
    for name, f in groups.items():
        t = f["tickets"]
        lines.append(f"{name:<18}{t['total']:>6}{t['open']:>6}{t['overdue']:>8}"
                     f"{_pct(f['grid_resolved_share']):>7}{_num(f['first_response_minutes']['median']):>9}"
                     f"{_num(f['resolve_hours']['median']):>7}{_pct(f['satisfaction_rate']):>8}"
                     f"{_pct(f['reopen_rate']):>8}")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


board_cli = AppGroup("board", help="The public board: publish a resident's words, or withdraw them.")


def _set_published(number: int, published: bool) -> None:
    from models import board

    s = services()
    with transaction(s.sessions) as session:
        ticket = session.get(Ticket, number)
        if ticket is None:
            raise click.ClickException(f"no ticket #{number}")
        changed = board.set_published(session, ticket, published, board.SCRUB_MASKS,
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


COMMANDS = (init_db, demo_data, serve, staff_cli, outbox_cli, stats, board_cli) + votes_cli.COMMANDS \
    + market_cli.COMMANDS
