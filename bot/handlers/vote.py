"""Votes by chat: casting and listing for residents, a consultation from a staff chat, and
the `vote_close` job that announces openings, reminds the day before and closes on time."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from intents import Parse
from bot import notify, outbox, replies
from bot.services import Services
from bot.commands import staff_command
from bot.turn import StaffTurn, Turn
from models import Ballot, Resident, transaction
from models.votes import (OWNERS_KINDS, Tally, Vote, VoteError, cast, count, create, freeze,
                          homes_of, household_of_home, revoke_by, votes_open)

REMIND_BEFORE = timedelta(hours=24)
RECENT_RESULTS = 3
CONSULTATION = re.compile(r"^(?P<title>.+?)\s*截止\s*(?P<day>\d{4}-\d{1,2}-\d{1,2})\s+"
                          r"(?P<time>\d{1,2}:\d{2})\s*(?P<options>.*)$", re.S)


def cast_vote(turn: Turn, parse: Parse) -> str:
    """Record the household's choice in a vote, or say why it cannot be recorded."""
    vote, refusal = _which(turn, parse.vote)
    if vote is None:
        return refusal
    refusal = _may_vote(turn, vote)
    if refusal:
        return refusal
    choice = _choice(vote, parse.choice)
    if choice is None:
        template = replies.VOTE_BAD_CHOICE if parse.choice else replies.VOTE_NEED_CHOICE
        return template.format(number=vote.id, options=_options(vote), example=_example(vote))
    household = household_of_home(vote.kind, turn.resident.home)
    mine = turn.session.scalar(select(Ballot).where(Ballot.vote_id == vote.id,
                                                    Ballot.household == household))
    if mine is not None and mine.choice == choice:
        return replies.VOTE_SAME.format(number=vote.id, choice=_label(choice))
    previous = cast(turn.session, vote, household, choice, turn.resident.id, turn.now)
    covers = _covers(turn.session, vote, household)
    if previous is not None:
        return replies.VOTE_CHANGED.format(number=vote.id, title=vote.title, covers=covers,
                                           previous=_label(previous), choice=_label(choice))
    return replies.VOTE_RECORDED.format(number=vote.id, title=vote.title, choice=_label(choice),
                                        covers=covers, closes=_when(turn.services, vote.closes_at))


def _which(turn: Turn, number: int | None) -> tuple[Vote | None, str]:
    """The vote meant: the one named, or the only open one."""
    if number is None:
        current = votes_open(turn.session, turn.now)
        if len(current) == 1:
            return current[0], ""
        if not current:
            return None, replies.VOTE_NONE_OPEN
        return None, replies.VOTE_WHICH.format(
            count=len(current), example=_example(current[0]), lines="\n".join(
                _line(turn, v) for v in current))
    vote = turn.session.get(Vote, number)
    if vote is None:
        return None, replies.VOTE_UNKNOWN.format(number=number)
    state = vote.state(turn.now)
    if state == "scheduled":
        return None, replies.VOTE_NOT_OPEN.format(number=number, opens=_when(turn.services,
                                                                              vote.opens_at))
    if state == "closed":
        return None, replies.VOTE_CLOSED.format(number=number, closes=_when(
            turn.services, vote.closed_at or vote.closes_at))
    return vote, ""


def _may_vote(turn: Turn, vote: Vote) -> str:
    """Why this resident may not vote here, or "" when they may."""
    resident = turn.resident
    if resident.home_id is None:
        return replies.VOTE_BIND_FIRST
    if vote.kind in OWNERS_KINDS and resident.role == "tenant":
        return replies.VOTE_TENANT.format(number=vote.id)
    if vote.kind in OWNERS_KINDS and not resident.verified:
        return replies.VOTE_VERIFY_FIRST.format(number=vote.id)
    return ""


def _choice(vote: Vote, said: str | None) -> str | None:
    """Map the engine's choice ("agree", "2") onto one of the vote's choices."""
    if said is None:
        return None
    if said.isdigit():  # options are numbered from 1 as the announcement lists them
        index = int(said) - 1
        return vote.choices[index] if 0 <= index < len(vote.choices) else None
    return said if said in vote.choices else None


def _covers(session: Session, vote: Vote, household: str) -> str:
    """Say which homes one ballot speaks for, when it is more than one."""
    homes = homes_of(session, vote.kind, household)
    if len(homes) < 2:
        return ""
    area = sum((h.area_m2 for h in homes), Decimal(0))
    template = replies.VOTE_COVERS_DEVELOPER if household == "developer" else replies.VOTE_COVERS
    return template.format(count=len(homes), area=area)


