"""/console/market: market days (the rule, the coming months, moving or cancelling one) and
notices to every subscriber and group. For property staff and up covering every estate (a month's
date holds for all of them, and so do these notices); the work
is the command line's (`models.market.set_override`, `bot.notices.send_notice`), audited."""
from __future__ import annotations

import re
from datetime import date, datetime
from flask import Response, flash, get_flashed_messages, redirect, request, url_for
from sqlalchemy import select

from bot import notices
from bot.replies.market import WEEKDAYS
from bot.services import current as services
from models.market import (clear_override, load_overrides, month_key, regular_day, set_override,
                           upcoming)
from models import Estate
from web.console import area, audit, bp, forbidden, levels, operator, render, scope
from web.console.scope import default_estate, home_estate

MARKET_LEVELS = ("property", "estate", "community", "street")
MONTHS_SHOWN = 6
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_NOTICE = 500

BAD_MONTH = "月份请按 2026-12 的格式填写。"
BAD_DATE = "改期的日期请按 2026-12-20 的格式填写，并且在当月或前后相邻的月份里。"
BAD_ACTION = "请选择改期、取消或恢复按规则举办。"
MOVED = "{month} 的市集改到 {day} 举办。如需告诉居民，请在下面发一条通知。"
CANCELLED = "{month} 的市集已取消。如需告诉居民，请在下面发一条通知。"
RESTORED = "{month} 的市集恢复按规则在 {day} 举办。"
EMPTY_NOTICE = f"请填写通知内容（{MAX_NOTICE} 字以内）。"
NOTICE_SENT = "通知已发出：{residents} 位订阅的居民，{groups} 个群。"
NOTICE_REPEATED = "同样的通知今天已经发过，没有重复发送。"


def _market_estate() -> int | None:
    """The estate this market work is filed under. The month's dates (`market set`) hold for
    every estate, so the operator must cover every estate whole; notices go to the operator's."""
    with services().sessions() as db:
        everywhere = set(db.scalars(select(Estate.id)))
        estate = home_estate(db, operator()) or default_estate(db)
    reach = scope()
    if reach.buildings is not None or not everywhere <= reach.estate_ids:
        forbidden()
    return estate


@bp.get("/market")
@levels(*MARKET_LEVELS)
def market_page() -> tuple[str, int]:
    """The rule, the next months' dates with their changes, and the forms."""
    _market_estate()
    return _page()


def _page(status: int = 200, error: str = "") -> tuple[str, int]:
    live = services()
    conf, now = live.config.market, live.clock()
    local = live.local(now)
    with live.sessions() as db:
        overrides = load_overrides(db)
        held = upcoming(db, conf, now, live.tz)
    months = []
    year, month = local.year, local.month
    for _ in range(MONTHS_SHOWN):
        key = month_key(year, month)
        rule = regular_day(conf, year, month)
        changed = key in overrides
        day = overrides[key] if changed else rule
        months.append({"month": key, "rule": _day(rule), "day": _day(day) if day else None,
                       "changed": changed})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return render("console/market.html", status, conf=conf, months=months, error=error,
                  notices=get_flashed_messages(with_categories=True),
                  next=_day(held.day) if held else None)


@bp.post("/market/overrides")
@levels(*MARKET_LEVELS)
def market_override() -> Response | tuple[str, int]:
    """Move a month's market, cancel it, or hold it by the rule again."""
    estate = _market_estate()
    live = services()
    month, action = request.form.get("month", "").strip(), request.form.get("action", "")
    found = MONTH.match(month)
    if not found:
        return _page(400, BAD_MONTH)
    if action not in ("move", "cancel", "restore"):
        return _page(400, BAD_ACTION)
    day = _moved_to(request.form.get("date", ""), int(found.group(1)), int(found.group(2))) \
        if action == "move" else None
    if action == "move" and day is None:
        return _page(400, BAD_DATE)
    rule = regular_day(live.config.market, int(found.group(1)), int(found.group(2)))
    with live.transaction() as db:
        overrides = load_overrides(db)
        before = overrides[month] if month in overrides else rule
        if action == "restore":
            clear_override(db, month)
        else:
            set_override(db, month, moved_to=day, cancelled=action == "cancel")
        after = {"move": day, "cancel": None, "restore": rule}[action]
        audit(db, action="市集." + {"move": "改期", "cancel": "取消", "restore": "恢复"}[action],
              target_name=f"市集 {month}", estate_id=estate, outcome="ok",
              changes={"date": (_day(before) if before else "取消", _day(after) if after else "取消")})
    done = {"move": MOVED, "cancel": CANCELLED, "restore": RESTORED}[action]
    return _back(done=done.format(month=month, day=_day(day or rule)))


def _moved_to(text: str, year: int, month: int) -> date | None:
    """The date a month's market moves to: a real date, in that month or one beside it."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    distance = (day.year - year) * 12 + day.month - month
    return day if abs(distance) <= 1 else None


@bp.post("/market/notices")
@levels(*MARKET_LEVELS)
def market_notice() -> Response | tuple[str, int]:
    """Send a notice once to every subscribed resident and every group (as `通知 全体`)."""
    estate = _market_estate()
    live = services()
    text = request.form.get("text", "").strip()
    if not text or len(text) > MAX_NOTICE:
        return _page(400, EMPTY_NOTICE)
    now = live.clock()
    key = notices.notice_key(text, now)
    with live.transaction() as db:
        # the operator covers every estate (_market_estate): everyone subscribed hears it
        residents, groups = notices.send_notice(live, db, text, key=key, now=now)
        audit(db, action="通知.发送", target_name=f"通知 {key}", estate_id=estate,
              outcome=f"{residents} residents, {groups} groups", changes={"text": (None, text[:100])})
    if residents + groups == 0:
        return _back(done=NOTICE_REPEATED)
    return _back(done=NOTICE_SENT.format(residents=residents, groups=groups))


def _back(done: str) -> Response:
    flash(done, "ok")
    return redirect(url_for("console.market_page"))


def _day(day: date | datetime | None) -> str:
    return f"{day:%Y-%m-%d}（周{WEEKDAYS[day.weekday()]}）" if day else ""


area("console.market_page", "市集与通知")
