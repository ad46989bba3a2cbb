"""Market day questions (when, where, what is offered, whether a named service is), and the
staff's 通知 全体. The reminders are bot/market.py's, the fan-out bot/notices.py's."""
from __future__ import annotations

import re

from intents import Parse
from bot import market, notices, replies
from bot.commands import staff_command
from bot.turn import StaffTurn, Turn
from models.market import upcoming

ASKED = re.compile(replies.MARKET_ASKED_SERVICE)


def market_day(turn: Turn, parse: Parse) -> str:
    """Answer the next market's date, hours, place and services, or whether a service is there."""
    held = upcoming(turn.session, turn.services.config, turn.now, turn.services.tz)
    if held is None:
        return replies.MARKET_NONE
    offered = named_service(parse.text, held.services)
    if offered:
        return replies.MARKET_OFFERED.format(service=offered, **market.when_where(held))
    asked = asked_service(parse.text)
    if asked:
        return replies.MARKET_NOT_OFFERED.format(service=asked, **market.when_where(held))
    hint = "" if turn.resident.subscribed else replies.MARKET_SUBSCRIBE_HINT
    return replies.MARKET_NEXT.format(subscribe=hint, **market.when_where(held))


def named_service(text: str, services: tuple[str, ...]) -> str | None:
    """The configured service the text names, directly or by one of its everyday words."""
    for service in services:
        if service in text:
            return service
    for service in services:
        if any(word in text for word in replies.MARKET_SERVICE_WORDS.get(service, ())):
            return service
    return None


def asked_service(text: str) -> str | None:
    """The thing a "有X吗" question asks for, when it is not the market itself."""
    for match in ASKED.finditer(text):
        thing = match.group(1).strip()
        if thing and not any(word in thing for word in replies.MARKET_NOT_A_SERVICE):
            return thing
    return None


@staff_command("通知", usage="通知 全体 通知内容",
               help="通知 全体 通知内容（发给所有订阅居民和各群）")
def staff_notice(turn: StaffTurn, rest: str) -> str:
    """通知 全体 TEXT: queue a notice to every subscriber and group (sent by the outbox)."""
    audience, _, text = rest.partition(" ")
    if audience.strip() != replies.NOTICE_AUDIENCE_ALL or not text.strip():
        return replies.STAFF_NOTICE_HELP
    key = notices.notice_key(text.strip(), turn.now)
    residents, groups = notices.send_notice(turn.services, turn.session, text.strip(), key=key,
                                            now=turn.now)
    return replies.STAFF_NOTICE_SENT.format(residents=residents, groups=groups)
