"""The dialogue: turn a parsed message into a reply.

Ask the intent engine, resume a pending conversation, call one handler. The one
catch-all for unexpected errors lives here: it logs the traceback and answers
the resident politely; the handler's changes are rolled back (with the message's
transaction: bot/inbound.py then stores the apology alone).
"""
from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import intents
from intents import Parse
from bot import answers, outbox
from bot.commands import STAFF_COMMANDS
from bot.handlers import estate  # which estate, before binding (several estates)
from bot.handlers import account, clarify, followup, media, privacy, report
from bot.inbound import STAFF_CHANNELS, Apology, Inbound, is_outage
from bot.replies.clarify import CLARIFY_CANCELLED
from bot.replies.general import EMPTY_TEXT, SORRY, UNSUPPORTED, VOICE_UNRECOGNISED
from bot.replies.report import LOCATION_NO_REPORT, PLACE_EXPIRED, REPORT_CANCELLED
from bot.replies.staff import NOT_STAFF
from bot.services import Services
from bot.tickets import place_of
from bot.turn import StaffTurn, Turn, load_resident
from bot.words import CANCEL_WORDS
from models import Conversation, staff_by_user

log = logging.getLogger(__name__)


ANSWER_PUNCTUATION = " 。.!！?？~～"

# While a report waits for its place, these intents are new requests, not the answer.
NOT_A_PLACE = frozenset({"query_status", "bind", "help", "vote", "vote_list", "market",
                         "subscribe", "unsubscribe", "rate", "suggest"})


def respond(services: Services, session: Session, inbound: Inbound) -> str:
    """Answer one message; an unexpected failure becomes an apology, not silence.

    The apology is raised (inbound.Apology), so the message's transaction rolls back whatever
    the handler did and the apology alone is stored as the reply. A lost database is raised
    as it is: the message is kept in the spool.
    """
    try:
        reply = _answer(services, session, inbound)
        session.flush()  # the handler's writes fail here, not after the reply was chosen
        return reply
    except Exception as err:
        if isinstance(err, SQLAlchemyError) and is_outage(err):
            raise
        log.exception("handling %s message %s failed", inbound.kind, inbound.key)
        raise Apology(SORRY) from None


def _answer(services: Services, session: Session, inbound: Inbound) -> str:
    if inbound.channel in STAFF_CHANNELS:
        return _staff(services, session, inbound)
    now = services.clock()
    # staff on WeChat too: the 48-hour window opens for them
    resident, held, waiting, (resolved, resolved_at) = load_resident(session, inbound.sender, now)
    if held:
        outbox.release_held(session, inbound.sender, now)
    # On the residents' account a staff command is taken as one from registered staff,
    # or when no resident would write it so (bot/commands.py, StaffCommand.claims).
    found = STAFF_COMMANDS.parse(inbound.text or "") if inbound.kind == "text" else None
    if found and (staff_by_user(session, inbound.sender, "wechat")
                  or found[0].claims(inbound.text or "")):
        return _staff(services, session, inbound)
    return _route(Turn(session, resident, now, services, waiting=waiting, resolved=resolved,
                       resolved_at=resolved_at), inbound)


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
    """Read a text with the intent engine and hand it to one handler.

    What the bot asked last (a place, a duplicate, a clarifying question, a rating after a
    fix) goes to the engine as `expect`. Where the engine is unsure it asks instead of
    acting; an urgent message never waits on a question.
    """
    private = privacy.answer(turn, text)  # PIPL requests: no intent label, recognised first
    if private is not None:
        return private
    waiting = turn.pending()
    if waiting is not None and waiting.waiting_for in ("place", clarify.WAIT, estate.WAIT) \
            and text in CANCEL_WORDS:
        turn.stop_waiting()
        return REPORT_CANCELLED if waiting.waiting_for == "place" else CLARIFY_CANCELLED
    parse = _reading(turn, text, waiting)
    answered = _answer_to_question(turn, waiting, parse)
    if answered is not None:
        return answered
    waiting = turn.pending()  # gone, when the message was no answer to a clarifying question
    added = followup.addition(turn, text)
    if added is not None:
        return added
    answers_where = parse.intent not in NOT_A_PLACE and not _new_report(parse, waiting)
    if waiting is not None and waiting.waiting_for in report.WAITS_FOR_PLACE and answers_where:
        return report.fill_place(turn, waiting, parse)
    if turn.expired == "place" and answers_where:
        return PLACE_EXPIRED
    if followup.judges_a_fix(turn, parse):
        return followup.rate(turn, parse)
    confirmed = followup.stayed_fixed(turn, parse.text)
    if confirmed is not None:
        return confirmed
    if parse.ask:  # never set on an urgent message: those are acted on at once
        return clarify.ask(turn, parse)
    return answers.answer(turn, parse)


