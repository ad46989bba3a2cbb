"""/board and /board.json: the public list of every ticket (清单化公示).

Filters come as query parameters (state, category, building, month, size, and
after/before: a ticket number to page from); estate (an id or a name), community and street
choose whose tickets. A bad value is refused with a 400
that says, in Chinese, what to choose instead; nothing here writes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Mapping

from flask import jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.services import current as services
from models import Estate, board
from models.estates import EstateError, estates, selection
from models.board import BOARD_STATE_NAMES, OVERDUE_NAME, SCRUB_MASKS
from models.categories import CODES, SUGGESTION
from models.categories import category_name as name_of_category
from models.tickets import TRANSITIONS
from web.pages import page_blueprint

bp = page_blueprint("board", __name__)

PAGE_SIZE, PAGE_LIMIT = 50, 100
FILTERS = ("state", "category", "building", "month")
PLACES = ("estate", "community", "street")  # whose tickets: an estate (id or name), a community, a street
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
NUMBER = re.compile(r"^#?(\d{1,9})$")
CATEGORIES = CODES + (board.SUGGESTION,)
STATES = tuple(TRANSITIONS) + (board.OVERDUE,)
# What a reader is told when a filter cannot be used, and what to choose instead.
BOARD_BAD = {
    "state": "没有“{value}”这种状态，请从“状态”下拉框里选择。",
    "category": "没有“{value}”这个类别，请从“类别”下拉框里选择。",
    "building": "本小区没有“{value}”栋，请从“楼栋”下拉框里选择。",
    "estate": "没有叫“{value}”的小区，请从“小区”下拉框里选择。",
    "community": "没有“{value}”这个社区的小区，请检查社区名称。",
    "street": "没有“{value}”这个街道的小区，请检查街道名称。",
    "month": "月份“{value}”写得不对，请写成 2026-11 这样的年-月。",
    "size": "每页条数“{value}”不对，请写 1 到 {limit} 之间的整数。",
    "after": "翻页位置“{value}”不对，请回到第一页重新翻页。",
    "before": "翻页位置“{value}”不对，请回到第一页重新翻页。",
    "both": "不能同时向前和向后翻页，请回到第一页重新翻页。",
    "unknown": "不认识参数“{value}”，可用的筛选是 state、category、building、month。",
}


class BadRequest(ValueError):
    """A query parameter the board cannot use; the message says what to do instead."""


@dataclass
class Request:
    """The reader's checked request: filters, the page to start from, the page size."""

    filters: board.Filters
    chosen: dict[str, str] = field(default_factory=dict)  # the filters as given, for links
    size: int = PAGE_SIZE
    after: tuple[datetime, int] | None = None
    before: tuple[datetime, int] | None = None


def _bad(name: str, value: str) -> BadRequest:
    shown = value if len(value) <= 20 else value[:20] + "…"
    return BadRequest(BOARD_BAD[name].format(value=shown, limit=PAGE_LIMIT))


def parse(args: Mapping[str, str], session: Any) -> Request:
    """Check every parameter against what exists; raise BadRequest on the first bad one."""
    chosen = {name: args.get(name, "").strip() for name in (*PLACES, *FILTERS)}
    chosen = {name: value for name, value in chosen.items() if value}
    picked = _places(session, chosen)
    ids = None if picked is None else tuple(e.id for e in picked)
    if chosen.get("state", STATES[0]) not in STATES:
        raise _bad("state", chosen["state"])
    if chosen.get("category", CATEGORIES[0]) not in CATEGORIES:
        raise _bad("category", chosen["category"])
    if "building" in chosen and chosen["building"].removesuffix("栋") not in board.buildings(session, ids):
        raise _bad("building", chosen["building"])
    since = until = None
    if "month" in chosen:
        since, until = _month(chosen["month"])
    filters = board.Filters(state=chosen.get("state"), category=chosen.get("category"),
                            building=chosen.get("building", "").removesuffix("栋") or None,
                            since=since, until=until, estates=ids)
    found = Request(filters, chosen, size=_size(args.get("size", "")))
    if args.get("after") and args.get("before"):
        raise _bad("both", "")
    for direction in ("after", "before"):
        if args.get(direction):
            setattr(found, direction, _position(session, direction, args[direction]))
    return found


def _places(session: Any, chosen: Mapping[str, str]) -> list[Estate] | None:
    """The estates asked about (None: all), or BadRequest naming the first place that is none."""
    for name in PLACES:
        if name in chosen:
            try:
                selection(session, **{name: chosen[name]})
            except EstateError:
                raise _bad(name, chosen[name]) from None
    try:
        return selection(session, **{name: chosen.get(name) for name in PLACES})
    except EstateError:  # each place exists, but not together (an estate of another street)
        raise _bad("estate", chosen.get("estate") or chosen.get("community") or "") from None


def place_title(session: Any, chosen: Mapping[str, str]) -> str | None:
    """What the page is about: the estate, community or street asked for (None: everything)."""
    picked = _places(session, chosen)
    if picked is None:
        return None
    if "estate" in chosen or len(picked) == 1:
        return "、".join(e.name for e in picked)
    return chosen.get("community") or chosen.get("street")


def _month(value: str) -> tuple[datetime, datetime]:
    match = MONTH.match(value)
    if not match or not 2000 <= int(match.group(1)) <= 2100 or not 1 <= int(match.group(2)) <= 12:
        raise _bad("month", value)
    year, month = int(match.group(1)), int(match.group(2))
    tz = services().tz
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return start, end


def _size(value: str) -> int:
    if not value.strip():
        return PAGE_SIZE
    if not value.strip().isdigit() or not 1 <= int(value) <= PAGE_LIMIT:
        raise _bad("size", value)
    return int(value)


