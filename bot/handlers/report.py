"""Report a problem or make a suggestion: each becomes a numbered ticket (bot/tickets.py)."""
from __future__ import annotations

import json
from dataclasses import replace

from intents import Parse
from bot import notify
from bot.replies.report import (ASK_PLACE, DUPLICATE_FOLLOWED, DUPLICATE_OFFER, NEXT_STEP_NORMAL,
                                NEXT_STEP_URGENT, SUGGESTION_OPENED, TICKET_OPENED)
from bot.tickets import Draft, PLACE_MAX, Photo, draft_of, open_ticket, place_of
from bot.turn import Turn
from models import Conversation, Follower, Ticket, record
from models.categories import category_name
from models.sla import deadlines, duration
from models.tickets import similar_open

# answers to "已有同类问题 #N, 一起跟进吗?" (after " 。.!！~～" are stripped)
YES_WORDS = ("是", "是的", "对", "对的", "嗯", "好", "好的", "跟进", "一起跟进", "要得", "可以")
NO_WORDS = ("不是", "不对", "不是一回事", "另外登记", "单独登记", "不一样")
DUPLICATE_OF = "duplicate_of"  # the open ticket offered, kept beside the draft while the bot waits


def report(turn: Turn, parse: Parse, photos: list[Photo] | None = None) -> str:
    """Open a ticket for the problem, or ask where it is first."""
    draft = replace(draft_of(parse), photos=tuple(photos or ()))
    if draft.place is None:
        turn.wait_for("place", draft.payload())
        return ASK_PLACE.format(category=category_name(draft.category))
    return _open_or_offer(turn, draft)


def fill_place(turn: Turn, waiting: Conversation, parse: Parse, place: str | None = None) -> str:
    """Complete the report waiting for a place with this message (text or location)."""
    draft = Draft.from_payload(json.loads(waiting.payload))
    draft = replace(draft, place=(place or place_of(parse) or parse.text.strip())[:PLACE_MAX],
                    building=draft.building or parse.building, unit=draft.unit or parse.unit,
                    room=draft.room or parse.room)
    turn.stop_waiting()
    return _open_or_offer(turn, draft)


def _open_or_offer(turn: Turn, draft: Draft) -> str:
    """Open the ticket, unless the same problem is already being handled: then offer to follow it."""
    same = similar_open(turn.session, category=draft.category, building=draft.building,
                        place=draft.place, now=turn.now, resident_id=turn.resident.id)
    if same is None:
        return _open(turn, draft)
    turn.wait_for("duplicate", draft.payload() | {DUPLICATE_OF: same.id})
    return DUPLICATE_OFFER.format(number=same.id, category=notify.category_name(same),
                                          place=same.place or "—")


def answer_duplicate(turn: Turn, waiting: Conversation, text: str) -> str | None:
    """Follow the open ticket on "是", file a new one on "不是"; None when it is neither."""
    answer = text.strip(" 。.!！~～")
    if answer not in YES_WORDS and answer not in NO_WORDS:
        return None
    kept = json.loads(waiting.payload)
    draft = Draft.from_payload(kept)
    turn.stop_waiting()
    ticket = turn.session.get(Ticket, kept[DUPLICATE_OF])
    if answer in NO_WORDS or ticket is None:
        return _open(turn, draft)
    turn.session.add(Follower(ticket_id=ticket.id, resident_id=turn.resident.id,
                              joined_at=turn.now, how="me_too"))
    record(turn.session, ticket, actor=turn.actor, action="me_too", now=turn.now, note=draft.text)
    return DUPLICATE_FOLLOWED.format(number=ticket.id)


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
