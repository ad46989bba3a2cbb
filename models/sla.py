"""Deadlines per category and urgency, from the [sla] config (settings.Sla), and how they are said."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from settings import Deadlines, Sla

__all__ = ["Deadlines", "deadlines", "duration", "duration_rough", "longest_resolve", "restart_clock"]


def deadlines(sla: Sla, category: str | None, urgent: bool) -> Deadlines:
    """Return the deadlines for a ticket: urgency first, then the category's override."""
    if urgent:
        return sla.urgent
    return sla.category.get(category, sla.normal) if category else sla.normal


def longest_resolve(sla: Sla) -> int:
    """The longest time to fix any ticket may get, in seconds."""
    return max(sla.urgent.resolve, sla.normal.resolve, *(d.resolve for d in sla.category.values()))


def restart_clock(sla: Sla, ticket: Any, now: datetime) -> None:
    """Give a ticket that changed level a fresh deadline of the same length (CONTRACT [sla])."""
    limits = deadlines(sla, ticket.category, ticket.urgent)
    if ticket.assignee_id is None:
        ticket.response_due_at = now + timedelta(seconds=limits.response)
    else:
        ticket.resolve_due_at = now + timedelta(seconds=limits.resolve)
        ticket.warned_at = None


# ---- saying a duration (residents read deadlines, staff read how late a ticket is)
UNITS = ((86400, "天"), (3600, "小时"), (60, "分钟"), (1, "秒"))


def duration(seconds: int) -> str:
    """Say a duration the way people do: 30分钟, 24小时, 3天."""
    for size, name in UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{name}"
    return f"{seconds}秒"


def duration_rough(late: timedelta) -> str:
    """Say roughly how long: 2天, 5小时, 40分钟."""
    seconds = int(late.total_seconds())
    for size, name in UNITS[:3]:
        if seconds >= size:
            return f"{seconds // size}{name}"
    return "不到1分钟"
