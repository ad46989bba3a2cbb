"""Market day questions (when, where, what is offered, whether a named service is), and the
staff's 通知 全体. The reminders are bot/market.py's, the fan-out bot/notices.py's."""
from __future__ import annotations

import re

from intents import Parse
from bot import market, notices
from bot.commands import staff_command
from bot.replies.market import (MARKET_NEXT, MARKET_NONE, MARKET_NOT_OFFERED, MARKET_OFFERED,
                                MARKET_SUBSCRIBE_HINT, STAFF_NOTICE_HELP, STAFF_NOTICE_SENT)
from bot.turn import StaffTurn, Turn
from models.estates import estates, estates_of, resident_estate
from models.market import settings_for, upcoming

# words a resident may use for a service -> the service's name in [market].services
MARKET_SERVICE_WORDS = {
    "家电维修": ("家电", "电器", "空调", "冰箱", "洗衣机", "电视", "热水器", "油烟机", "维修", "修理"),
    "法律咨询": ("法律", "律师", "打官司", "纠纷咨询"),
    "磨刀配钥匙": ("磨刀", "钥匙", "剪刀"),
    "义诊": ("义诊", "看病", "医生", "血压", "血糖", "体检"),
}
# "有X吗": X is the thing asked for, unless it is one of these (the market itself, its date...)
MARKET_ASKED_SERVICE = r"(?:有没有|有无|能不能|可以|有)([^，。？?！!吗呢的]{2,8}?)(?:的)?(?:吗|呢|没有|不|？|\?|$)"
MARKET_NOT_A_SERVICE = ("市集", "集市", "没", "活动", "几号", "时间", "地方", "哪里", "什么")
NOTICE_AUDIENCE_ALL = "全体"  # 通知 全体 TEXT
ASKED = re.compile(MARKET_ASKED_SERVICE)


def market_day(turn: Turn, parse: Parse) -> str:
    """Answer the next market's date, hours, place and services, or whether a service is there."""
    mine = resident_estate(turn.session, turn.resident)
    conf = settings_for(turn.session, turn.services.config.market, mine)  # their estate's rule
    held = upcoming(turn.session, conf, turn.now, turn.services.tz)
    if held is None:
        return MARKET_NONE
    offered = named_service(parse.text, held.services)
    if offered:
        return MARKET_OFFERED.format(service=offered, **market.when_where(held))
    asked = asked_service(parse.text)
    if asked:
        return MARKET_NOT_OFFERED.format(service=asked, **market.when_where(held))
    hint = "" if turn.resident.subscribed else MARKET_SUBSCRIBE_HINT
    return MARKET_NEXT.format(subscribe=hint, **market.when_where(held))


def named_service(text: str, services: tuple[str, ...]) -> str | None:
    """The configured service the text names, directly or by one of its everyday words."""
    for service in services:
        if service in text:
            return service
    for service in services:
        if any(word in text for word in MARKET_SERVICE_WORDS.get(service, ())):
            return service
    return None


def asked_service(text: str) -> str | None:
    """The thing a "有X吗" question asks for, when it is not the market itself."""
    for match in ASKED.finditer(text):
        thing = match.group(1).strip()
        if thing and not any(word in thing for word in MARKET_NOT_A_SERVICE):
            return thing
    return None


# To every subscriber and group: staff of the property company and above who cover the whole estate
# (with several estates, the subscribers of the estates the sender acts in).
@staff_command("通知", usage="通知 全体 通知内容", levels=("property", "estate", "community", "street"),
               help="通知 全体 通知内容（发给所有订阅居民和各群）")
def staff_notice(turn: StaffTurn, rest: str) -> str:
    """通知 全体 TEXT: queue a notice to every subscriber and group (sent by the outbox)."""
    audience, _, text = rest.partition(" ")
    if audience.strip() != NOTICE_AUDIENCE_ALL or not text.strip():
        return STAFF_NOTICE_HELP
    key = notices.notice_key(text.strip(), turn.now)
    scope = estates_of(turn.session, turn.staff) if len(estates(turn.session)) > 1 else None
    residents, groups = notices.send_notice(turn.services, turn.session, text.strip(), key=key,
                                            now=turn.now, estates=scope)
    return STAFF_NOTICE_SENT.format(residents=residents, groups=groups)
