"""Following the Official Account, and opting in or out of reminders."""
from __future__ import annotations

from intents import Parse
from bot.replies.general import SUBSCRIBED, UNSUBSCRIBED, WELCOME
from bot.turn import Turn


def follow(turn: Turn) -> str:
    """Welcome a new follower and say what the bot can do."""
    turn.resident.following, turn.resident.unfollowed_at = True, None
    return WELCOME


def unfollow(turn: Turn) -> str:
    """Record that the resident stopped following; nobody will read a reply."""
    turn.resident.following, turn.resident.unfollowed_at = False, turn.now
    return ""


def subscribe(turn: Turn, parse: Parse) -> str:
    """Turn reminders and notices on for this resident."""
    turn.resident.subscribed = True
    return SUBSCRIBED


def unsubscribe(turn: Turn, parse: Parse) -> str:
    """Turn reminders and notices off for this resident."""
    turn.resident.subscribed = False
    return UNSUBSCRIBED
