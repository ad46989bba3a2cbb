"""`flask stats [--json] [--estate NAME]`: the governance figures (CONTRACT.md, "Command line")."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup, with_appcontext

from bot.services import current as services
from models import figures, kept_figures, transaction
from models.estates import EstateError, selection


@click.group("stats", cls=AppGroup, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object, as the contract gives it")
@click.option("--estate", "estate_name", default=None, help="one estate's figures (its name or number)")
@click.pass_context
@with_appcontext
def stats(context: click.Context, as_json: bool, estate_name: str | None) -> None:
    """Print the governance figures: grid share, response and fix times, satisfaction."""
    if context.invoked_subcommand is not None:
        return
    s = services()
    with s.sessions() as session:
        try:
            chosen = selection(session, estate=estate_name)
        except EstateError:
            raise click.BadParameter(f"no estate {estate_name!r}", param_hint="--estate") from None
        only = None if chosen is None else [e.id for e in chosen]
        summary = figures.summary(session, s.clock(), s.tz, estates=only)
        if as_json:
            click.echo(json.dumps(summary, ensure_ascii=False))
            return
        click.echo(_figures_table("全部", {"全部": summary}))
        for title, dimension in (("按类别", "category"), ("按楼栋", "building"), ("按月份", "month")):
            groups = figures.breakdown(session, dimension, s.clock(), s.tz, estates=only)
            click.echo("\n" + _figures_table(title, groups))


@stats.command("rebuild")
def rebuild() -> None:
    """Count the /stats rollups again from the tickets (after a restore, or a change of time zone)."""
    s = services()
    with transaction(s.sessions) as session:
        counted = kept_figures.rebuild(session, s.clock(), s.tz)
    click.echo(f"rollups rebuilt from {counted} tickets")


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


COMMANDS = (stats,)
