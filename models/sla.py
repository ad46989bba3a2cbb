"""Deadlines per category and urgency, from the [sla] config."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from settings import parse_duration

DEFAULTS = {
    "urgent": {"response": "30m", "resolve": "24h"},
    "normal": {"response": "24h", "resolve": "3d"},
}
CATEGORY_DEFAULTS = {"facilities": {"resolve": "7d"}, "parking": {"resolve": "7d"}}


@dataclass(frozen=True)
class Deadlines:
    """How long a ticket may wait for a first response and for its fix, in seconds."""

    response: int
    resolve: int


def deadlines(config: dict[str, Any], category: str | None, urgent: bool) -> Deadlines:
    """Return the deadlines for a ticket: urgency first, then the category's override."""
    sla = config.get("sla", {})
    level = "urgent" if urgent else "normal"
    chosen = dict(DEFAULTS[level]) | sla.get(level, {})
    if not urgent and category:
        override = sla.get("category", {}).get(category, CATEGORY_DEFAULTS.get(category, {}))
        chosen |= override
    return Deadlines(parse_duration(chosen["response"]), parse_duration(chosen["resolve"]))


def restart_clock(config: dict[str, Any], ticket: Any, now: datetime) -> None:
    """Give a ticket that changed level a fresh deadline of the same length (CONTRACT [sla])."""
    limits = deadlines(config, ticket.category, ticket.urgent)
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
