"""Votes beyond the chat: announcing an opening, the reminder a day before, closing with the
result, and the `vote_close` job that does each on time (once, by outbox key). How a vote,
a choice and a result are said lives here too, for the chat handlers and the job alike."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import notify, outbox
from bot.replies.votes import (CHOICE_NAMES, KIND_NAMES, VOTE_ELECTED, VOTE_EXAMPLE_CANDIDATES,
                               VOTE_EXAMPLE_PLAIN, VOTE_FAILED, VOTE_INVALID, VOTE_NO_WINNER,
                               VOTE_OPENED, VOTE_OPTION_LINE, VOTE_OUTCOME, VOTE_PASSED,
                               VOTE_PLURALITY, VOTE_QUORUM_MET, VOTE_QUORUM_MISSED, VOTE_REMINDER,
                               VOTE_RESULT, VOTE_REVOKE, VOTE_TALLY_LINE, VOTE_TIE, VOTE_TURNOUT)
from bot.services import Services
from models import Ballot, Building, Home, Resident, Unit, transaction
from models.votes import OWNERS_KINDS, Tally, Vote, count, freeze, household_of_home, revoke_by

REMIND_BEFORE = timedelta(hours=24)


def summary(services: Services, vote: Vote, result: Tally, *, full: bool = True) -> str:
    """Turnout, quorum, each choice's support and the outcome, with exact fractions."""
    lines = [VOTE_TURNOUT.format(
        area_share=result.area_turnout, voted_area=result.voted_area,
        eligible_area=result.eligible_area, head_share=result.head_turnout,
        voted_heads=result.voted_heads, eligible_heads=result.eligible_heads)]
    if vote.kind in OWNERS_KINDS:
        lines.append(VOTE_QUORUM_MET if result.quorum_met else VOTE_QUORUM_MISSED)
    if full:
        lines += [VOTE_TALLY_LINE.format(label=label(o.option), heads=o.heads, area=o.area,
                                                 head_share=o.head_share, area_share=o.area_share)
                  for o in result.options]
        lines.append(VOTE_OUTCOME.format(outcome=outcome(result)))
        if vote.kind in OWNERS_KINDS and vote.closed_at is not None:
            lines.append(VOTE_REVOKE.format(
                date=revoke_by(services.local(vote.closed_at).date()).isoformat()))
    return "\n".join(lines)


def outcome(result: Tally) -> str:
    """Say the result in a few words."""
    if result.kind not in OWNERS_KINDS:
        winners = [o.option for o in result.options if o.passed]
        return VOTE_PLURALITY.format(label=label(winners[0])) if winners \
            else VOTE_TIE
    if not result.quorum_met:
        return VOTE_INVALID
    if not any(o.option == "agree" for o in result.options):
        winners = [label(o.option) for o in result.options if o.passed]
        return VOTE_ELECTED.format(labels="、".join(winners)) if winners \
            else VOTE_NO_WINNER
    return VOTE_PASSED if result.passed else VOTE_FAILED


def voters(session: Session, vote: Vote) -> list[Resident]:
    """Residents who may vote: verified owners for owners' votes, anyone verified for a consultation."""
    query = select(Resident).where(Resident.home_id.is_not(None), Resident.following.is_(True),
                                   Resident.verified.is_(True))
    if vote.kind in OWNERS_KINDS:
        query = query.where(Resident.role == "owner")
    if vote.estate_id is not None:  # the estate's residents: its register is theirs
        query = query.join(Home, Home.id == Resident.home_id).join(Unit, Unit.id == Home.unit_id) \
            .join(Building, Building.id == Unit.building_id).where(Building.estate_id == vote.estate_id)
    return list(session.scalars(query.order_by(Resident.id)))


def announce_opening(services: Services, session: Session, vote: Vote, now: datetime) -> None:
    """Tell those who may vote, and the residents' group chat, once."""
    text = VOTE_OPENED.format(kind=KIND_NAMES[vote.kind], number=vote.id,
                                      title=vote.title, options=options(vote),
                                      closes=when(services, vote.closes_at), example=example(vote))
    _tell(services, session, vote, voters(session, vote), text, stage="open", now=now)
    vote.announced_at = now


def remind(services: Services, session: Session, vote: Vote, now: datetime) -> None:
    """Remind those whose household has not voted, once, a day before closing."""
    voted = set(session.scalars(select(Ballot.household).where(Ballot.vote_id == vote.id)))
    late = [r for r in voters(session, vote) if household_of_home(vote.kind, r.home) not in voted]
    text = VOTE_REMINDER.format(number=vote.id, title=vote.title, example=example(vote),
                                        closes=when(services, vote.closes_at))
    _tell(services, session, vote, late, text, stage="remind", now=now, group=False)
    vote.reminded_at = now


def close(services: Services, session: Session, vote: Vote, now: datetime) -> Tally:
    """Close the vote and tell the households that took part and the group chat, once."""
    vote.closed_at = vote.closed_at or min(now, vote.closes_at)
    if vote.frozen_register is None:
        freeze(session, vote)
    result = count(session, vote)
    text = VOTE_RESULT.format(number=vote.id, title=vote.title,
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


def options(vote: Vote) -> str:
    """The vote's choices, numbered from 1 as residents answer them."""
    return "\n".join(VOTE_OPTION_LINE.format(n=n, label=label(c))
                     for n, c in enumerate(vote.choices, 1))


def example(vote: Vote) -> str:
    """How to answer this vote, as an example."""
    template = VOTE_EXAMPLE_CANDIDATES if vote.candidates else VOTE_EXAMPLE_PLAIN
    return template.format(number=vote.id)


def label(choice: str) -> str:
    """Say a choice in Chinese (a candidate is its own label)."""
    return CHOICE_NAMES.get(choice, choice)


def when(services: Services, moment: datetime) -> str:
    """A moment as residents read it: 2026-12-10 18:00 in the estate's time zone."""
    return services.local(moment).strftime("%Y-%m-%d %H:%M")
