"""After staff act: residents rate the fix, reopen it, or add words and photos."""
from __future__ import annotations

import re
from datetime import timedelta

from intents import Parse
from bot import notify, replies
from bot.turn import Turn
from models import Ticket, record, transition
from models.sla import deadlines
from models.tickets import OPEN_STATES, followed

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
        return replies.RATE_NO_TICKET
    text = parse.text
    said_no = text.strip(" 。.!！~～") in replies.LOOK_BACK_NO
    if (said_no or any(word in text for word in replies.DISSATISFIED)) and not parse.rating:
        return reopen(turn, ticket, text)
    if ticket.state == "closed":  # the look back: it stayed fixed
        record(turn.session, ticket, actor=turn.actor, action="look_back_ok", now=turn.now, note=text)
        return replies.LOOK_BACK_OK
    stars = parse.rating or next((score for word, score in replies.RATE_WORDS if word in text), None)
    if stars is None:
        return replies.RESIDENT_RESOLVED.format(number=ticket.id,
                                                category=notify.category_name(ticket), note="")
    ticket.rating = max(1, min(5, stars))
    transition(turn.session, ticket, "closed", actor=turn.actor, now=turn.now,
               note=f"rating {ticket.rating}")
    return replies.RESIDENT_RATED.format(stars="★" * ticket.rating, number=ticket.id)


def stayed_fixed(turn: Turn) -> str | None:
    """Take "好了" as the answer to a recent look back; None when none was asked."""
    ticket = followed(turn.session, turn.resident.id, None, ("resolved", "closed"))
    if ticket is None or not (ticket.looked_back_at
                              and ticket.looked_back_at >= turn.now - LOOK_BACK_ANSWER):
        return None
    record(turn.session, ticket, actor=turn.actor, action="look_back_ok", now=turn.now)
    return replies.LOOK_BACK_OK


def reopen(turn: Turn, ticket: Ticket, text: str) -> str:
    """Send the ticket back to work and tell its handler why."""
    transition(turn.session, ticket, "reopened", actor=turn.actor, now=turn.now, note=text)
    ticket.reopen_count = (ticket.reopen_count or 0) + 1
    limits = deadlines(turn.services.config, ticket.category, ticket.urgent)  # at the same level
    ticket.response_due_at = turn.now + timedelta(seconds=limits.response)
    ticket.resolve_due_at = turn.now + timedelta(seconds=limits.resolve)
    ticket.warned_at = None
    notify.to_handlers(turn.session, ticket, replies.STAFF_REOPENED.format(number=ticket.id, text=notify.quoted(text)),
                       event=f"reopened:{len(ticket.events)}", now=turn.now)
    return replies.RESIDENT_REOPENED.format(number=ticket.id)


def addition(turn: Turn, text: str) -> str | None:
    """Pass "补充 #N words" to the ticket's handler; None when the text is not one."""
    match = ADDITION.match(text)
    if not match or match.group(1) not in replies.ADD_WORDS:
        return None
    ticket = followed(turn.session, turn.resident.id, int(match.group(2)), OPEN_STATES)
    if ticket is None:
        return replies.TICKET_NOT_FOUND.format(number=match.group(2))
    words = match.group(3).strip()
    event = record(turn.session, ticket, actor=turn.actor, action="added", now=turn.now, note=words)
    turn.session.flush()
    notify.to_handlers(turn.session, ticket, replies.STAFF_ADDITION.format(number=ticket.id, text=notify.quoted(words)),
                       event=f"added:{event.id}", now=turn.now)
    return replies.RESIDENT_ADDED.format(number=ticket.id)
