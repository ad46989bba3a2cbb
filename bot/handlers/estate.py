"""Which estate: before a resident is bound, a report (or a binding whose home several estates
have) needs to know their estate when the account serves more than one. The bot asks with the
estates as numbered choices (the engine reads the answer as it reads a clarifying question's,
`expect="choice"`), or takes the nearest to a location the resident sends; the choice is kept
on the resident, and the message that needed it is then acted on. A bound home decides the
estate from then on. With one estate nothing is asked."""
from __future__ import annotations

import json
import math
from typing import Any

from intents import Parse, parse_as
from bot.replies.estate import (ASK_ESTATE, ESTATE_CHOSEN, ESTATE_LINE, ESTATE_NO_PLACE,
                                ESTATE_OUT_OF_RANGE)
from bot.tickets import Photo
from bot.turn import Turn
from models import Estate, Home
from models.estates import estates, homes_named, nearest

Chosen = tuple[str, Parse, list[Photo]]  # what to say, the kept message read as before, its photos
WAIT = "estate"
NEEDS = ("report", "suggest")  # intents that open a ticket, which belongs to one estate


def needs(turn: Turn, parse: Parse) -> bool:
    """Whether the message must wait for the resident to say their estate.

    Never an urgent report (it is routed at once, to every estate's staff for its place), never
    when the resident's estate is known or there is only one; a binding only when the home it
    names is in more than one estate.
    """
    if turn.resident.home_id is not None or turn.resident.estate_id is not None:
        return False
    if parse.intent in NEEDS and not parse.urgent:
        return len(estates(turn.session)) > 1
    if parse.intent == "bind" and parse.building and parse.unit and parse.room:
        found: list[Home] = homes_named(turn.session, parse.building, parse.unit, parse.room)
        return len(found) > 1
    return False


def ask(turn: Turn, parse: Parse, photos: list[Photo]) -> str:
    """Offer the estates by name as numbered choices, keeping the message until one is picked."""
    offered = estates(turn.session)
    turn.wait_for(WAIT, {"text": parse.text, "intent": parse.intent,
                         "estates": [e.id for e in offered],
                         "photos": [{"media_id": p.media_id, "pic_url": p.pic_url} for p in photos]})
    lines = [ESTATE_LINE.format(number=n, name=e.name) for n, e in enumerate(offered, start=1)]
    return ASK_ESTATE.format(choices="\n".join(lines))


def answer(turn: Turn, waiting: Any, parse: Parse) -> Chosen | str | None:
    """Read the resident's pick (a number or a name): (what to say, the kept message read as
    before, its photos); a request for a number in range; None when this is no answer."""
    kept: dict[str, Any] = json.loads(waiting.payload)
    offered = [turn.session.get(Estate, i) for i in kept["estates"]]
    said = parse.text.strip(" 。.!！~～")
    named = next((n for n, e in enumerate(offered, start=1) if e is not None and e.name == said), None)
    picked = named if named is not None else (int(parse.answer) if parse.answer is not None
                                              and str(parse.answer).isdigit() else None)
    if picked is None:
        return None
    if not 1 <= picked <= len(offered) or offered[picked - 1] is None:
        return ESTATE_OUT_OF_RANGE.format(last=len(offered))
    return _chosen(turn, kept, offered[picked - 1])  # type: ignore[arg-type]


def located(turn: Turn, waiting: Any, latitude: str | None, longitude: str | None) -> Chosen | str:
    """Take the estate nearest the resident's location (as WeChat wrote it) as their answer."""
    kept: dict[str, Any] = json.loads(waiting.payload)
    try:
        lat, lng = float(latitude or ""), float(longitude or "")
    except ValueError:
        return ESTATE_NO_PLACE
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return ESTATE_NO_PLACE
    estate = nearest(turn.session, lat, lng)
    if estate is None:
        return ESTATE_NO_PLACE
    return _chosen(turn, kept, estate)


def _chosen(turn: Turn, kept: dict[str, Any], estate: Estate) -> Chosen:
    turn.stop_waiting()
    turn.resident.estate_id = estate.id
    return (ESTATE_CHOSEN.format(name=estate.name), parse_as(kept["text"], kept["intent"]),
            [Photo(p["media_id"], p.get("pic_url")) for p in kept.get("photos", [])])
