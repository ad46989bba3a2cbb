"""Report a problem or make a suggestion: each becomes a numbered ticket."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from intents import Parse
from bot import notify, replies
from bot.turn import Turn
from models import Conversation, Follower, Ticket, TicketPhoto, record
from models.tickets import similar_open
from models.sla import deadlines

PLACE_MAX = 200


def place_of(parse: Parse) -> str | None:
    """Return the place a message names, building-unit-room if nothing better."""
    if parse.place:
        return parse.place
    parts = [f"{parse.building}栋" if parse.building else "",
             f"{parse.unit}单元" if parse.unit else "", parse.room or ""]
    return "".join(parts) or None


def report(turn: Turn, parse: Parse, photos: list[dict[str, str]] | None = None) -> str:
    """Open a ticket for the problem, or ask where it is first."""
    fields = _fields(parse)
    if photos:
        fields["photos"] = photos
    if fields["place"] is None:
        turn.wait_for("place", fields)
        return replies.ASK_PLACE.format(category=replies.category_name(fields["category"]))
    return _open_or_offer(turn, fields)


def fill_place(turn: Turn, waiting: Conversation, parse: Parse, place: str | None = None) -> str:
    """Complete the report waiting for a place with this message (text or location)."""
    fields: dict[str, Any] = json.loads(waiting.payload)
    fields["place"] = (place or place_of(parse) or parse.text.strip())[:PLACE_MAX]
    for slot in ("building", "unit", "room"):
        fields[slot] = fields[slot] or getattr(parse, slot)
    turn.stop_waiting()
    return _open_or_offer(turn, fields)


def _open_or_offer(turn: Turn, fields: dict[str, Any]) -> str:
    """Open the ticket, unless the same problem is already being handled: then offer to follow it."""
    same = similar_open(turn.session, category=fields["category"], building=fields["building"],
                        place=fields["place"], now=turn.now, resident_id=turn.resident.id)
    if same is None:
        return _open(turn, fields)
    turn.wait_for("duplicate", fields | {"duplicate_of": same.id})
    return replies.DUPLICATE_OFFER.format(number=same.id, category=notify.category_name(same),
                                          place=same.place or "—")


def answer_duplicate(turn: Turn, waiting: Conversation, text: str) -> str | None:
    """Follow the open ticket on "是", file a new one on "不是"; None when it is neither."""
    answer = text.strip(" 。.!！~～")
    if answer not in replies.YES_WORDS and answer not in replies.NO_WORDS:
        return None
    fields: dict[str, Any] = json.loads(waiting.payload)
    turn.stop_waiting()
    ticket = turn.session.get(Ticket, fields.pop("duplicate_of"))
    if answer in replies.NO_WORDS or ticket is None:
        return _open(turn, fields)
    turn.session.add(Follower(ticket_id=ticket.id, resident_id=turn.resident.id,
                              joined_at=turn.now, how="me_too"))
    record(turn.session, ticket, actor=turn.actor, action="me_too", now=turn.now,
           note=fields["text"])
    return replies.DUPLICATE_FOLLOWED.format(number=ticket.id)


def suggest(turn: Turn, parse: Parse) -> str:
    """Record a suggestion as a ticket of its own kind, handled and published like a problem."""
    fields = _fields(parse) | {"kind": "suggestion", "category": None, "urgent": False}
    ticket = _create(turn, fields)
    return replies.SUGGESTION_OPENED.format(number=ticket.id)


def _fields(parse: Parse) -> dict[str, Any]:
    return {"kind": "problem", "category": parse.category or "other", "urgent": parse.urgent,
            "text": parse.text.strip(), "building": parse.building, "unit": parse.unit,
            "room": parse.room, "place": place_of(parse)}


def _open(turn: Turn, fields: dict[str, Any]) -> str:
    ticket = _create(turn, fields)
    limits = deadlines(turn.services.config, ticket.category, ticket.urgent)
    if ticket.urgent:
        next_step = replies.NEXT_STEP_URGENT.format(response=replies.duration(limits.response))
    else:
        next_step = replies.NEXT_STEP_NORMAL.format(response=replies.duration(limits.response),
                                                    resolve=replies.duration(limits.resolve))
    return replies.TICKET_OPENED.format(number=ticket.id, category=replies.category_name(ticket.category),
                                        place=ticket.place, next_step=next_step)


def _create(turn: Turn, fields: dict[str, Any]) -> Ticket:
    ticket = Ticket(kind=fields["kind"], category=fields["category"], reporter_id=turn.resident.id,
                    building=fields["building"], unit=fields["unit"], room=fields["room"],
                    place=fields["place"], urgent=fields["urgent"], text=fields["text"],
                    state="open", level="grid", created_at=turn.now, updated_at=turn.now)
    limits = deadlines(turn.services.config, ticket.category, ticket.urgent)
    ticket.response_due_at = turn.now + timedelta(seconds=limits.response)
    ticket.resolve_due_at = turn.now + timedelta(seconds=limits.resolve)
    turn.session.add(ticket)
    for photo in fields.get("photos", []):
        ticket.photos.append(TicketPhoto(media_id=photo["media_id"], pic_url=photo.get("pic_url"),
                                         at=turn.now))
    record(turn.session, ticket, actor=turn.actor, action="opened", now=turn.now)
    turn.session.flush()
    turn.session.add(Follower(ticket_id=ticket.id, resident_id=turn.resident.id,
                              joined_at=turn.now, how="reported"))
    notify.new_ticket(turn.services, turn.session, ticket, turn.now)
    return ticket
