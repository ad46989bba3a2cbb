"""A resident's personal information (PIPL): see what the bot holds, and have it erased.

The intent labels are fixed by the contract, so these requests are recognised here,
before the intent engine, the way staff commands are. Erasing asks first and waits
ten minutes for "确认删除" (the conversation mechanism every handler uses).
"""
from __future__ import annotations

import re
import unicodedata

from bot import replies
from bot.turn import Turn
from models import privacy

WAITING_FOR = "erase"
_PUNCTUATION = re.compile(r"[\s。.!！?？~～,，、]+")
_VIEW = re.compile(replies.PRIVACY_VIEW_PATTERN)
_ERASE = re.compile(replies.PRIVACY_ERASE_PATTERN)


def answer(turn: Turn, text: str) -> str | None:
    """Answer a request about the resident's own information; None when the text is not one."""
    said = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text))
    if said in replies.PRIVACY_CONFIRM_WORDS:
        return erase(turn)
    if _VIEW.fullmatch(said):
        return show(turn)
    if _ERASE.fullmatch(said):
        return ask_to_erase(turn)
    if said in replies.CANCEL_WORDS:
        waiting = turn.pending()
        if waiting is not None and waiting.waiting_for == WAITING_FOR:
            turn.stop_waiting()
            return replies.PRIVACY_ERASE_CANCELLED
    return None


def show(turn: Turn) -> str:
    """Summarise what the bot holds about the resident."""
    held = privacy.holding(turn.session, turn.resident)
    if held.home:
        state = replies.PRIVACY_VERIFIED if held.verified else replies.PRIVACY_UNVERIFIED
        home = replies.PRIVACY_HOME.format(home=held.home, role=replies.ROLE_NAMES.get(
            held.role or "owner", ""), state=state)
    else:
        home = replies.PRIVACY_NO_HOME
    return replies.PRIVACY_SUMMARY.format(
        home=home, subscribed=replies.PRIVACY_SUBSCRIBED[held.subscribed],
        reported=held.reported, followed=held.followed, ballots=held.ballots,
        messages=held.messages, since=turn.services.local(held.since).strftime("%Y-%m-%d"))


def ask_to_erase(turn: Turn) -> str:
    """Say what erasing removes and keeps, and wait ten minutes for "确认删除"."""
    undecided = privacy.open_ballots(turn.session, turn.resident, turn.now)
    withdraw = replies.PRIVACY_WITHDRAWS.format(
        votes="、".join(f"#{n}" for n in undecided)) if undecided else ""
    turn.wait_for(WAITING_FOR, {})
    return replies.PRIVACY_ERASE_ASK.format(withdraw=withdraw)


def erase(turn: Turn) -> str:
    """Erase the resident's information, if they asked within the last ten minutes."""
    waiting = turn.pending()
    if waiting is None or waiting.waiting_for != WAITING_FOR:
        return replies.PRIVACY_NOTHING_TO_CONFIRM
    turn.stop_waiting()
    done = privacy.erase(turn.session, turn.resident, turn.now)
    return replies.PRIVACY_ERASED.format(tickets=done.tickets_kept, ballots=done.ballots_kept,
                                         withdrawn=done.ballots_withdrawn)
