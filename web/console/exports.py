"""/console/figures and the console's spreadsheets: an operator's own tickets and figures.

The figures page sets the estates of the operator's scope side by side, with the very numbers
of /stats's league table (web/stats.py `league`). The downloads are the workbooks of
`flask export tickets|figures` (models/workbook.py), cut to the operator's scope: their
estates' tickets (a grid worker's: their buildings'), their estates' figures. The guard has
checked `?estate=` lies in scope; every download is written to the audit log.
"""
from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from sqlalchemy.orm import Session

from bot.services import current as services
from models import board, figures, workbook
from models.categories import CODES
from models.tickets import TRANSITIONS
from web.console import area, audit, bp, levels, render, scope
from web.console.scope import Scope, default_estate, estates_in
from web.stats import league

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIGURE_LEVELS = ("estate", "community", "street")
# the queue's state choices: a state, overdue, "active" (not done), "all" (any)
STATES = (*TRANSITIONS, board.OVERDUE, board.ACTIVE)
CATEGORY_CODES = (*CODES, board.SUGGESTION)
BAD_STATE = "没有这种工单状态，请从“状态”下拉框里选择后再导出。"
BAD_CATEGORY = "没有这个类别，请从“类别”下拉框里选择后再导出。"
BAD_BUILDING = "您负责的范围里没有“{value}”栋，请改正楼栋后再导出。"


def _estates(db: Session, reach: Scope) -> tuple[tuple[int, ...], dict[int, str]]:
    """The estates asked for (`?estate=`, checked by the guard) or all of the scope's, and their
    names in the order shown."""
    names = {e.id: e.name for e in estates_in(db, reach)}
    asked = request.args.get("estate", type=int)
    ids = (asked,) if asked is not None else tuple(names)
    return ids, {i: names[i] for i in ids if i in names}


def _download(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _refuse(message: str) -> tuple[str, int]:
    return render("console/message.html", 400, title="无法导出", message=message)


def _ticket_filters(db: Session, reach: Scope, ids: tuple[int, ...],
                    month: str) -> board.Filters | str:
    """The board's filters from the request, within the scope; or what is wrong, in words."""
    state = request.args.get("state", "").strip()
    state = None if state in ("", "all") else state
    if state is not None and state not in STATES:
        return BAD_STATE
    category = request.args.get("category", "").strip() or None
    if category is not None and category not in CATEGORY_CODES:
        return BAD_CATEGORY
    building = request.args.get("building", "").strip().removesuffix("栋")[:16] or None
    mine = board.buildings(db, ids)
    if reach.buildings is not None:
        mine = [b for b in mine if b in reach.buildings]
    if building is not None and building not in mine:
        return BAD_BUILDING.format(value=building)
    since, until = workbook.month_range(month, services().tz) if month else (None, None)
    return board.Filters(
        state=state, category=category, building=building, since=since, until=until,
        estates=ids, unplaced=default_estate(db) in ids,
        buildings=None if reach.buildings is None else tuple(sorted(reach.buildings)))


@bp.get("/exports/tickets.xlsx")
def tickets_workbook() -> Response | tuple[str, int]:
    """The operator's tickets the filters choose, as `flask export tickets` writes them."""
    live, reach = services(), scope()
    month = request.args.get("month", "").strip()[:20]
    try:
        with live.transaction() as db:
            ids, names = _estates(db, reach)
            filters = _ticket_filters(db, reach, ids, month)
            if isinstance(filters, str):
                return _refuse(filters)
            book = workbook.tickets_book(db, filters, month=month or None, now=live.clock(),
                                         tz=live.tz, place="、".join(names.values()))
            rows = book["工单"].max_row - 1
            audit(db, action="导出.工单", target_name=f"工单 {'、'.join(names.values())}",
                  estate_id=ids[0] if len(ids) == 1 else None, outcome=f"xlsx {rows} tickets",
                  changes={}, at=live.clock())
    except workbook.ExportError as err:
        return _refuse(str(err))
    return _download(workbook.save(book), f"tickets-{month or 'all'}.xlsx")


@bp.get("/exports/figures.xlsx")
@levels(*FIGURE_LEVELS)
def figures_workbook() -> Response | tuple[str, int]:
    """A month's figures of the operator's estates (each side by side when several)."""
    live, reach = services(), scope()
    month = request.args.get("month", "").strip()[:20] or _this_month()
    try:
        with live.transaction() as db:
            ids, names = _estates(db, reach)
            book = workbook.figures_book(
                db, month, now=live.clock(), tz=live.tz, estates=ids,
                place="、".join(names.values()),
                names=tuple(names.items()) if len(names) > 1 else ())
            audit(db, action="导出.统计", target_name=f"统计 {month} {'、'.join(names.values())}",
                  estate_id=ids[0] if len(ids) == 1 else None, outcome="xlsx", changes={},
                  at=live.clock())
    except workbook.ExportError as err:
        return _refuse(str(err))
    return _download(workbook.save(book), f"figures-{month}.xlsx")


@bp.get("/figures")
@levels(*FIGURE_LEVELS)
def figures_page() -> tuple[str, int]:
    """The estates of the operator's scope side by side, as /stats's league table counts them."""
    live, reach = services(), scope()
    with live.sessions() as db:
        names = {e.id: e.name for e in estates_in(db, reach)}
        now = live.clock()
        rows = league(db, now, live, tuple(names.items()))
        total = figures.summary(db, now, live.tz, estates=tuple(names)) if len(names) > 1 else None
    return render("console/figures.html", rows=[_shown(r) for r in rows],
                  total=_shown(total) if total else None, estates=names,
                  month=_this_month(),
                  tickets_url=url_for("console.ticket_queue"))


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """One estate's figures as the page writes them (— where there is nothing to count yet)."""
    def share(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.1f}%"

    def time(value: float | None, unit: str) -> str:
        return "—" if value is None else f"{value:.1f} {unit}"

    return {"estate": row.get("estate", "合计"), "id": row.get("id"),
            "total": row["tickets"]["total"], "open": row["tickets"]["open"],
            "overdue": row["tickets"]["overdue"], "resolved": row["tickets"]["resolved"],
            "grid": share(row["grid_resolved_share"]),
            "response": time(row["first_response_minutes"]["median"], "分钟"),
            "resolve": time(row["resolve_hours"]["median"], "小时"),
            "satisfaction": share(row["satisfaction_rate"])}


def _this_month() -> str:
    live = services()
    return live.local(live.clock()).strftime("%Y-%m")


area("console.figures_page", "统计")
