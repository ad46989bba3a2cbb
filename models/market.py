"""Market day: the [market] rule (settings.Market), month-by-month overrides, and the next occurrence.

Pure date logic in the estate's time zone (Asia/Shanghai); `now` is always passed in.
"""
from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base
from settings import Market

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEARCH_MONTHS = 24  # a year of cancellations is the most anyone plans ahead


class MarketOverride(Base):
    """One month's market moved to another date, or cancelled."""

    __tablename__ = "market_overrides"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "YYYY-MM"
    moved_to: Mapped[date | None] = mapped_column(Date)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class EstateMarket(Base):
    """One estate's own market settings; a column left empty takes [market]'s value."""

    __tablename__ = "estate_markets"

    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), primary_key=True)
    day_of_month: Mapped[int | None] = mapped_column(Integer)
    place: Mapped[str | None] = mapped_column(String(200))
    services: Mapped[str | None] = mapped_column(Text)  # JSON list of names


def settings_for(session: Session, conf: Market, estate_id: int | None) -> Market:
    """The market rule of one estate: [market], with what the estate set for itself."""
    own = session.get(EstateMarket, estate_id) if estate_id is not None else None
    if own is None:
        return conf
    return replace(conf, day_of_month=own.day_of_month or conf.day_of_month,
                   place=own.place if own.place is not None else conf.place,
                   services=tuple(json.loads(own.services)) if own.services is not None
                   else conf.services)


@dataclass(frozen=True)
class Occurrence:
    """One market day: its date, hours, place and services, and when its reminders go."""

    day: date
    opens: time
    closes: time
    place: str
    services: tuple[str, ...]
    evening_reminder: datetime
    morning_reminder: datetime
    ends: datetime

    @property
    def hours(self) -> str:
        """Return the hours as "09:00-12:00"."""
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


def month_key(year: int, month: int) -> str:
    """Return a month as "YYYY-MM"."""
    return f"{year:04d}-{month:02d}"


def regular_day(conf: Market, year: int, month: int) -> date:
    """The month's market day by the rule: day_of_month, or the month's last day if shorter."""
    return date(year, month, min(conf.day_of_month, calendar.monthrange(year, month)[1]))


def occurrence_on(conf: Market, day: date, tz: tzinfo = SHANGHAI) -> Occurrence:
    """The market held on `day`, with its reminder moments (aware, in `tz`)."""
    return Occurrence(
        day=day, opens=conf.opens, closes=conf.closes, place=conf.place, services=conf.services,
        evening_reminder=datetime.combine(day - timedelta(days=1), conf.remind_evening_before, tz),
        morning_reminder=datetime.combine(day, conf.remind_morning_of, tz),
        ends=datetime.combine(day, conf.closes, tz))


def next_occurrence(conf: Market, overrides: Mapping[str, date | None], now: datetime,
                    tz: tzinfo = SHANGHAI) -> Occurrence | None:
    """The first market not yet over at `now`; overrides map "YYYY-MM" to a date, or None (cancelled)."""
    local = now.astimezone(tz)
    year, month = local.year, local.month - 1  # start a month back: a move may cross a month end
    if month == 0:
        year, month = year - 1, 12
    for _ in range(SEARCH_MONTHS):
        key = month_key(year, month)
        day = overrides[key] if key in overrides else regular_day(conf, year, month)
        if day is not None:
            held = occurrence_on(conf, day, tz)
            if held.ends > now:
                return held
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def load_overrides(session: Session) -> dict[str, date | None]:
    """Every month's override: the date it moved to, or None when cancelled."""
    return {row.month: None if row.cancelled else row.moved_to
            for row in session.scalars(select(MarketOverride))}


def set_override(session: Session, month: str, *, moved_to: date | None, cancelled: bool) -> None:
    """Move or cancel one month's market (replacing any earlier override)."""
    row = session.get(MarketOverride, month)
    if row is None:
        row = MarketOverride(month=month)
        session.add(row)
    row.moved_to, row.cancelled = (None, True) if cancelled else (moved_to, False)


def upcoming(session: Session, conf: Market, now: datetime,
             tz: tzinfo = SHANGHAI) -> Occurrence | None:
    """The coming market, from the [market] config and the stored overrides."""
    return next_occurrence(conf, load_overrides(session), now, tz)
