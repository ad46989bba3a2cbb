"""After staff act: residents rate the fix, reopen it, or add words and photos."""
from __future__ import annotations

import re
from datetime import timedelta

from intents import Parse
from bot import notify
from bot.replies.staff import STAFF_ADDITION, STAFF_REOPENED
from bot.replies.tickets import (LOOK_BACK_OK, RATE_NO_TICKET, RESIDENT_ADDED, RESIDENT_RATED,
                                 RESIDENT_REOPENED, RESIDENT_RESOLVED, TICKET_NOT_FOUND)
from bot.tickets import place_of
from bot.turn import Turn
from models import Ticket, record, transition
from models.sla import deadlines
from models.tickets import OPEN_STATES, followed

# How residents judge a fix: a rating in words (longest first), or that it is not fixed.
RATE_WORDS = (("基本满意", 3), ("不满意", 1), ("满意", 5))  # longest first: 不满意 contains 满意
# After a done notice, a rating with no score (checked after DISSATISFIED and RATE_WORDS):
# "so-so" is 基本满意, thanks or "it works" 满意.
MILD_WORDS = ("还行", "还可以", "凑合", "一般般", "马马虎虎")
PRAISE_WORDS = ("修好了", "弄好了", "搞好了", "修好啦", "搞定", "好了", "好用了", "能用了", "正常了",
                "谢谢", "感谢", "辛苦", "点赞", "不错", "给力")
MILD, PRAISED = 3, 5
DISSATISFIED = ("不满意", "没修好", "没有修好", "没解决", "没有解决", "又坏", "还是坏", "还没好",
                "没弄好", "差评")
# a whole answer to the look back's "现在还好吗？" that means it is not, or that it is
LOOK_BACK_NO = ("没有", "没好", "不好", "还没好", "没有好", "不行", "没修好")
LOOK_BACK_YES = ("好了", "好的", "挺好", "挺好的", "还好", "很好", "没问题", "正常", "一切正常", "好着呢",
                 "现在好了", "没坏", "没有坏", "没再坏", "可以", "不错")
ADD_WORDS = ("补充", "回复")  # a resident answering a staff reply with 回复 #N adds to it
ANSWER_PUNCTUATION = " 。.!！~～"  # stripped from a whole answer before it is compared
LOOK_BACK_ANSWER = timedelta(days=7)  # how long a look-back question stays open
ADDITION = re.compile(r"^\s*(\S{2})\s*[#＃]?\s*(\d{1,9})\s*(.+)$", re.S)


def reopenable(turn: Turn, number: int | None) -> Ticket | None:
    """The resolved ticket the resident means, or a closed one they were just asked about."""
    ticket = followed(turn.session, turn.resident.id, number, ("resolved", "closed"))
    if ticket is not None and ticket.state == "closed" and not (
            ticket.looked_back_at and ticket.looked_back_at >= turn.now - LOOK_BACK_ANSWER):
        return followed(turn.session, turn.resident.id, number, ("resolved",))
    return ticket


def rate(turn: Turn, parse: Parse) -> str:
    """Record the resident's verdict on a resolved ticket: close it, or reopen it."""
    ticket = reopenable(turn, parse.ticket)
    if ticket is None:
        return RATE_NO_TICKET
    text = parse.text
    said_no = text.strip(ANSWER_PUNCTUATION) in LOOK_BACK_NO
    if (said_no or any(word in text for word in DISSATISFIED)) and not parse.rating:
        return reopen(turn, ticket, text)
    if ticket.state == "closed":  # the look back: it stayed fixed
        record(turn.session, ticket, actor=turn.actor, action="look_back_ok", now=turn.now, note=text)
        return LOOK_BACK_OK
    stars = parse.rating or next((score for word, score in RATE_WORDS if word in text), None)
    if stars is None and any(word in text for word in MILD_WORDS):
        stars = MILD
    if stars is None and any(word in text for word in PRAISE_WORDS):
        stars = PRAISED
    if stars is None:
        return RESIDENT_RESOLVED.format(number=ticket.id,
                                                category=notify.category_name(ticket), note="")
    ticket.rating = max(1, min(5, stars))
    transition(turn.session, ticket, "closed", actor=turn.actor, now=turn.now,
               note=f"rating {ticket.rating}")
    return RESIDENT_RATED.format(stars="★" * ticket.rating, number=ticket.id)


