"""`flask vote create|show|close|export`: owners' votes and consultations (CONTRACT.md)."""
from __future__ import annotations

import io
import json
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from bot import outbox, votes
from bot.services import current as services
from models.estates import EstateError, estates, named_or_only
from models import Ballot
from models.export import write_rows
from models.votes import (KINDS, OWNERS_KINDS, THRESHOLDS, Tally, Vote, VoteError, count, create,
                          homes_of, revoke_by)

CENT = Decimal("0.01")


vote_cli = AppGroup("vote", help="Owners' votes and consultations: create, show, close, export.")


@vote_cli.command("create")
@click.option("--title", required=True)
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option("--item", type=int, help="Article 278 item, 1..9 (6-8 need owners_major)")
@click.option("--options", "candidates", default="", help='candidates, e.g. "候选人甲,候选人乙"')
@click.option("--opens", help="ISO 8601; naive times are Asia/Shanghai; default now")
@click.option("--closes", required=True, help="ISO 8601; naive times are Asia/Shanghai")
@click.option("--estate", "estate_name", default=None,
              help="the estate whose owners decide (its register counts); needed with several")
def vote_create(title: str, kind: str, item: int | None, candidates: str, opens: str | None,
                closes: str, estate_name: str | None) -> None:
    """Create a vote; it is announced when it opens. Prints #N last."""
    s = services()
    now = s.clock()
    opens_at = _moment(opens, "--opens") if opens else now
    closes_at = _moment(closes, "--closes")
    with s.transaction() as session:  # an announcement goes out as soon as this commits
        try:
            estate = named_or_only(session, estate_name) if estates(session) else None
            vote = create(session, title=title, kind=kind, item=item,
                          candidates=candidates.replace("，", ",").split(","),
                          opens_at=opens_at, closes_at=closes_at, now=now, by="cli",
                          estate_id=estate.id if estate is not None else None)
        except (VoteError, EstateError) as err:
            raise click.ClickException(str(err)) from None
        if vote.opens_at <= now:
            votes.announce_opening(s, session, vote, now)
        number = vote.id
    outbox.sent_after_commit(session)  # announced before the command returns
    click.echo(f"{kind} vote created, open {_when(opens_at)} to {_when(closes_at)}")
    click.echo(f"#{number}")


def _moment(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=services().tz)


def _when(moment: datetime) -> str:
    return services().local(moment).strftime("%Y-%m-%d %H:%M")


def _load(session: Any, number: int) -> Vote:
    vote = session.get(Vote, number)
    if vote is None:
        raise click.ClickException(f"no vote #{number}")
    return vote


