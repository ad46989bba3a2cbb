"""Votes by chat: casting and listing for residents, and a consultation from a staff chat
(发起征集). Announcing, reminding and closing are bot/votes.py's."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import or_, select

from intents import Parse
from bot import votes
from bot.commands import staff_command
from bot.replies.votes import (KIND_NAMES, STAFF_CONSULT_HELP, STAFF_CONSULT_OPENED,
                               STAFF_CONSULT_OPTIONS, STAFF_CONSULT_PAST, VOTE_BAD_CHOICE,
                               VOTE_BIND_FIRST, VOTE_CHANGED, VOTE_CLOSED,
                               VOTE_CONSULT_VERIFY_FIRST, VOTE_COVERS, VOTE_COVERS_DEVELOPER,
                               VOTE_DETAIL, VOTE_DETAIL_MINE,
                               VOTE_LIST_EMPTY, VOTE_LIST_HINT, VOTE_LIST_LINE, VOTE_LIST_MINE,
                               VOTE_LIST_OPEN, VOTE_LIST_RECENT, VOTE_LIST_RESULT, VOTE_NEED_CHOICE,
                               VOTE_NONE_OPEN, VOTE_NOT_OPEN, VOTE_RECORDED, VOTE_SAME, VOTE_STATES,
                               VOTE_TENANT, VOTE_UNKNOWN, VOTE_VERIFY_FIRST, VOTE_WHICH)
from bot.turn import StaffTurn, Turn
from models import Ballot
from models.estates import only_estate, resident_estate
from models.votes import (OWNERS_KINDS, Standing, Vote, VoteError, count, create, entitled,
                          household_of_home, record, standing_in, votes_open)

RECENT_RESULTS = 3
CONSULTATION = re.compile(r"^(?P<title>.+?)\s*截止\s*(?P<day>\d{4}-\d{1,2}-\d{1,2})\s+"
                          r"(?P<time>\d{1,2}:\d{2})\s*(?P<options>.*)$", re.S)


def cast_vote(turn: Turn, parse: Parse) -> str:
    """Record the household's choice in a vote, or say why it cannot be recorded.

    One read (models.votes.standing_in) and, when the choice is new, the two upserts; read
    again only if a co-owner's ballot was recorded in between, so the reply says truly what
    the household's choice was.
    """
    number, refusal = _which(turn, parse.vote)
    if number is None:
        return refusal
    while True:
        standing = standing_in(turn.session, number, turn.resident.home_id)
        refusal = _refusal(turn, number, standing)
        if standing is None or standing.household is None or refusal:
            return refusal
        vote = standing.vote
        choice = _choice(vote, parse.choice)
        if choice is None:
            template = VOTE_BAD_CHOICE if parse.choice else VOTE_NEED_CHOICE
            return template.format(number=vote.id, options=votes.options(vote),
                                   example=votes.example(vote))
        if standing.choice == choice:
            return VOTE_SAME.format(number=vote.id, choice=votes.label(choice))
        if record(turn.session, vote, standing.household, choice, turn.resident.id, turn.now,
                  seen=standing.changes):
            break
    covers = _covers(standing)
    if standing.choice is not None:
        return VOTE_CHANGED.format(number=vote.id, title=vote.title, covers=covers,
                                           previous=votes.label(standing.choice), choice=votes.label(choice))
    return VOTE_RECORDED.format(number=vote.id, title=vote.title, choice=votes.label(choice),
                                        covers=covers, closes=votes.when(turn.services, vote.closes_at))


def _which(turn: Turn, number: int | None) -> tuple[int | None, str]:
    """The number of the vote meant: the one named, or the only open one."""
    if number is not None:
        return number, ""
    current = votes_open(turn.session, turn.now, resident_estate(turn.session, turn.resident))
    if len(current) == 1:
        return current[0].id, ""
    if not current:
        return None, VOTE_NONE_OPEN
    return None, VOTE_WHICH.format(
        count=len(current), example=votes.example(current[0]), lines="\n".join(
            _line(turn, v) for v in current))


def _refusal(turn: Turn, number: int, standing: Standing | None) -> str:
    """Why no ballot can be cast in vote #number: unknown here, not open, or not this resident's
    to cast; "" when it can."""
    if standing is None:
        return VOTE_UNKNOWN.format(number=number)
    vote = standing.vote
    mine = standing.home_estate if standing.home is not None else \
        resident_estate(turn.session, turn.resident)
    if not _ours(vote, mine):
        return VOTE_UNKNOWN.format(number=number)
    state = vote.state(turn.now)
    if state == "scheduled":
        return VOTE_NOT_OPEN.format(number=number, opens=votes.when(turn.services, vote.opens_at))
    if state == "closed":
        return VOTE_CLOSED.format(number=number, closes=votes.when(
            turn.services, vote.closed_at or vote.closes_at))
    return _may_vote(turn, standing)


def _ours(vote: Vote, mine: int | None) -> bool:
    """Whether the vote is of the resident's estate `mine` (or of every estate); another's is
    unknown here."""
    return vote.estate_id is None or mine is None or vote.estate_id == mine


def _may_vote(turn: Turn, standing: Standing) -> str:
    """Why this resident may not vote here, or "" when they may (models.votes.entitled).

    Every vote is counted per home, so an unverified binding — anyone can claim a home —
    never votes, in a consultation either.
    """
    resident, vote = turn.resident, standing.vote
    if standing.home is None:
        return VOTE_BIND_FIRST
    if vote.kind in OWNERS_KINDS and resident.role == "tenant":
        return VOTE_TENANT.format(number=vote.id)
    if not entitled(vote, verified=resident.verified, role=resident.role,
                    home_estate=standing.home_estate):
        owners = vote.kind in OWNERS_KINDS
        return (VOTE_VERIFY_FIRST if owners else VOTE_CONSULT_VERIFY_FIRST).format(number=vote.id)
    return ""


def _choice(vote: Vote, said: str | None) -> str | None:
    """Map the engine's choice ("agree", "2") onto one of the vote's choices."""
    if said is None:
        return None
    if said.isdigit():  # options are numbered from 1 as the announcement lists them
        index = int(said) - 1
        return vote.choices[index] if 0 <= index < len(vote.choices) else None
    return said if said in vote.choices else None


def _covers(standing: Standing) -> str:
    """Say which homes one ballot speaks for, when it is more than one."""
    if standing.covers < 2:
        return ""
    template = VOTE_COVERS_DEVELOPER if standing.household == "developer" else VOTE_COVERS
    return template.format(count=standing.covers, area=standing.covers_area)


def list_votes(turn: Turn, parse: Parse) -> str:
    """List open votes and recent results; with a number, that vote's details."""
    if parse.vote is not None:
        vote = turn.session.get(Vote, parse.vote)
        if vote is None or not _ours(vote, resident_estate(turn.session, turn.resident)):
            return VOTE_UNKNOWN.format(number=parse.vote)
        return _detail(turn, vote)
    mine = resident_estate(turn.session, turn.resident)
    current = votes_open(turn.session, turn.now, mine)
    done = turn.session.scalars(select(Vote).where(
        Vote.closed_at.is_not(None),
        *([] if mine is None else [or_(Vote.estate_id == mine, Vote.estate_id.is_(None))]))
        .order_by(Vote.closed_at.desc()).limit(RECENT_RESULTS)).all()
    if not current and not done:
        return VOTE_LIST_EMPTY
    lines = [VOTE_LIST_OPEN, *(_line(turn, v) for v in current)] if current else []
    if done:
        lines += [VOTE_LIST_RECENT, *(VOTE_LIST_RESULT.format(
            number=v.id, title=v.title, outcome=votes.outcome(count(turn.session, v))) for v in done)]
    return "\n".join([*lines, VOTE_LIST_HINT])


