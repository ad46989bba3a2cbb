"""Ask instead of guessing: the likeliest readings of an unclear message as numbered choices.

The question remembers the message for ten minutes (like the wait for a place); the answer
picks a reading, which the dialogue then acts on with that intent's handler, and is kept as
a labelled example (models/corrections.py). Any other clear message simply goes ahead.
"""
from __future__ import annotations

import json
from typing import Any

from intents import Parse, parse_as
from bot.replies.clarify import (CHOICE_LINE, CLARIFY, CLARIFY_OUT_OF_RANGE, READINGS,
                                 REPORT_READING)
from bot.tickets import Photo
from bot.turn import Turn
from models import Conversation
from models.categories import category_name
from models.corrections import keep

WAIT = "choice"  # what the bot waits for (the engine's `expect`)
MOST = 3  # readings offered
LIKELY = 0.05  # a reading this unlikely is offered only to make two
NAMED = 0.5  # a report's category is named in its reading only when the engine is this sure of it
RESIDENT = "居民"  # who answered, in the export (never an openid)


def choices(parse: Parse) -> list[str]:
    """The two or three likeliest readings that can be offered (never `unknown`), likeliest first."""
    ranked = sorted(((p, name) for name, p in parse.scores.items() if name in READINGS),
                    key=lambda pair: (-pair[0], pair[1]))
    likely = [name for p, name in ranked if p >= LIKELY][:MOST]
    return likely if len(likely) >= 2 else [name for _p, name in ranked[:2]]


def ask(turn: Turn, parse: Parse) -> str:
    """Offer the readings as numbered choices and remember the message while the resident picks."""
    offered = choices(parse)
    waiting = turn.pending()
    photos = json.loads(waiting.payload).get("photos", []) if waiting is not None \
        and waiting.waiting_for == "description" else []
    turn.wait_for(WAIT, {"text": parse.text, "read": [parse.intent, parse.category],
                         "choices": offered, "photos": photos})
    lines = [CHOICE_LINE.format(number=n, reading=_reading(name, parse))
             for n, name in enumerate(offered, start=1)]
    return CLARIFY.format(choices="\n".join(lines))


def _reading(intent: str, parse: Parse) -> str:
    if intent == "report" and parse.categories:
        category, likely = parse.categories[0]
        if category != "other" and likely >= NAMED:
            return REPORT_READING.format(category=category_name(category))
    return READINGS[intent]


def answer(turn: Turn, waiting: Conversation, parse: Parse) -> tuple[Parse, list[Photo]] | str | None:
    """Read the resident's pick: the original message read as the chosen intent (with any photos
    sent before it), a request for a number in range, or None when this is no answer at all."""
    kept: dict[str, Any] = json.loads(waiting.payload)
    offered: list[str] = kept["choices"]
    picked = _picked(parse, offered)
    if picked is None:
        return None
    if not 1 <= picked <= len(offered):
        return CLARIFY_OUT_OF_RANGE.format(last=len(offered))
    turn.stop_waiting()
    meant = parse_as(kept["text"], offered[picked - 1])
    read_intent, read_category = kept["read"]
    keep(turn.session, text=kept["text"], read=(read_intent, read_category),
         was=(meant.intent, meant.category), source="resident", by=RESIDENT, now=turn.now,
         resident_id=turn.resident.id)
    return meant, [Photo(p["media_id"], p.get("pic_url")) for p in kept.get("photos", [])]


def _picked(parse: Parse, offered: list[str]) -> int | None:
    """The number the resident answered, or the reading they wrote out; None when neither."""
    if parse.answer is not None:
        return int(parse.answer)
    said = parse.text.strip(" 。.!！~～")
    for number, intent in enumerate(offered, start=1):
        if said and said in READINGS[intent].split("、"):
            return number
    return None
