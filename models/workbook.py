"""Spreadsheets (.xlsx) for the street and community offices: tickets, the monthly figures, a vote.

Each function returns an openpyxl Workbook (`save` makes the file's bytes), so the command
line and the console build the same file. Headers are Chinese; times are real dates in the
estate's time zone (a spreadsheet knows no zones: they are written as local wall time);
figures are numbers, shares formatted as percentages; text that a spreadsheet would run as
a formula is made harmless as in CSV exports (`models/export.py`). Tickets show what the
public board shows (building-level places, published words), and the figures are the very
numbers of `/stats` and `flask stats --json`.
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime, tzinfo
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from models import board, figures
from models.board import BOARD_STATE_NAMES, OVERDUE_NAME, SCRUB_MASKS
from models.categories import SUGGESTION, category_name
from models.export import cell
from models.staff import LEVEL_NAMES
from models.votes import OWNERS_KINDS, Vote, count, register, revoke_by, thaw

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
DATE_FORMAT, DAY_FORMAT, SHARE_FORMAT, AREA_FORMAT = "yyyy-mm-dd hh:mm", "yyyy-mm-dd", "0.0%", "0.00"
PAGE = 1000  # tickets read per query

# ---- the words of the sheets -------------------------------------------------------------------
TICKET_HEADERS = ("编号", "类别", "类别代码", "位置", "状态", "紧急", "已超时", "处理层级", "受理时间",
                  "更新时间", "办结时间", "办理天数", "评价（星）", "合并到", "公示内容")
YES, NO = "是", "否"
FILTER_NAMES = {"state": "状态", "category": "类别", "building": "楼栋", "month": "月份"}
PLACE_LABEL, GRID_LABEL = "范围", "网格楼栋"
SUMMARY_HEAD = ("项目", "数值")
FIGURE_ROWS = (  # label, where in the figures, number format
    ("报修工单（件）", ("tickets", "total"), "0"), ("未办结（件）", ("tickets", "open"), "0"),
    ("已超时（件）", ("tickets", "overdue"), "0"), ("已办结（件）", ("tickets", "resolved"), "0"),
    ("网格层级办结率", ("grid_resolved_share",), SHARE_FORMAT),
    ("首次响应用时中位数（分钟）", ("first_response_minutes", "median"), "0.0"),
    ("首次响应用时90分位（分钟）", ("first_response_minutes", "p90"), "0.0"),
    ("办结用时中位数（小时）", ("resolve_hours", "median"), "0.0"),
    ("办结用时90分位（小时）", ("resolve_hours", "p90"), "0.0"),
    ("满意率", ("satisfaction_rate",), SHARE_FORMAT), ("重新处理率", ("reopen_rate",), SHARE_FORMAT),
)
FIGURES_NOTE = "口径同 /stats 和 flask stats --json：只计报修（不含建议和“不是报修”撤销的），按受理月份（北京时间）。"
KIND_TITLES = {"consultation": "意见征集", "owners_ordinary": "业主共同决定·一般事项",
               "owners_major": "业主共同决定·重大事项"}
CHOICE_TITLES = {"agree": "同意", "oppose": "反对", "abstain": "弃权"}
VOTE_HEADERS = ("选项", "户数/人数", "面积（㎡）", "人数占参与比例", "面积占参与比例", "人数占比（分数）",
                "面积占比（分数）", "是否通过")
VOTE_OPEN, VOTE_PASSED, VOTE_FAILED, VOTE_NO_QUORUM = "表决进行中，尚无结果", "通过", "未通过", "未达到法定参与比例，表决无效"


class ExportError(ValueError):
    """A filter that cannot be used; the message says what to write instead."""


def month_range(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """The first moment of a month ("2026-11") and of the next, in the estate's time zone."""
    match = MONTH.match(month)
    if not match or not 2000 <= int(match.group(1)) <= 2100 or not 1 <= int(match.group(2)) <= 12:
        raise ExportError(f"月份“{month[:20]}”写得不对，请写成 2026-11 这样的年-月。")
    year, number = int(match.group(1)), int(match.group(2))
    return (datetime(year, number, 1, tzinfo=tz),
            datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz))


def save(book: Workbook) -> bytes:
    """The workbook as the bytes of an .xlsx file (for a download, or to write to disk)."""
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    """A moment as the estate's wall time, without a zone (spreadsheets keep none)."""
    return None if moment is None else moment.astimezone(tz).replace(tzinfo=None)


def _sheet(book: Workbook, title: str, head: Iterable[str], first: bool = False) -> Worksheet:
    sheet = book.active if first else book.create_sheet()
    sheet.title = title
    sheet.append([cell(h) for h in head])
    for header in sheet[1]:
        header.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    return sheet