def _reading(turn: Turn, text: str, waiting: Conversation | None) -> Parse:
    """Read the message in the light of what the bot just asked."""
    expect = _expecting(turn, waiting)
    parse = intents.parse(text, expect)  # the bot's own commands (查询, 帮助…) are certain there
    if expect == "rate" and parse.ask:
        return _another_problem(turn, text) or parse
    return parse


def _answer_to_question(turn: Turn, waiting: Conversation | None, parse: Parse) -> str | None:
    """Act on the answer to a clarifying question or a duplicate offer; None when it is none.

    A message that does not answer a clarifying question ends it: it is read on its own."""
    if waiting is not None and waiting.waiting_for == clarify.WAIT:
        picked = clarify.answer(turn, waiting, parse)
        if isinstance(picked, str):
            return picked
        if picked is not None:
            return answers.answer(turn, *picked)
        turn.stop_waiting()
    if waiting is not None and waiting.waiting_for == estate.WAIT:
        chosen = estate.answer(turn, waiting, parse)
        if isinstance(chosen, str):
            return chosen
        if chosen is not None:
            return _with_estate(turn, chosen)
        turn.stop_waiting()
    if waiting is not None and waiting.waiting_for == "duplicate":
        return report.answer_duplicate(turn, waiting, parse)
    return None


def _another_problem(turn: Turn, text: str) -> Parse | None:
    """A clear report of a problem other than the fix the bot asked about ("5栋路灯又坏了" after
    the lift was fixed): the engine, told a rating was asked, cannot know which fix it was."""
    plain = intents.parse(text)
    rated = followup.awaiting_rating(turn)
    if plain.intent == "report" and not plain.ask and rated is not None \
            and plain.category not in (None, "other", rated.category):
        return plain
    return None


def _expecting(turn: Turn, waiting: Conversation | None) -> str | None:
    """What the bot just asked this resident, as the engine's `expect`."""
    if waiting is not None and waiting.waiting_for in report.WAITS_FOR_PLACE or turn.expired == "place":
        return "place"  # a late answer to "where?" is still one (and is told it came too late)
    if waiting is not None and waiting.waiting_for in ("duplicate", clarify.WAIT):
        return waiting.waiting_for
    if waiting is not None and waiting.waiting_for == estate.WAIT:
        return clarify.WAIT  # the estates are numbered choices too
    return "rate" if followup.awaiting_rating(turn) is not None else None


def _new_report(parse: Parse, waiting: Conversation | None) -> bool:
    """A full report of its own (problem and place), or an urgent one about another problem,
    is not the answer to "where?"; a place alone always is."""
    if parse.intent != "report" or parse.category in (None, "other"):
        return False
    said = parse.text.strip(ANSWER_PUNCTUATION + "，,")
    if said in (parse.place, place_of(parse)):
        return False
    if parse.urgent and waiting is not None and waiting.waiting_for in report.WAITS_FOR_PLACE \
            and parse.category != report.waiting_category(waiting):
        return True
    return place_of(parse) is not None


def _with_estate(turn: Turn, chosen: estate.Chosen) -> str:
    """Say which estate was taken, then act on the message that needed it."""
    said, parse, photos = chosen
    return f"{said}\n{answers.answer(turn, parse, photos)}"


def _location(turn: Turn, inbound: Inbound) -> str:
    waiting = turn.pending()
    if waiting is not None and waiting.waiting_for == estate.WAIT:
        chosen = estate.located(turn, waiting, inbound.latitude, inbound.longitude)
        return chosen if isinstance(chosen, str) else _with_estate(turn, chosen)
    place = inbound.label or f"{inbound.latitude},{inbound.longitude}"
    if waiting is None or waiting.waiting_for not in report.WAITS_FOR_PLACE:
        return LOCATION_NO_REPORT
    return report.fill_place(turn, waiting, intents.parse(place), place=place)