@vote_cli.command("show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="one JSON object, as the contract gives it")
def vote_show(number: int, as_json: bool) -> None:
    """Show a vote's turnout, tally and result, with exact fractions."""
    s = services()
    with s.sessions() as session:
        vote = _load(session, number)
        result = count(session, vote)
        closed = vote.state(s.clock()) == "closed"
        click.echo(json.dumps(as_object(vote, result, closed), ensure_ascii=False) if as_json
                   else table(vote, result, closed))


def as_object(vote: Vote, result: Tally, closed: bool) -> dict[str, Any]:
    """The contract's `vote show --json` object; nothing is passed until the vote has closed."""
    return {"vote": vote.id, "kind": vote.kind, "state": "closed" if closed else "open",
            "eligible_area": _area(result.eligible_area), "eligible_heads": result.eligible_heads,
            "voted_area": _area(result.voted_area), "voted_heads": result.voted_heads,
            "quorum_met": result.quorum_met,
            "options": [{"option": o.option, "area": _area(o.area), "heads": o.heads,
                         "passed": o.passed if closed else None} for o in result.options],
            "passed": result.passed if closed else None}


def _area(area: Decimal) -> str:
    return str(Decimal(area).quantize(CENT))


def table(vote: Vote, result: Tally, closed: bool) -> str:
    """The committee's view: turnout against the quorum, each choice against its threshold."""
    item = f", Article 278 item {vote.item}" if vote.item else ""
    lines = [f"Vote #{vote.id}  {vote.title}  ({vote.kind}{item})",
             f"state: {'closed' if closed else 'open'}; {_when(vote.opens_at)} to "
             f"{_when(vote.closed_at or vote.closes_at)}",
             f"eligible: {_area(result.eligible_area)} m2, {result.eligible_heads} heads"]
    if vote.kind in OWNERS_KINDS:
        lines += [_check("turnout by area", result.voted_area, result.eligible_area,
                         result.area_turnout, ">= 2/3", result.area_turnout >= Fraction(2, 3)),
                  _check("turnout by heads", result.voted_heads, result.eligible_heads,
                         result.head_turnout, ">= 2/3", result.head_turnout >= Fraction(2, 3)),
                  f"quorum: {'met' if result.quorum_met else 'missed'}"]
        threshold, inclusive = THRESHOLDS[vote.kind]
        rule = f"{'>=' if inclusive else '>'} {threshold}"
    else:
        lines.append(f"took part: {result.voted_heads} households, {_area(result.voted_area)} m2")
        rule = "plurality"
    lines.append(f"{'option':<16}{'heads':>7}{'area m2':>12}  share of heads / of area (needs {rule})")
    for o in result.options:
        verdict = "" if not closed else ("  passed" if o.passed else "  not passed")
        lines.append(f"{o.option:<16}{o.heads:>7}{_area(o.area):>12}  {o.head_share} / "
                     f"{o.area_share}{verdict}")
    lines.append(f"result: {_verdict(vote, result, closed)}")
    if closed and vote.kind in OWNERS_KINDS:
        day = services().local(vote.closed_at or vote.closes_at).date()
        lines.append(f"an owner may ask a court to revoke it until {revoke_by(day)} (Article 280)")
    return "\n".join(lines)


def _check(name: str, part: Any, whole: Any, share: Fraction, rule: str, met: bool) -> str:
    return f"{name}: {part} / {whole} = {share}  (needs {rule}: {'met' if met else 'missed'})"


def _verdict(vote: Vote, result: Tally, closed: bool) -> str:
    if not closed:
        return "open, not decided yet"
    if vote.kind in OWNERS_KINDS and not result.quorum_met:
        return "NOT PASSED (quorum missed: the vote is not valid)"
    winners = [o.option for o in result.options if o.passed]
    if vote.kind not in OWNERS_KINDS or vote.candidates:
        return ", ".join(winners) + " passed" if winners else "no option passed"
    return "PASSED" if result.passed else "NOT PASSED"


@vote_cli.command("close")
@click.argument("number", type=int)
def vote_close(number: int) -> None:
    """Close a vote now and announce its result."""
    s = services()
    with s.transaction() as session:  # the result goes out as soon as this commits
        vote = _load(session, number)
        if vote.closed_at is not None:
            raise click.ClickException(f"vote #{number} closed already at {_when(vote.closed_at)}")
        result = votes.close(s, session, vote, s.clock())
        click.echo(table(vote, result, True))
    outbox.sent_after_commit(session)


@vote_cli.command("export")
@click.argument("number", type=int)
def vote_export(number: int) -> None:
    """Write the vote's ballots as CSV (for the committee only: it shows each choice)."""
    s = services()
    with s.sessions() as session:
        vote = _load(session, number)
        buffer = io.StringIO()
        rows: list[list[object]] = [["vote", "household", "homes", "area_m2", "choice", "resident",
                                     "cast_at", "changes"]]
        for ballot in session.scalars(select(Ballot).where(Ballot.vote_id == vote.id)
                                      .order_by(Ballot.id)):
            homes = homes_of(session, vote.kind, ballot.household, vote.estate_id)
            rows.append([vote.id, ballot.household,
                         " ".join(f"{h.unit.building.number}-{h.unit.number}-{h.room}" for h in homes),
                         _area(sum((h.area_m2 for h in homes), Decimal(0))), ballot.choice,
                         ballot.resident_id, s.local(ballot.cast_at).isoformat(), ballot.changes])
        write_rows(buffer, rows)  # a candidate named "=..." is shown, never run
    click.echo(buffer.getvalue(), nl=False)


COMMANDS = (vote_cli,)