def awaiting_rating(turn: Turn) -> Ticket | None:
    """The fix (完成) the resident was asked to rate in the last week and has not yet, if any."""
    if turn.resolved_before(turn.now - LOOK_BACK_ANSWER):  # most turns: no fix this week
        return None
    number = turn.latest_resolved()
    ticket = turn.session.get(Ticket, number) if number is not None else None
    if ticket is not None and ticket.state == "resolved" and ticket.resolved_at is not None \
            and ticket.resolved_at >= turn.now - LOOK_BACK_ANSWER:
        return ticket
    return None


def judges_a_fix(turn: Turn, parse: Parse) -> bool:
    """"又坏了" with no place, or a bare "没有", just after a fix or a look back, judges that fix."""
    said = parse.text.strip(ANSWER_PUNCTUATION)
    bare = said in LOOK_BACK_NO or said in DISSATISFIED or said in ("又坏了", "没修好")  # as taught
    verdict = bare or (
        parse.intent in ("report", "unknown", "rate") and place_of(parse) is None
        and any(word in parse.text for word in DISSATISFIED))
    ticket = reopenable(turn, parse.ticket) if verdict else None
    # "路灯又坏了" after a lift was fixed is a new problem, not a verdict on the lift
    return ticket is not None and (bare or parse.category in (None, "other", ticket.category))


def stayed_fixed(turn: Turn, text: str) -> str | None:
    """Take "好了" as the answer to a recent look back; None when it is not, or none was asked."""
    if text.strip(ANSWER_PUNCTUATION) not in LOOK_BACK_YES:
        return None
    ticket = followed(turn.session, turn.resident.id, None, ("resolved", "closed"))
    if ticket is None or not (ticket.looked_back_at
                              and ticket.looked_back_at >= turn.now - LOOK_BACK_ANSWER):
        return None
    record(turn.session, ticket, actor=turn.actor, action="look_back_ok", now=turn.now)
    return LOOK_BACK_OK


def reopen(turn: Turn, ticket: Ticket, text: str) -> str:
    """Send the ticket back to work and tell its handler why."""
    transition(turn.session, ticket, "reopened", actor=turn.actor, now=turn.now, note=text)
    ticket.reopen_count = (ticket.reopen_count or 0) + 1
    limits = deadlines(turn.services.config.sla, ticket.category, ticket.urgent)  # at the same level
    ticket.response_due_at = turn.now + timedelta(seconds=limits.response)
    ticket.resolve_due_at = turn.now + timedelta(seconds=limits.resolve)
    ticket.warned_at = None
    notify.to_handlers(turn.session, ticket, STAFF_REOPENED.format(number=ticket.id, text=notify.quoted(text)),
                       event=f"reopened:{notify.event_count(turn.session, ticket)}", now=turn.now)
    return RESIDENT_REOPENED.format(number=ticket.id)


def addition(turn: Turn, text: str) -> str | None:
    """Pass "补充 #N words" to the ticket's handler; None when the text is not one."""
    match = ADDITION.match(text)
    if not match or match.group(1) not in ADD_WORDS:
        return None
    ticket = followed(turn.session, turn.resident.id, int(match.group(2)), OPEN_STATES)
    if ticket is None:
        return TICKET_NOT_FOUND.format(number=match.group(2))
    words = match.group(3).strip()
    event = record(turn.session, ticket, actor=turn.actor, action="added", now=turn.now, note=words)
    turn.session.flush()
    notify.to_handlers(turn.session, ticket, STAFF_ADDITION.format(number=ticket.id, text=notify.quoted(words)),
                       event=f"added:{event.id}", now=turn.now)
    return RESIDENT_ADDED.format(number=ticket.id)