def _put(sheet: Worksheet, values: Iterable[Any], formats: dict[int, str] | None = None) -> None:
    """Append a row: numbers and dates as they are, text made safe; formats by column (1-based)."""
    row = [v if isinstance(v, (date, Decimal, int, float)) or v is None else cell(v)
           for v in values]
    sheet.append(row)
    for column, number_format in (formats or {}).items():
        sheet.cell(row=sheet.max_row, column=column).number_format = number_format


def _pick(found: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        found = found[key]
    return found


# ---- tickets --------------------------------------------------------------------------
def _entries(session: Session, filters: board.Filters, now: datetime) -> Iterator[board.Entry]:
    """Every ticket the filters choose, newest first, read a page at a time."""
    after = None
    while True:
        page = board.page(session, filters, now=now, size=PAGE, after=after)
        yield from page.entries
        if not page.older or not page.entries:
            return
        after = (page.entries[-1].created_at, page.entries[-1].id)


def _ticket_row(entry: board.Entry, now: datetime, tz: tzinfo) -> list[Any]:
    place = f"{entry.building}栋" if entry.building else \
        board.scrub(entry.place, SCRUB_MASKS) if entry.place else None
    name = SUGGESTION.name if entry.category == board.SUGGESTION else category_name(entry.category)
    return [entry.id, name, entry.category, place, BOARD_STATE_NAMES[entry.state],
            YES if entry.urgent else NO, OVERDUE_NAME if entry.overdue else None,
            LEVEL_NAMES[entry.level], _local(entry.created_at, tz), _local(entry.updated_at, tz),
            _local(entry.resolved_at, tz), entry.days_open(now), entry.rating,
            entry.merged_into, None if entry.words is None else board.scrub(entry.words, SCRUB_MASKS)]


def tickets_book(session: Session, filters: board.Filters, *, month: str | None, now: datetime,
                 tz: ZoneInfo, place: str | None = None) -> Workbook:
    """The tickets the board's filters choose, with a summary sheet: the filters, the count, and
    (filtered by month alone, or not at all) that month's or the whole figures, as /stats has them
    for the same estates. `place` names whose tickets these are (an operator's estates)."""
    book = Workbook()
    summary = _sheet(book, "汇总", SUMMARY_HEAD, first=True)
    sheet = _sheet(book, "工单", TICKET_HEADERS)
    rows = 0
    for entry in _entries(session, filters, now):
        _put(sheet, _ticket_row(entry, now, tz), {9: DATE_FORMAT, 10: DATE_FORMAT, 11: DATE_FORMAT})
        rows += 1
    if place:
        _put(summary, [PLACE_LABEL, place])
    chosen = {"state": filters.state, "category": filters.category, "building": filters.building,
              "month": month}
    for name, value in chosen.items():
        _put(summary, [f"筛选：{FILTER_NAMES[name]}", value or "全部"])
    if filters.buildings is not None:
        _put(summary, [GRID_LABEL, "、".join(f"{b}栋" for b in filters.buildings) or "无"])
    _put(summary, ["导出工单（件，含建议）", rows])
    _put(summary, ["导出时间", _local(now, tz)], {2: DATE_FORMAT})
    if not (filters.state or filters.category or filters.building or filters.buildings is not None):
        found = figures.breakdown(session, "month", now, tz, estates=filters.estates).get(
            month, _empty()) if month else figures.summary(session, now, tz, estates=filters.estates)
        _figure_rows(summary, found)
    return book


def _empty() -> dict[str, Any]:
    """The figures of a month with no tickets: none counted, no shares or times."""
    return {"tickets": {"total": 0, "open": 0, "overdue": 0, "resolved": 0},
            "grid_resolved_share": None, "first_response_minutes": {"median": None, "p90": None},
            "resolve_hours": {"median": None, "p90": None}, "satisfaction_rate": None,
            "reopen_rate": None}


def _figure_rows(sheet: Worksheet, found: dict[str, Any]) -> None:
    _put(sheet, ["说明", FIGURES_NOTE])
    for label, path, number_format in FIGURE_ROWS:
        _put(sheet, [label, _pick(found, path)], {2: number_format})


# ---- the monthly figures -----------------------------------------------------------------------
def figures_book(session: Session, month: str, *, now: datetime, tz: ZoneInfo,
                 estates: Sequence[int] | None = None, place: str | None = None,
                 names: Sequence[tuple[int, str]] = ()) -> Workbook:
    """A month's governance figures (as /stats gives them), and every month up to it beside.

    `estates` limits them to those estates (None: every ticket), as /stats?estate= does;
    `names` (estate id, name) adds a sheet with each of those estates' month side by side."""
    month_range(month, tz)
    months = figures.breakdown(session, "month", now, tz, estates=estates)
    book = Workbook()
    sheet = _sheet(book, f"{month}", SUMMARY_HEAD, first=True)
    if place:
        _put(sheet, [PLACE_LABEL, place])
    _put(sheet, ["月份", month])
    _figure_rows(sheet, months.get(month, _empty()))
    corrected = {row["month"]: row
                 for row in figures.corrected_by_month(session, now, tz, months, estates)}
    shown = corrected.get(month, {"corrected": 0, "share": None})
    _put(sheet, ["工作人员更正（件）", shown["corrected"]], {2: "0"})
    _put(sheet, ["更正比例", shown["share"]], {2: SHARE_FORMAT})
    columns = {column: f for column, (_l, _p, f) in enumerate(FIGURE_ROWS, start=2)}
    trend = _sheet(book, "历月", ("月份", *(label for label, _path, _f in FIGURE_ROWS)))
    for name in sorted(m for m in months if m <= month):
        _put(trend, [name, *(_pick(months[name], path) for _l, path, _f in FIGURE_ROWS)], columns)
    if names:
        side = _sheet(book, "各小区", ("小区", *(label for label, _path, _f in FIGURE_ROWS)))
        for estate_id, estate_name in names:
            one = figures.breakdown(session, "month", now, tz, estates=[estate_id]).get(
                month, _empty())
            _put(side, [estate_name, *(_pick(one, path) for _l, path, _f in FIGURE_ROWS)], columns)
    return book


# ---- a vote ----------------------------------------------------------------------------------
def _share(part: Fraction) -> tuple[float, str]:
    return float(part), f"{part.numerator}/{part.denominator}"


def vote_book(session: Session, vote: Vote, *, now: datetime, tz: ZoneInfo) -> Workbook:
    """A vote's result as published (no one's choice), and the summary of the register it counts."""
    result = count(session, vote)
    closed = vote.state(now) == "closed"
    owners = vote.kind in OWNERS_KINDS
    book = Workbook()
    head = _sheet(book, "表决结果", SUMMARY_HEAD, first=True)
    ends = vote.closed_at or vote.closes_at
    for label, value in (("表决编号", vote.id), ("标题", vote.title), ("类型", KIND_TITLES[vote.kind]),
                         ("《民法典》第二百七十八条事项", vote.item), ("开始时间", _local(vote.opens_at, tz)),
                         ("截止时间", _local(ends, tz)), ("结果", _outcome(vote, result, closed))):
        _put(head, [label, value], {2: DATE_FORMAT} if isinstance(value, datetime) else None)
    if closed and owners:
        _put(head, ["业主可请求法院撤销的期限（第二百八十条）",
                    revoke_by(ends.astimezone(tz).date())], {2: DAY_FORMAT})
    head.append([])
    head.append([cell(h) for h in VOTE_HEADERS])
    for option in result.options:
        heads, heads_exact = _share(option.head_share)
        area, area_exact = _share(option.area_share)
        verdict = None if not closed else (YES if option.passed else NO)
        _put(head, [CHOICE_TITLES.get(option.option, option.option), option.heads, option.area,
                    heads, area, heads_exact, area_exact, verdict],
             {3: AREA_FORMAT, 4: SHARE_FORMAT, 5: SHARE_FORMAT})
    _register_sheet(book, session, vote, result)
    return book


def _outcome(vote: Vote, result: Any, closed: bool) -> str:
    if not closed:
        return VOTE_OPEN
    if vote.kind in OWNERS_KINDS and not result.quorum_met:
        return VOTE_NO_QUORUM
    return VOTE_PASSED if result.passed else VOTE_FAILED


def _register_sheet(book: Workbook, session: Session, vote: Vote, result: Any) -> None:
    homes = thaw(vote.frozen_register) if vote.frozen_register else register(session)
    sheet = _sheet(book, "名册汇总", SUMMARY_HEAD)
    _put(sheet, ["名册", "截止时冻结的名册" if vote.frozen_register else "当前名册（表决未截止）"])
    _put(sheet, ["登记房屋（套）", len(homes)])
    _put(sheet, ["其中开发商未售、未交付（套）", sum(1 for h in homes if h.unsold)])
    _put(sheet, ["专有部分总面积（㎡）", sum((Decimal(h.area) for h in homes), Decimal(0))],
         {2: AREA_FORMAT})
    _put(sheet, ["有表决权的面积（㎡）", result.eligible_area], {2: AREA_FORMAT})
    _put(sheet, ["有表决权的户数/人数", result.eligible_heads])
    _put(sheet, ["参与面积（㎡）", result.voted_area], {2: AREA_FORMAT})
    _put(sheet, ["参与户数/人数", result.voted_heads])
    for label, part in (("面积参与率", result.area_turnout), ("人数参与率", result.head_turnout)):
        share, exact = _share(part)
        _put(sheet, [label, share, exact], {2: SHARE_FORMAT})
    if vote.kind in OWNERS_KINDS:
        _put(sheet, ["法定参与比例（面积和人数均不少于2/3）", YES if result.quorum_met else NO])
