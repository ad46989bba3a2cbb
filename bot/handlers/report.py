"""Report a problem or make a suggestion: each becomes a numbered ticket (bot/tickets.py).

Urgency never waits: an urgent report without a place is opened at once and its place asked
afterwards, and a second resident reporting an emergency already open follows it at once.
"""
from __future__ import annotations

import json
from dataclasses import replace

from intents import Parse
from bot import notify
from bot.replies.report import (ASK_PLACE, DUPLICATE_FOLLOWED, DUPLICATE_OFFER, NEXT_STEP_NORMAL,
                                NEXT_STEP_URGENT, PLACE_ADDED, SUGGESTION_OPENED, TICKET_OPENED,
                                URGENT_ADDED, URGENT_FOLLOWED, URGENT_OPENED_ASK_PLACE)
from bot.tickets import Draft, PLACE_MAX, Photo, draft_of, open_ticket, place_of
from bot.turn import Turn
from models import Conversation, Ticket, record
from models.categories import category_name
from models.sla import deadlines, duration
from models.tickets import OPEN_STATES, follow, log, similar_open
from models.estates import resident_estate

# answers to "已有同类问题 #N, 一起跟进吗?" (after " 。.!！~～" are stripped), beside the engine's
YES_WORDS = ("是", "是的", "对", "对的", "嗯", "好", "好的", "跟进", "一起跟进", "要得", "可以")
NO_WORDS = ("不是", "不对", "不是一回事", "另外登记", "单独登记", "不一样")
DUPLICATE_OF = "duplicate_of"  # the open ticket offered, kept beside the draft while the bot waits
TICKET_PLACE = "ticket_place"  # the wait of an urgent ticket opened before its place was known
WAITS_FOR_PLACE = ("place", TICKET_PLACE)


def report(turn: Turn, parse: Parse, photos: list[Photo] | None = None) -> str:
    """Open a ticket for the problem, or ask where it is first (an urgent one is opened first)."""
    draft = replace(draft_of(parse), photos=tuple(photos or ()))
    if draft.place is None and draft.urgent:
        ticket = open_ticket(turn, draft)
        turn.wait_for(TICKET_PLACE, {"ticket": ticket.id, "category": ticket.category})
        return URGENT_OPENED_ASK_PLACE.format(number=ticket.id, category=category_name(ticket.category))
    if draft.place is None:
        turn.wait_for("place", draft.payload())
        return ASK_PLACE.format(category=category_name(draft.category))
    return _open_or_offer(turn, draft)


def waiting_category(waiting: Conversation) -> str | None:
    """The category of the report waiting for its place."""
    return json.loads(waiting.payload).get("category")


def fill_place(turn: Turn, waiting: Conversation, parse: Parse, place: str | None = None) -> str:
    """Complete the report waiting for a place with this message (text or location)."""
    kept = json.loads(waiting.payload)
    if waiting.waiting_for == TICKET_PLACE:
        return _place_of_open(turn, waiting, kept["ticket"], parse, place)
    turn.stop_waiting()
    draft = Draft.from_payload(kept)
    draft = replace(draft, place=(place or place_of(parse) or parse.text.strip())[:PLACE_MAX],
                    building=draft.building or parse.building, unit=draft.unit or parse.unit,
                    room=draft.room or parse.room)
    return _open_or_offer(turn, draft)


def _place_of_open(turn: Turn, waiting: Conversation, number: int, parse: Parse,
                   place: str | None) -> str:
    """Pass what the resident says next about an urgent ticket opened without a place to its
    handlers; a place it names becomes the ticket's (and ends the wait)."""
    ticket = turn.session.get(Ticket, number)
    named = place or place_of(parse)
    if ticket is None or ticket.state not in OPEN_STATES:
        turn.stop_waiting()
        return PLACE_ADDED.format(number=number, place=named or parse.text.strip())
    if named:
        turn.stop_waiting()
        ticket.place = ticket.place or named[:PLACE_MAX]
        ticket.building = ticket.building or parse.building
        ticket.unit, ticket.room = ticket.unit or parse.unit, ticket.room or parse.room
    said = (named or parse.text.strip())[:PLACE_MAX]
    event = record(turn.session, ticket, actor=turn.actor, action="place" if named else "added",
                   now=turn.now, note=said)
    turn.session.flush()
    notify.place_given(turn.services, turn.session, ticket, said, event=f"place:{event.id}",
                       now=turn.now)
    return (PLACE_ADDED if named else URGENT_ADDED).format(number=ticket.id, place=said)


def _open_or_offer(turn: Turn, draft: Draft) -> str:
    """Open the ticket, unless the same problem is already being handled: then offer to follow it.

    An emergency already open is followed at once, no question asked; an urgent report that
    only resembles an ordinary open ticket is opened on its own, also without a question.
    """
    same = similar_open(turn.session, category=draft.category, building=draft.building,
                        place=draft.place, now=turn.now, resident_id=turn.resident.id,
                        estate_id=resident_estate(turn.session, turn.resident))
    if same is not None and draft.urgent and same.urgent:
        _follow(turn, same, draft.text, how="me_too")
        notify.also_reported(turn.services, turn.session, same, draft.text, now=turn.now)
        return URGENT_FOLLOWED.format(number=same.id, category=notify.category_name(same),
                                      place=same.place or "—")
    if same is None or draft.urgent:
        return _open(turn, draft)
    turn.wait_for("duplicate", draft.payload() | {DUPLICATE_OF: same.id})
    return DUPLICATE_OFFER.format(number=same.id, category=notify.category_name(same),
                                  place=same.place or "—")


def answer_duplicate(turn: Turn, waiting: Conversation, parse: Parse) -> str | None:
    """Follow the open ticket on "是", file a new one on "不是"; None when it is neither."""
    said = parse.text.strip(" 。.!！~～")
    answer = "yes" if said in YES_WORDS else "no" if said in NO_WORDS else parse.answer
    if answer not in ("yes", "no"):
        return None
    kept = json.loads(waiting.payload)
    draft = Draft.from_payload(kept)
    turn.stop_waiting()
    ticket = turn.session.get(Ticket, kept[DUPLICATE_OF]) if answer == "yes" else None
    if ticket is None:  # 不是, or the ticket offered is gone: a ticket of their own
        return _open(turn, draft)
    _follow(turn, ticket, draft.text, how="me_too")
    return DUPLICATE_FOLLOWED.format(number=ticket.id)


def _follow(turn: Turn, ticket: Ticket, text: str, *, how: str) -> None:
    follow(turn.session, ticket.id, turn.resident.id, now=turn.now, how=how)
    log(turn.session, ticket, actor=turn.actor, action="me_too", now=turn.now, note=text)


def suggest(turn: Turn, parse: Parse) -> str:
    """Record a suggestion as a ticket of its own kind, handled and published like a problem."""
    draft = replace(draft_of(parse), kind="suggestion", category=None, urgent=False)
    ticket = open_ticket(turn, draft)
    return SUGGESTION_OPENED.format(number=ticket.id)


def _open(turn: Turn, draft: Draft) -> str:
    ticket = open_ticket(turn, draft)
    limits = deadlines(turn.services.config.sla, ticket.category, ticket.urgent)
    if ticket.urgent:
        next_step = NEXT_STEP_URGENT.format(response=duration(limits.response))
    else:
        next_step = NEXT_STEP_NORMAL.format(response=duration(limits.response),
                                            resolve=duration(limits.resolve))
    return TICKET_OPENED.format(number=ticket.id, category=category_name(ticket.category),
                                place=ticket.place, next_step=next_step)
