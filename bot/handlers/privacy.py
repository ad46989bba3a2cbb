"""A resident's personal information (PIPL): see what the bot holds, and have it erased.

The intent labels are fixed by the contract, so these requests are recognised here,
before the intent engine, the way staff commands are. Erasing asks first and waits
ten minutes for "确认删除" (the conversation mechanism every handler uses).
"""
from __future__ import annotations

import re
import unicodedata

from bot.replies.privacy import (PRIVACY_ERASED, PRIVACY_ERASE_AGAIN, PRIVACY_ERASE_ASK,
                                 PRIVACY_ERASE_CANCELLED,
                                 PRIVACY_HOME, PRIVACY_NOTHING_TO_CONFIRM, PRIVACY_NO_HOME,
                                 PRIVACY_SUBSCRIBED, PRIVACY_SUMMARY, PRIVACY_UNVERIFIED,
                                 PRIVACY_VERIFIED, PRIVACY_WITHDRAWS)
from bot import photos
from bot.turn import Turn
from bot.words import CANCEL_WORDS
from models import privacy
from models.estate import ROLE_NAMES

# Matched against the message with spaces and punctuation removed.
PRIVACY_VIEW_PATTERN = (r"(?:请|麻烦)?(?:帮我)?(?:查看|查询|查一下|看看|看一下|显示)?我的(?:个人)?(?:信息|资料|数据)"
                        r"|(?:你们|邻里通|系统)(?:都)?(?:存|保存|记录|收集|掌握)?(?:了|着)?"
                        r"(?:我|我的)(?:哪些|什么|多少)(?:个人)?(?:信息|资料|数据)(?:吗|呢)?")
PRIVACY_ERASE_PATTERN = (r"(?:请|麻烦)?(?:帮我)?(?:删除|删掉|清除|清空|抹掉)(?:我的)?(?:全部|所有)?(?:个人)?"
                         r"(?:信息|资料|数据)|注销(?:我的)?(?:账号|账户|帐号|帐户)?")
PRIVACY_CONFIRM_WORDS = ("确认删除", "确定删除", "确认注销", "确定注销")
WAITING_FOR = "erase"
_PUNCTUATION = re.compile(r"[\s。.!！?？~～,，、]+")
_VIEW = re.compile(PRIVACY_VIEW_PATTERN)
_ERASE = re.compile(PRIVACY_ERASE_PATTERN)


def answer(turn: Turn, text: str) -> str | None:
    """Answer a request about the resident's own information; None when the text is not one."""
    said = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text))
    if said in PRIVACY_CONFIRM_WORDS:
        return erase(turn)
    if _VIEW.fullmatch(said):
        return show(turn)
    if _ERASE.fullmatch(said):
        return ask_to_erase(turn)
    if said in CANCEL_WORDS:
        waiting = turn.pending()
        if waiting is not None and waiting.waiting_for == WAITING_FOR:
            turn.stop_waiting()
            return PRIVACY_ERASE_CANCELLED
    return None


def show(turn: Turn) -> str:
    """Summarise what the bot holds about the resident."""
    held = privacy.holding(turn.session, turn.resident)
    if held.home:
        state = PRIVACY_VERIFIED if held.verified else PRIVACY_UNVERIFIED
        home = PRIVACY_HOME.format(home=held.home, role=ROLE_NAMES.get(
            held.role or "owner", ""), state=state)
    else:
        home = PRIVACY_NO_HOME
    return PRIVACY_SUMMARY.format(
        home=home, subscribed=PRIVACY_SUBSCRIBED[held.subscribed],
        reported=held.reported, followed=held.followed, ballots=held.ballots,
        messages=held.messages, photos=held.photos, since=turn.services.local(held.since).strftime("%Y-%m-%d"))


def ask_to_erase(turn: Turn) -> str:
    """Say what erasing removes and keeps, and wait ten minutes for "确认删除"."""
    again = _erased_lately(turn)
    if again:
        return again
    undecided = privacy.open_ballots(turn.session, turn.resident, turn.now)
    withdraw = PRIVACY_WITHDRAWS.format(
        votes="、".join(f"#{n}" for n in undecided)) if undecided else ""
    turn.wait_for(WAITING_FOR, {})
    return PRIVACY_ERASE_ASK.format(withdraw=withdraw)


def _erased_lately(turn: Turn) -> str | None:
    """The answer when this sender erased themselves less than a day ago (once a day)."""
    when = privacy.next_erasure(turn.session, turn.resident.openid, turn.now)
    if when is None:
        return None
    return PRIVACY_ERASE_AGAIN.format(when=turn.services.local(when).strftime("%m-%d %H:%M"))


def erase(turn: Turn) -> str:
    """Erase the resident's information, if they asked within the last ten minutes."""
    waiting = turn.pending()
    if waiting is None or waiting.waiting_for != WAITING_FOR:
        return PRIVACY_NOTHING_TO_CONFIRM
    turn.stop_waiting()
    again = _erased_lately(turn)
    if again:
        return again
    done = privacy.erase(turn.session, turn.resident, turn.now)
    photos.forget(turn.session, list(done.photo_keys), key=f"{done.pseudonym}:photos", now=turn.now)
    return PRIVACY_ERASED.format(tickets=done.tickets_kept, ballots=done.ballots_kept,
                                         withdrawn=done.ballots_withdrawn)
