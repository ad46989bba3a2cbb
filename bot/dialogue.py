"""The dialogue: turn a parsed message into a reply.

Ask the intent engine, resume a pending conversation, call one handler. The one
catch-all for unexpected errors lives here: it logs the traceback and answers
the resident politely; the handler's changes are rolled back.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy.orm import Session

import intents
from intents import Parse
from bot import outbox
from bot.commands import STAFF_COMMANDS
from bot.handlers import (account, bind, followup, general, market, media, privacy, report, status,
                          vote)
from bot.inbound import Inbound
from bot.replies.general import EMPTY_TEXT, SORRY, UNSUPPORTED, VOICE_UNRECOGNISED
from bot.replies.report import LOCATION_NO_REPORT, PLACE_EXPIRED, REPORT_CANCELLED
from bot.replies.staff import NOT_STAFF
from bot.services import Services
from bot.tickets import place_of
from bot.turn import StaffTurn, Turn
from bot.words import CANCEL_WORDS
from models import resident_for, staff_by_user

log = logging.getLogger(__name__)

STAFF_CHANNELS = frozenset({"wecom", "wecom_bot"})

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

# While a report waits for its place, these intents are new requests, not the answer.
NOT_A_PLACE = frozenset({"query_status", "bind", "help", "vote", "vote_list", "market",
                         "subscribe", "unsubscribe", "rate", "suggest"})


def respond(services: Services, session: Session, inbound: Inbound) -> str:
    """Answer one message; an unexpected failure becomes an apology, not silence."""
    try:
        with session.begin_nested():
            if inbound.channel in STAFF_CHANNELS:
                return _staff(services, session, inbound)
            now = services.clock()
            resident = resident_for(session, inbound.sender, now)  # staff on WeChat too: the
            outbox.release_held(session, inbound.sender, now)  # 48-hour window opens for them
            # On the residents' account a staff command is taken as one from registered staff,
            # or when no resident would write it so (bot/commands.py, StaffCommand.claims).
            found = STAFF_COMMANDS.parse(inbound.text or "") if inbound.kind == "text" else None
            if found and (staff_by_user(session, inbound.sender, "wechat")
                          or found[0].claims(inbound.text or "")):
                return _staff(services, session, inbound)
            return _route(Turn(session, resident, now, services), inbound)
    except Exception:
        log.exception("handling %s message %s failed", inbound.kind, inbound.key)
        return SORRY


def _staff(services: Services, session: Session, inbound: Inbound) -> str:
    """Staff chats: only registered staff may act, and only through the chat grammar."""
    if inbound.kind == "event":
        return ""
    channel = "wechat" if inbound.channel == "wechat" else "wecom"
    member = staff_by_user(session, inbound.sender, channel)
    if member is None:
        return NOT_STAFF
    found = STAFF_COMMANDS.parse(inbound.text or "") if inbound.kind == "text" else None
    if found is None:
        return STAFF_COMMANDS.help()
    command, rest = found
    return STAFF_COMMANDS.run(StaffTurn(session, member, services.clock(), services), command, rest)


def _route(turn: Turn, inbound: Inbound) -> str:
    if inbound.kind == "event":
        if inbound.event == "subscribe":
            return account.follow(turn)
        if inbound.event == "unsubscribe":
            return account.unfollow(turn)
        return ""
    if inbound.kind == "image":
        return media.photo(turn, inbound.media_id or "", inbound.pic_url)
    if inbound.kind == "location":
        return _location(turn, inbound)
    if inbound.kind == "voice" and not (inbound.text or "").strip():
        return VOICE_UNRECOGNISED
    if inbound.kind in ("text", "voice"):
        text = (inbound.text or "").strip()
        return understand(turn, text) if text else EMPTY_TEXT
    return UNSUPPORTED


def understand(turn: Turn, text: str) -> str:
    """Read a text with the intent engine and hand it to one handler."""
    private = privacy.answer(turn, text)  # PIPL requests: no intent label, recognised first
    if private is not None:
        return private
    waiting = turn.pending()
    if waiting is not None and waiting.waiting_for == "place" and text in CANCEL_WORDS:
        turn.stop_waiting()
        return REPORT_CANCELLED
    if waiting is not None and waiting.waiting_for == "duplicate":
        answered = report.answer_duplicate(turn, waiting, text)
        if answered is not None:
            return answered
    added = followup.addition(turn, text)
    if added is not None:
        return added
    parse = intents.parse(text)
    answers_where = parse.intent not in NOT_A_PLACE and not _new_report(parse)
    if waiting is not None and waiting.waiting_for == "place" and answers_where:
        return report.fill_place(turn, waiting, parse)
    if turn.expired == "place" and answers_where:
        return PLACE_EXPIRED
    if followup.judges_a_fix(turn, parse):
        return followup.rate(turn, parse)
    confirmed = followup.stayed_fixed(turn, parse.text)
    if confirmed is not None:
        return confirmed
    if parse.intent == "report":
        return report.report(turn, parse, media.described_photos(turn))
    return HANDLERS[parse.intent](turn, parse)


def _new_report(parse: Parse) -> bool:
    """A full report of its own (problem and place) is not the answer to "where?"."""
    return parse.intent == "report" and parse.category not in (None, "other") \
        and place_of(parse) is not None and parse.place != parse.text.strip()


def _location(turn: Turn, inbound: Inbound) -> str:
    waiting = turn.pending()
    place = inbound.label or f"{inbound.latitude},{inbound.longitude}"
    if waiting is None or waiting.waiting_for != "place":
        return LOCATION_NO_REPORT
    return report.fill_place(turn, waiting, intents.parse(place), place=place)
