"""Market day beyond the chat: the `market_reminder` job (the evening before, that morning,
or an advance notice when run by hand), and how a market is said."""
from __future__ import annotations

from datetime import datetime

from bot import notices, outbox
from bot.replies.market import (MARKET_REMINDER_ADVANCE, MARKET_REMINDER_EVENING,
                                MARKET_REMINDER_MORNING, MARKET_SERVICE_LIST_SEP, WEEKDAYS)
from bot.services import Services
from models.market import Occurrence, upcoming


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
    with services.transaction() as session:  # sent as soon as it commits, by a fan-out of senders
        held = upcoming(session, services.config.market, now, services.tz)
        if held is None:
            return "no market ahead"
        moment = reminder_moment(held, now)
        if moment == "advance" and scheduled:
            return f"no reminder due: next market {held.day}, reminder at {held.evening_reminder}"
        text = _reminder_text(held, moment)
        queued = notices.fan_out(services, session, f"market:{held.day}:{moment}", text, now=now,
                                 kind="market_reminder",
                                 groups=services.config.market.groups)
    sent = outbox.sent_after_commit(session)
    return (f"market {held.day} {moment} reminder: {queued} queued, {sent} sent; "
            + notices.fan_out_report(services, f"market:{held.day}:{moment}"))


def reminder_moment(held: Occurrence, now: datetime) -> str:
    """Which reminder is due for the market at `now`: "morning", "evening" or "advance"."""
    if now >= held.morning_reminder:
        return "morning"
    if now >= held.evening_reminder:
        return "evening"
    return "advance"


def _reminder_text(held: Occurrence, moment: str) -> str:
    template = {"morning": MARKET_REMINDER_MORNING,
                "evening": MARKET_REMINDER_EVENING}.get(moment, MARKET_REMINDER_ADVANCE)
    return template.format(**when_where(held))


def when_where(held: Occurrence) -> dict[str, str]:
    """The market's date, weekday, hours, place and services, as the sentences fill them in."""
    return {"date": f"{held.day.month}月{held.day.day}日", "weekday": WEEKDAYS[held.day.weekday()],
            "hours": held.hours, "place": held.place,
            "services": MARKET_SERVICE_LIST_SEP.join(held.services)}