def _line(turn: Turn, vote: Vote) -> str:
    mine = _mine(turn, vote)
    return VOTE_LIST_LINE.format(
        number=vote.id, title=vote.title, kind=KIND_NAMES[vote.kind],
        closes=votes.when(turn.services, vote.closes_at),
        mine=VOTE_LIST_MINE.format(choice=votes.label(mine)) if mine else "")


def _mine(turn: Turn, vote: Vote) -> str | None:
    """The resident's household's choice: individual choices are shown to the voter alone."""
    if turn.resident.home is None:
        return None
    return turn.session.scalar(select(Ballot.choice).where(
        Ballot.vote_id == vote.id, Ballot.household == household_of_home(vote.kind,
                                                                           turn.resident.home)))


def _detail(turn: Turn, vote: Vote) -> str:
    """A vote's state and turnout; the tally once it has closed, so no one votes with the herd."""
    state = vote.state(turn.now)
    mine = _mine(turn, vote)
    return VOTE_DETAIL.format(
        number=vote.id, title=vote.title, kind=KIND_NAMES[vote.kind],
        state=VOTE_STATES[state], opens=votes.when(turn.services, vote.opens_at),
        closes=votes.when(turn.services, vote.closes_at),
        summary=votes.summary(turn.services, vote, count(turn.session, vote), full=state == "closed"),
        mine=VOTE_DETAIL_MINE.format(choice=votes.label(mine)) if mine else "")


def _estate_of(turn: StaffTurn) -> int | None:
    """The estate a consultation from this staff member is for: theirs, else the only one (an
    officer over several estates opens one for all of them)."""
    if turn.staff.estate_id is not None:
        return turn.staff.estate_id
    only = only_estate(turn.session)
    return only.id if only is not None else None


# The owners' committee, the community and the street open votes (CONTRACT.md, "Who uses it"),
# for the whole estate: staff of those levels who cover the whole estate.
@staff_command("发起征集", usage="发起征集 标题 截止 YYYY-MM-DD HH:MM [选项甲,选项乙]",
               staff_only=True, levels=("estate", "community", "street"))
def open_consultation(turn: StaffTurn, rest: str) -> str:
    """发起征集 标题 截止 YYYY-MM-DD HH:MM [选项甲,选项乙]: open a consultation now."""
    match = CONSULTATION.match(unicodedata.normalize("NFKC", rest))
    if not match:
        return STAFF_CONSULT_HELP
    try:
        closes = datetime.strptime(f"{match['day']} {match['time']}", "%Y-%m-%d %H:%M")
    except ValueError:
        return STAFF_CONSULT_HELP
    closes = closes.replace(tzinfo=turn.services.tz)
    if closes <= turn.now:
        return STAFF_CONSULT_PAST.format(closes=match["day"] + " " + match["time"])
    options = [o for o in re.split(r"[,、;；]", match["options"]) if o.strip()]
    try:
        vote = create(turn.session, title=match["title"], kind="consultation", item=None,
                      candidates=options, opens_at=turn.now, closes_at=closes, now=turn.now,
                      by=f"staff:{turn.staff.id}", estate_id=_estate_of(turn))
    except VoteError:
        return STAFF_CONSULT_OPTIONS
    votes.announce_opening(turn.services, turn.session, vote, turn.now)
    return STAFF_CONSULT_OPENED.format(number=vote.id, title=vote.title,
                                               closes=votes.when(turn.services, vote.closes_at))
