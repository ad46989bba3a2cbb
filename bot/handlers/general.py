"""Help, greetings, and a short helpful answer to anything else."""
from __future__ import annotations

from intents import Parse
from bot.replies.general import GREETING, HELP, THANKS, UNKNOWN
from bot.turn import Turn

THANKS_MARKERS = ("谢",)  # "谢谢师傅" is thanks, not a greeting


def help_text(turn: Turn, parse: Parse) -> str:
    """Say what the bot can do."""
    return HELP


def greet(turn: Turn, parse: Parse) -> str:
    """Answer a hello or a thank-you."""
    if any(marker in parse.text for marker in THANKS_MARKERS):
        return THANKS
    return GREETING


def unknown(turn: Turn, parse: Parse) -> str:
    """Say briefly what the bot can help with."""
    return UNKNOWN
