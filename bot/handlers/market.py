"""Market day questions: when, where, what is offered, and whether a named service is."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intents import Parse
from bot import outbox, replies
from bot.services import Services
from bot.commands import staff_command
from bot.turn import StaffTurn, Turn
from models import OutboxMessage, Resident, transaction
from models.market import Occurrence, market_config, upcoming

ASKED = re.compile(replies.MARKET_ASKED_SERVICE)


def market_day(turn: Turn, parse: Parse) -> str:
    """Answer the next market's date, hours, place and services, or whether a service is there."""
    held = upcoming(turn.session, turn.services.config, turn.now, turn.services.tz)
    if held is None:
        return replies.MARKET_NONE
    offered = named_service(parse.text, held.services)
    if offered:
        return replies.MARKET_OFFERED.format(service=offered, **_when_where(held))
    asked = asked_service(parse.text)
    if asked:
        return replies.MARKET_NOT_OFFERED.format(service=asked, **_when_where(held))
    hint = "" if turn.resident.subscribed else replies.MARKET_SUBSCRIBE_HINT
    return replies.MARKET_NEXT.format(subscribe=hint, **_when_where(held))


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


def _when_where(held: Occurrence) -> dict[str, str]:
    return {"date": f"{held.day.month}月{held.day.day}日", "weekday": replies.WEEKDAYS[held.day.weekday()],
            "hours": held.hours, "place": held.place,
            "services": replies.MARKET_SERVICE_LIST_SEP.join(held.services)}


# ---- reminders and notices: one message per subscriber and group, then a parallel send

FAN_OUT_SENDERS = 16  # each sender has at most one message in flight


def market_reminder(services: Services) -> str:
    """Remind subscribers and groups of the coming market now (`flask jobs run market_reminder`).

    Before the evening reminder is due it sends an advance notice. Each (market, moment,
    recipient) gets one message however often it runs.
    """
    return _remind(services, scheduled=False)


def market_reminder_due(services: Services) -> str:
    """The half-hourly trigger: remind only once the evening or morning moment has come."""
    return _remind(services, scheduled=True)


def _remind(services: Services, *, scheduled: bool) -> str:
    now = services.clock()
    with transaction(services.sessions) as session:
        held = upcoming(session, services.config, now, services.tz)
        if held is None:
            return "no market ahead"
        moment = reminder_moment(held, now)
        if moment == "advance" and scheduled:
            return f"no reminder due: next market {held.day}, reminder at {held.evening_reminder}"
        text = _reminder_text(held, moment)
        queued = fan_out(services, session, f"market:{held.day}:{moment}", text, now=now,
                         kind="market_reminder", groups=market_config(services.config).groups)
    sent = outbox.deliver_due(services, senders=FAN_OUT_SENDERS)
    return (f"market {held.day} {moment} reminder: {queued} queued, {sent} sent; "
            + fan_out_report(services, f"market:{held.day}:{moment}"))


def fan_out_report(services: Services, prefix: str) -> str:
    """Who was skipped and who is still owed the message, for the operator."""
    with services.sessions() as session:
        skipped = session.scalar(select(func.count()).select_from(Resident).where(
            ~(Resident.subscribed.is_(True) & Resident.following.is_(True))))
        rows = session.execute(select(OutboxMessage.status, func.count())
                               .where(OutboxMessage.dedupe_key.like(f"{prefix}:%"))
                               .group_by(OutboxMessage.status)).all()
    by_status = dict(rows)
    return (f"{skipped} resident(s) skipped (not subscribed, blocked or unfollowed); "
            f"{by_status.get('pending', 0) + by_status.get('sending', 0)} being retried, "
            f"{by_status.get('failed', 0)} failed (flask outbox list --failed)")


def reminder_moment(held: Occurrence, now: datetime) -> str:
    """Which reminder is due for the market at `now`: "morning", "evening" or "advance"."""
    if now >= held.morning_reminder:
        return "morning"
    if now >= held.evening_reminder:
        return "evening"
    return "advance"


def _reminder_text(held: Occurrence, moment: str) -> str:
    template = {"morning": replies.MARKET_REMINDER_MORNING,
                "evening": replies.MARKET_REMINDER_EVENING}.get(moment, replies.MARKET_REMINDER_ADVANCE)
    return template.format(**_when_where(held))


def send_notice(services: Services, session: Session, text: str, *, key: str,
                now: datetime) -> tuple[int, int]:
    """Queue a notice to every subscriber and group once per key; return (residents, groups)."""
    body = replies.NOTICE.format(text=text)
    before = _queued(session, f"notice:{key}:")
    fan_out(services, session, f"notice:{key}", body, now=now, kind="market_reminder", groups=None)
    after = _queued(session, f"notice:{key}:")
    return after[0] - before[0], after[1] - before[1]


def notice_key(text: str, now: datetime) -> str:
    """The same words sent the same day are one notice."""
    return f"{now:%Y%m%d}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}"


def fan_out(services: Services, session: Session, prefix: str, body: str, *, now: datetime,
            kind: str, groups: tuple[str, ...] | None) -> int:
    """Queue `body` once per subscribed, following resident and per group; return how many are new."""
    taken = set(session.scalars(select(OutboxMessage.dedupe_key)
                                .where(OutboxMessage.dedupe_key.like(f"{prefix}:%"))))
    configured = services.config.get("wecom", {}).get("group_webhooks", {})
    targets = [(f"{prefix}:resident:{rid}", "wechat", openid, kind) for rid, openid in session.execute(
        select(Resident.id, Resident.openid).where(Resident.subscribed.is_(True),
                                                   Resident.following.is_(True)).order_by(Resident.id))]
    targets += [(f"{prefix}:group:{name}", "wecom_group", name, "markdown")
                for name in (groups if groups is not None else tuple(configured)) if name in configured]
    new = [OutboxMessage(dedupe_key=key, channel=channel, recipient=recipient, kind=how, body=body,
                         status="pending", attempts=0, due_at=now, created_at=now)
           for key, channel, recipient, how in targets if key not in taken]
    session.add_all(new)
    session.flush()
    return len(new)


def _queued(session: Session, prefix: str) -> tuple[int, int]:
    rows = session.scalars(select(OutboxMessage.channel)
                           .where(OutboxMessage.dedupe_key.like(f"{prefix}%"))).all()
    return sum(1 for c in rows if c == "wechat"), sum(1 for c in rows if c == "wecom_group")


@staff_command("通知", usage="通知 全体 通知内容",
               help="通知 全体 通知内容（发给所有订阅居民和各群）")
def staff_notice(turn: StaffTurn, rest: str) -> str:
    """通知 全体 TEXT: queue a notice to every subscriber and group (sent by the outbox)."""
    audience, _, text = rest.partition(" ")
    if audience.strip() != replies.NOTICE_AUDIENCE_ALL or not text.strip():
        return replies.STAFF_NOTICE_HELP
    key = notice_key(text.strip(), turn.now)
    residents, groups = send_notice(turn.services, turn.session, text.strip(), key=key, now=turn.now)
    return replies.STAFF_NOTICE_SENT.format(residents=residents, groups=groups)