def _position(session: Any, direction: str, value: str) -> tuple[datetime, int]:
    match = NUMBER.match(value.strip())
    place = board.position(session, int(match.group(1))) if match else None
    if place is None:
        raise _bad(direction, value)
    return place


@lru_cache(maxsize=4096)
def _estate_place(place: str) -> str | None:
    """The estate-wide place noun in a place phrase (地下车库, 中心花园), or None."""
    from intents.engine import default_engine  # loaded on first use, not at import

    engine = default_engine()
    found = engine.lexicon.estate_place_re.search(engine.normalise(place))
    return found.group() if found else None


def public_place(entry: board.Entry) -> str:
    """Building level only: "3栋"; else an estate-wide place; else a dash."""
    if entry.building:
        return f"{entry.building}栋"
    return (_estate_place(entry.place) if entry.place else None) or "—"


def public_words(entry: board.Entry) -> str | None:
    """The resident's words when staff published them (scrubbed then; scrubbed again here)."""
    return None if entry.words is None else board.scrub(entry.words, SCRUB_MASKS)


def category_name(code: str) -> str:
    """Say a board category in Chinese (suggestions are 建议)."""
    return SUGGESTION.name if code == board.SUGGESTION else name_of_category(code)


def state_name(code: str) -> str:
    """Say a board state in Chinese."""
    return OVERDUE_NAME if code == board.OVERDUE else BOARD_STATE_NAMES[code]


def row(entry: board.Entry, now: datetime, estates: Mapping[int, str] | None = None) -> dict[str, Any]:
    """One ticket as the board shows it, in the JSON twin's shape (with its estate's name,
    `estates` giving ticket number -> name, when the deployment has several estates)."""
    local = services().local
    named = {"estate": estates.get(entry.id) or None} if estates else {}
    return {**named,
        "number": f"#{entry.id}", "id": entry.id,
        "category": entry.category, "category_name": category_name(entry.category),
        "place": public_place(entry), "state": entry.state, "state_name": state_name(entry.state),
        "urgent": entry.urgent, "overdue": entry.overdue,
        "opened_at": local(entry.created_at).isoformat(timespec="seconds"),
        "updated_at": local(entry.updated_at).isoformat(timespec="seconds"),
        "resolved_at": local(entry.resolved_at).isoformat(timespec="seconds")
        if entry.resolved_at else None,
        "days_open": entry.days_open(now), "rating": entry.rating,
        "merged_into": f"#{entry.merged_into}" if entry.merged_into else None,
        "words": public_words(entry),
    }


def _months(session: Any, now: datetime) -> list[str]:
    local_now = services().local(now)
    first = board.first_opened(session)
    year, month = (services().local(first).year, services().local(first).month) if first \
        else (local_now.year, local_now.month)
    months = []
    while (year, month) <= (local_now.year, local_now.month) and len(months) < 240:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months[::-1]


def _load(args: Mapping[str, str]) -> tuple[Request, board.Page, list[str], list[str], Places]:
    s = services()
    now = s.clock()
    with s.sessions() as session:
        asked = parse(args, session)
        found = board.page(session, asked.filters, now=now, size=asked.size, after=asked.after,
                           before=asked.before)
        known = estates(session)
        named = {e.id: e.name for e in known} if len(known) > 1 else {}
        where = board.estates_of(session, [e.id for e in found.entries]) if named else {}
        places = Places(names=named, title=place_title(session, asked.chosen),
                        of={n: named.get(e or 0, "") for n, e in where.items()})
        return asked, found, board.buildings(session, asked.filters.estates), _months(session, now), \
            places


@dataclass(frozen=True)
class Places:
    """The estates' names when there are several (each row says its estate), and what the page
    is about."""

    names: dict[int, str]  # estate id -> name
    title: str | None
    of: dict[int, str]  # ticket number -> its estate's name


def _link(endpoint: str, asked: Request, **where: int) -> str:
    size = {"size": asked.size} if asked.size != PAGE_SIZE else {}
    return url_for(endpoint, **asked.chosen, **size, **where)


def _links(endpoint: str, asked: Request, found: board.Page) -> dict[str, str | None]:
    entries = found.entries
    return {"older": _link(endpoint, asked, after=entries[-1].id) if found.older and entries else None,
            "newer": _link(endpoint, asked, before=entries[0].id) if found.newer and entries else None,
            "first": _link(endpoint, asked) if asked.after or asked.before else None}


@bp.get("/board")
def board_page() -> ResponseReturnValue:
    """The board as a page: filters, a table, and links to older and newer tickets."""
    named = services().config.estate.name
    estate = "邻里通" if named is None else named
    try:
        asked, found, buildings, months, places = _load(request.args)
    except BadRequest as err:
        return render_template("board_error.html", message=str(err), estate_name=estate), 400
    now = services().clock()
    return render_template(
        "board.html", estate_name=places.title or estate,
        rows=[row(e, now, places.of) for e in found.entries], estates=places.names,
        chosen=asked.chosen, links=_links("board.board_page", asked, found),
        states=[(code, state_name(code)) for code in STATES],
        categories=[(code, category_name(code)) for code in CATEGORIES],
        buildings=buildings, months=months)


@bp.get("/board.json")
def board_json() -> ResponseReturnValue:
    """The board as JSON: the same rows, filters and paging as the page."""
    try:
        asked, found, _buildings, _months_seen, places = _load(request.args)
    except BadRequest as err:
        return jsonify(error=str(err)), 400
    now = services().clock()
    links = _links("board.board_json", asked, found)
    return jsonify(tickets=[row(e, now, places.of) for e in found.entries], filters=asked.chosen,
                   size=asked.size, older=links["older"], newer=links["newer"], first=links["first"])