def list_votes(turn: Turn, parse: Parse) -> str:
    """List open votes and recent results; with a number, that vote's details."""
    if parse.vote is not None:
        vote = turn.session.get(Vote, parse.vote)
        if vote is None:
            return replies.VOTE_UNKNOWN.format(number=parse.vote)
        return _detail(turn, vote)
    current = votes_open(turn.session, turn.now)
    done = turn.session.scalars(select(Vote).where(Vote.closed_at.is_not(None))
                                .order_by(Vote.closed_at.desc()).limit(RECENT_RESULTS)).all()
    if not current and not done:
        return replies.VOTE_LIST_EMPTY
    lines = [replies.VOTE_LIST_OPEN, *(_line(turn, v) for v in current)] if current else []
    if done:
        lines += [replies.VOTE_LIST_RECENT, *(replies.VOTE_LIST_RESULT.format(
            number=v.id, title=v.title, outcome=outcome(count(turn.session, v))) for v in done)]
    return "\n".join([*lines, replies.VOTE_LIST_HINT])


def _line(turn: Turn, vote: Vote) -> str:
    mine = _mine(turn, vote)
    return replies.VOTE_LIST_LINE.format(
        number=vote.id, title=vote.title, kind=replies.KIND_NAMES[vote.kind],
        closes=_when(turn.services, vote.closes_at),
        mine=replies.VOTE_LIST_MINE.format(choice=_label(mine)) if mine else "")


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
    return replies.VOTE_DETAIL.format(
        number=vote.id, title=vote.title, kind=replies.KIND_NAMES[vote.kind],
        state=replies.VOTE_STATES[state], opens=_when(turn.services, vote.opens_at),
        closes=_when(turn.services, vote.closes_at),
        summary=summary(turn.services, vote, count(turn.session, vote), full=state == "closed"),
        mine=replies.VOTE_DETAIL_MINE.format(choice=_label(mine)) if mine else "")


def summary(services: Services, vote: Vote, result: Tally, *, full: bool = True) -> str:
    """Turnout, quorum, each choice's support and the outcome, with exact fractions."""
    lines = [replies.VOTE_TURNOUT.format(
        area_share=result.area_turnout, voted_area=result.voted_area,
        eligible_area=result.eligible_area, head_share=result.head_turnout,
        voted_heads=result.voted_heads, eligible_heads=result.eligible_heads)]
    if vote.kind in OWNERS_KINDS:
        lines.append(replies.VOTE_QUORUM_MET if result.quorum_met else replies.VOTE_QUORUM_MISSED)
    if full:
        lines += [replies.VOTE_TALLY_LINE.format(label=_label(o.option), heads=o.heads, area=o.area,
                                                 head_share=o.head_share, area_share=o.area_share)
                  for o in result.options]
        lines.append(replies.VOTE_OUTCOME.format(outcome=outcome(result)))
        if vote.kind in OWNERS_KINDS and vote.closed_at is not None:
            lines.append(replies.VOTE_REVOKE.format(
                date=revoke_by(services.local(vote.closed_at).date()).isoformat()))
    return "\n".join(lines)


def outcome(result: Tally) -> str:
    """Say the result in a few words."""
    if result.kind not in OWNERS_KINDS:
        winners = [o.option for o in result.options if o.passed]
        return replies.VOTE_PLURALITY.format(label=_label(winners[0])) if winners \
            else replies.VOTE_TIE
    if not result.quorum_met:
        return replies.VOTE_INVALID
    if not any(o.option == "agree" for o in result.options):
        winners = [_label(o.option) for o in result.options if o.passed]
        return replies.VOTE_ELECTED.format(labels="、".join(winners)) if winners \
            else replies.VOTE_NO_WINNER
    return replies.VOTE_PASSED if result.passed else replies.VOTE_FAILED


@staff_command("发起征集", usage="发起征集 标题 截止 YYYY-MM-DD HH:MM [选项甲,选项乙]",
               staff_only=True)
def open_consultation(turn: StaffTurn, rest: str) -> str:
    """发起征集 标题 截止 YYYY-MM-DD HH:MM [选项甲,选项乙]: open a consultation now."""
    match = CONSULTATION.match(unicodedata.normalize("NFKC", rest))
    if not match:
        return replies.STAFF_CONSULT_HELP
    try:
        closes = datetime.strptime(f"{match['day']} {match['time']}", "%Y-%m-%d %H:%M")
    except ValueError:
        return replies.STAFF_CONSULT_HELP
    closes = closes.replace(tzinfo=turn.services.tz)
    if closes <= turn.now:
        return replies.STAFF_CONSULT_PAST.format(closes=match["day"] + " " + match["time"])
    options = [o for o in re.split(r"[,、;；]", match["options"]) if o.strip()]
    try:
        vote = create(turn.session, title=match["title"], kind="consultation", item=None,
                      candidates=options, opens_at=turn.now, closes_at=closes, now=turn.now,
                      by=f"staff:{turn.staff.id}")
    except VoteError:
        return replies.STAFF_CONSULT_OPTIONS
    announce_opening(turn.services, turn.session, vote, turn.now)
    return replies.STAFF_CONSULT_OPENED.format(number=vote.id, title=vote.title,
                                               closes=_when(turn.services, vote.closes_at))


