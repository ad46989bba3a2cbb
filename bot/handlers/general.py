"""Help, greetings, and a short helpful answer to anything else."""
from __future__ import annotations

from intents import Parse
from bot import replies
from bot.turn import Turn


def help_text(turn: Turn, parse: Parse) -> str:
    """Say what the bot can do."""
    return replies.HELP


def greet(turn: Turn, parse: Parse) -> str:
    """Answer a hello or a thank-you."""
    if any(marker in parse.text for marker in replies.THANKS_MARKERS):
        return replies.THANKS
    return replies.GREETING


def unknown(turn: Turn, parse: Parse) -> str:
    """Say briefly what the bot can help with."""
    return replies.UNKNOWN
