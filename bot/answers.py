"""Each intent's answer: the one handler that acts on a resident's message of that intent.

The dialogue calls it for what a resident wrote, for the reading they picked from a
clarifying question, and staff's `不是报修 #N` for what the message was instead.
"""
from __future__ import annotations

from typing import Callable

from intents import Parse
from bot.handlers import account, bind, estate, followup, general, market, media, report, status, vote
from bot.tickets import Photo
from bot.turn import Turn

Handler = Callable[[Turn, Parse], str]

HANDLERS: dict[str, Handler] = {
    "report": report.report,
    "suggest": report.suggest,
    "query_status": status.show_status,
    "bind": bind.bind_home,
    "help": general.help_text,
    "greeting": general.greet,
    "subscribe": account.subscribe,
    "unsubscribe": account.unsubscribe,
    "rate": followup.rate,
    "vote": vote.cast_vote,
    "vote_list": vote.list_votes,
    "market": market.market_day,
    "unknown": general.unknown,
}


def answer(turn: Turn, parse: Parse, photos: list[Photo] | None = None) -> str:
    """Act on a message with its intent's handler; a report takes the photos sent before it.

    A resident whose estate the message needs and the bot cannot tell is asked for it first."""
    if parse.intent == "report":
        taken = [*(photos or ()), *media.described_photos(turn)]
        if estate.needs(turn, parse):
            return estate.ask(turn, parse, taken)
        return report.report(turn, parse, taken)
    if estate.needs(turn, parse):
        return estate.ask(turn, parse, list(photos or ()))
    return HANDLERS[parse.intent](turn, parse)