def voters(session: Session, vote: Vote) -> list[Resident]:
    """Residents who may vote: verified owners for owners' votes, anyone bound for a consultation."""
    query = select(Resident).where(Resident.home_id.is_not(None), Resident.following.is_(True))
    if vote.kind in OWNERS_KINDS:
        query = query.where(Resident.role == "owner", Resident.verified.is_(True))
    return list(session.scalars(query.order_by(Resident.id)))


def announce_opening(services: Services, session: Session, vote: Vote, now: datetime) -> None:
    """Tell those who may vote, and the residents' group chat, once."""
    text = replies.VOTE_OPENED.format(kind=replies.KIND_NAMES[vote.kind], number=vote.id,
                                      title=vote.title, options=_options(vote),
                                      closes=_when(services, vote.closes_at), example=_example(vote))
    _tell(services, session, vote, voters(session, vote), text, stage="open", now=now)
    vote.announced_at = now


def remind(services: Services, session: Session, vote: Vote, now: datetime) -> None:
    """Remind those whose household has not voted, once, a day before closing."""
    voted = set(session.scalars(select(Ballot.household).where(Ballot.vote_id == vote.id)))
    late = [r for r in voters(session, vote) if household_of_home(vote.kind, r.home) not in voted]
    text = replies.VOTE_REMINDER.format(number=vote.id, title=vote.title, example=_example(vote),
                                        closes=_when(services, vote.closes_at))
    _tell(services, session, vote, late, text, stage="remind", now=now, group=False)
    vote.reminded_at = now


def close(services: Services, session: Session, vote: Vote, now: datetime) -> Tally:
    """Close the vote and tell the households that took part and the group chat, once."""
    vote.closed_at = vote.closed_at or min(now, vote.closes_at)
    if vote.frozen_register is None:
        freeze(session, vote)
    result = count(session, vote)
    text = replies.VOTE_RESULT.format(number=vote.id, title=vote.title,
                                      summary=summary(services, vote, result))
    took_part = list(session.scalars(select(Resident).join(Ballot, Ballot.resident_id == Resident.id)
                                     .where(Ballot.vote_id == vote.id).order_by(Resident.id)))
    _tell(services, session, vote, took_part, text, stage="result", now=now)
    return result


def _tell(services: Services, session: Session, vote: Vote, people: list[Resident], text: str, *,
          stage: str, now: datetime, group: bool = True) -> None:
    for resident in people:
        outbox.enqueue(session, key=f"vote:{vote.id}:{stage}:resident:{resident.id}",
                       channel="wechat", recipient=resident.openid, body=text, now=now,
                       kind="vote_notice")
    if group:
        notify.to_group(services, session, "residents", text, key=f"vote:{vote.id}:{stage}:group",
                        now=now)


def vote_close(services: Services) -> str:
    """Announce votes that opened, remind a day before closing, close the ones due."""
    now, done = services.clock(), [0, 0, 0]
    with transaction(services.sessions) as session:
        pending = session.scalars(select(Vote).where(Vote.closed_at.is_(None)).order_by(Vote.id))
        for vote in pending.all():
            if vote.announced_at is None and vote.opens_at <= now < vote.closes_at:
                announce_opening(services, session, vote, now)
                done[0] += 1
            if vote.reminded_at is None and vote.opens_at < vote.closes_at - REMIND_BEFORE <= now \
                    < vote.closes_at:  # a vote shorter than a day gets no reminder
                remind(services, session, vote, now)
                done[1] += 1
            if vote.closes_at <= now:
                close(services, session, vote, now)
                done[2] += 1
    return f"{done[0]} vote(s) announced, {done[1]} reminded, {done[2]} closed"


def _options(vote: Vote) -> str:
    return "\n".join(replies.VOTE_OPTION_LINE.format(n=n, label=_label(c))
                     for n, c in enumerate(vote.choices, 1))


def _example(vote: Vote) -> str:
    template = replies.VOTE_EXAMPLE_CANDIDATES if vote.candidates else replies.VOTE_EXAMPLE_PLAIN
    return template.format(number=vote.id)


def _label(choice: str) -> str:
    return replies.CHOICE_NAMES.get(choice, choice)


def _when(services: Services, moment: datetime) -> str:
    return services.local(moment).strftime("%Y-%m-%d %H:%M")
