"""Open311 GeoReport v2 under /open311/v2/: a city platform pulls the estate's tickets and files new ones.

JSON only (the spec leaves JSON to the provider and asks for XML; a `.xml` address
gets a 400 that says to use `.json`). Errors are the spec's `[{"code", "description"}]`.
A request carries what the public board shows and no more: building-level
addresses, and a resident's words only once staff published them, scrubbed.
"""
from __future__ import annotations

import hmac
import math
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

import intents
from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.inbound import MAX_TEXT
from bot.services import Services, current as services_
from bot.tickets import PLACE_MAX, Draft, open_ticket, place_of
from bot.turn import Turn
from models import Resident, board
from models.board import BOARD_STATE_NAMES
from models.estates import nearest, only_estate
from models.categories import BY_CODE
from models.sla import deadlines, duration
from models.staff import LEVEL_NAMES
from models.tickets import OPEN_STATES, TRANSITIONS
from web import board as board_page
from web.pages import page_blueprint

bp = page_blueprint("open311", __name__)

PREFIX = "/open311/v2"
WINDOW = timedelta(days=90)  # the spec's longest start_date..end_date span, and the default
LIMIT = 1000  # requests per answer, newest first
IDS_LIMIT = 100
ADDRESS_MAX, ACCOUNT_MAX = 200, 64
KEY_HEADER = "X-Api-Key"  # or `api_key` in the form body
REPORTER = "open311"  # the residents-table entry that stands for the city platform
STATUSES = {"open": OPEN_STATES, "closed": tuple(s for s in TRANSITIONS if s not in OPEN_STATES)}

# ---- what the platform reads: services, agencies (our levels), notices, notes, errors
OPEN311_DESCRIPTION = "小区{name}问题：{keywords}等。"
OPEN311_SUGGESTION = "对小区管理和设施的建议。"
OPEN311_AGENCIES = {"grid": "{estate}网格员", "property": "{estate}物业服务中心",
                    "estate": "{estate}党支部和业委会", "community": "{community}居委会",
                    "street": "{street}办事处"}
OPEN311_NOTICE_URGENT = "紧急问题：{response}内响应，{resolve}内处理完。"
OPEN311_NOTICE_NORMAL = "{response}内响应，{resolve}内处理完。"
OPEN311_NOTES = "{state}（{level}一级处理）"
OPEN311_NOTES_MERGED = "已合并到 #{number} 一并处理"
OPEN311_ERRORS = {
    "api_key": "api_key 缺失或不正确。",
    "api_key_in_query": "api_key 不能放在网址里（网址会写进访问日志），请放在表单正文或 X-Api-Key 请求头中。",
    "disabled": "本站未开放 Open311 提交（未配置 [open311] api_key）。",
    "service_code": "service_code 缺失或不是本站的服务类别，请先查看 services.json。",
    "location": "请提供位置：address_string（如“3栋2单元”），或 lat 和 long。",
    "description": "请提供 description，说明是什么问题（不超过{limit}字）。",
    "too_long": "{field} 太长了（不超过{limit}字）。",
    "bad_number": "{field} 必须是数字。",
    "date": "{field} 不是 ISO 8601 时间（如 2026-11-28T10:00:00+08:00）。",
    "range": "end_date 不能早于 start_date，时间范围也不能超过90天。",
    "status": "status 只能是 open 或 closed（可用逗号分隔）。",
    "request_id": "service_request_id 必须是用逗号分隔的工单编号，最多{limit}个。",
    "not_found": "没有编号为 {value} 的工单。",
    "format": "本站只提供 JSON 格式，请把地址末尾的 .{format} 换成 .json。",
}


class Open311Error(Exception):
    """An answer in the spec's error shape."""

    def __init__(self, status: int, key: str, **values: Any) -> None:
        super().__init__(OPEN311_ERRORS[key].format(**values))
        self.status = status


@bp.errorhandler(Open311Error)
def _error(err: Open311Error) -> ResponseReturnValue:
    return jsonify([{"code": err.status, "description": str(err)}]), err.status


def _json_only(fmt: str) -> None:
    if fmt != "json":
        raise Open311Error(400, "format", format=fmt[:10])


def _iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


# ---- services ------------------------------------------------------------------
@bp.get(f"{PREFIX}/services.<fmt>")
def services(fmt: str) -> ResponseReturnValue:
    """Our categories (and suggestions) as Open311 services."""
    _json_only(fmt)
    listed = []
    for code in board_page.CATEGORIES:
        name = board_page.category_name(code)
        keywords = BY_CODE[code].keywords
        listed.append({
            "service_code": code, "service_name": name,
            "description": OPEN311_SUGGESTION if code == board.SUGGESTION
            else OPEN311_DESCRIPTION.format(name=name, keywords=keywords.replace(",", "、")),
            "metadata": False, "type": "realtime", "keywords": keywords,
            "group": BY_CODE[code].group})
    return jsonify(listed)


# ---- reading requests --------------------------------------------------------------
class View:
    """What every request in one answer shares: the time zone, the agencies, the notices."""

    def __init__(self, s: Services) -> None:
        self.tz = s.tz
        estate = s.config.estate
        self.agencies = {level: text.format(estate=estate.name or "",
                                            community=estate.community or "",
                                            street=estate.street or "")
                         for level, text in OPEN311_AGENCIES.items()}
        self.notices: dict[tuple[str, bool], str] = {}

    def notice(self, category: str, urgent: bool) -> str:
        """The service notice of a category and urgency (computed once per answer)."""
        if (category, urgent) not in self.notices:
            self.notices[category, urgent] = _notice(category, urgent)
        return self.notices[category, urgent]

    def request(self, entry: board.Entry) -> dict[str, Any]:
        """One ticket as an Open311 service request."""
        status = "open" if entry.state in OPEN_STATES else "closed"
        notes = OPEN311_NOTES_MERGED.format(number=entry.merged_into) if entry.merged_into \
            else OPEN311_NOTES.format(state=BOARD_STATE_NAMES[entry.state],
                                              level=LEVEL_NAMES[entry.level])
        place = board_page.public_place(entry)
        return {
            "service_request_id": str(entry.id), "status": status, "status_notes": notes,
            "service_name": board_page.category_name(entry.category),
            "service_code": entry.category, "description": board_page.public_words(entry),
            "agency_responsible": self.agencies[entry.level],
            "service_notice": self.notice(entry.category, entry.urgent),
            "requested_datetime": _iso(entry.created_at, self.tz),
            "updated_datetime": _iso(entry.updated_at, self.tz),
            "expected_datetime": _iso(entry.resolve_due_at, self.tz),
            "address": None if place == "—" else place, "address_id": None, "zipcode": None,
            "lat": None, "long": None, "media_url": None,
        }


def _notice(category: str, urgent: bool) -> str:
    limits = deadlines(services_().config.sla, None if category == board.SUGGESTION else category, urgent)
    text = OPEN311_NOTICE_URGENT if urgent else OPEN311_NOTICE_NORMAL
    return text.format(response=duration(limits.response),
                       resolve=duration(limits.resolve))


def _date(name: str) -> datetime | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Open311Error(400, "date", field=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=services_().tz)


def _window() -> tuple[datetime, datetime]:
    """The requested_datetime range: at most 90 days, the last 90 by default."""
    start, end = _date("start_date"), _date("end_date")
    if start is None:
        end = end or services_().clock()
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if end < start or end - start > WINDOW:
        raise Open311Error(400, "range")
    return start, end


def _listed(name: str, allowed: tuple[str, ...], error: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in request.args.get(name, "").split(",") if v.strip())
    if any(v not in allowed for v in values):
        raise Open311Error(400, error)
    return values


def _ids(value: str) -> list[int]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts or len(parts) > IDS_LIMIT or not all(p.isdigit() and len(p) <= 9 for p in parts):
        raise Open311Error(400, "request_id", limit=IDS_LIMIT)
    return [int(p) for p in parts]


@bp.get(f"{PREFIX}/requests.<fmt>")
def requests_list(fmt: str) -> ResponseReturnValue:
    """Service requests by id list, or by service code, status and date (90 days at most)."""
    _json_only(fmt)
    s = services_()
    now = s.clock()
    with s.sessions() as session:
        if request.args.get("service_request_id", "").strip():
            found = board.entries(session, _ids(request.args["service_request_id"]), now)
            return jsonify([View(s).request(e) for e in found])
        codes = _listed("service_code", board_page.CATEGORIES, "service_code")
        statuses = _listed("status", tuple(STATUSES), "status")
        start, end = _window()
        states = tuple(state for status in statuses for state in STATUSES[status])
        found = board.listing(session, categories=codes, states=states, since=start, until=end,
                              now=now, limit=LIMIT)
    view = View(s)
    return jsonify([view.request(e) for e in found])


@bp.get(f"{PREFIX}/requests/<ticket_id>.<fmt>")
def request_one(ticket_id: str, fmt: str) -> ResponseReturnValue:
    """One service request."""
    _json_only(fmt)
    if not ticket_id.isdigit() or len(ticket_id) > 9:
        raise Open311Error(404, "not_found", value=ticket_id[:12])
    s = services_()
    with s.sessions() as session:
        found = board.entries(session, [int(ticket_id)], s.clock())
    if not found:
        raise Open311Error(404, "not_found", value=ticket_id)
    return jsonify([View(s).request(found[0])])


# ---- filing a request ------------------------------------------------------------------
def _check_key() -> None:
    """The key comes in the form body or the X-Api-Key header, never in the address: addresses
    land in access logs. A key in the query string is refused even when it is right."""
    expected = services_().config.open311.api_key
    if not expected:
        raise Open311Error(403, "disabled")
    if "api_key" in request.args:
        raise Open311Error(403, "api_key_in_query")
    given = request.form.get("api_key") or request.headers.get(KEY_HEADER) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Open311Error(403, "api_key")


def _text(name: str, limit: int) -> str:
    value = request.form.get(name, "").strip()
    if len(value) > limit:
        raise Open311Error(400, "too_long", field=name, limit=limit)
    return value


def _coordinates() -> str | None:
    lat, lon = request.form.get("lat", "").strip(), request.form.get("long", "").strip()
    if not lat and not lon:
        return None
    try:
        x, y = float(lat), float(lon)
    except ValueError:
        raise Open311Error(400, "bad_number", field="lat/long") from None
    if not (math.isfinite(x) and math.isfinite(y) and -90 <= x <= 90 and -180 <= y <= 180):
        raise Open311Error(400, "bad_number", field="lat/long")
    return f"{x:.6f},{y:.6f}"


def _draft() -> Draft:
    """The new ticket, from the form, in the shape a resident's report takes."""
    code = request.form.get("service_code", "").strip()
    if code not in board_page.CATEGORIES:
        raise Open311Error(400, "service_code")
    address, coordinates = _text("address_string", ADDRESS_MAX), _coordinates()
    if not address and not coordinates:
        raise Open311Error(400, "location")
    description = _text("description", MAX_TEXT)
    if not description:
        raise Open311Error(400, "description", limit=MAX_TEXT)
    where = intents.parse(address) if address else None
    suggestion = code == board.SUGGESTION
    return Draft(kind="suggestion" if suggestion else "problem",
                 category=None if suggestion else code,
                 urgent=not suggestion and intents.parse(description).urgent,
                 text=description,
                 building=where.building if where else None, unit=where.unit if where else None,
                 room=where.room if where else None,
                 place=((place_of(where) if where else None) or address or coordinates)[:PLACE_MAX])


def _located(session: Any, draft: Draft) -> Draft:
    """With several estates, a request given as lat/long belongs to the nearest one."""
    lat, lon = request.form.get("lat", "").strip(), request.form.get("long", "").strip()
    if not lat or not lon or only_estate(session) is not None:
        return draft
    estate = nearest(session, float(lat), float(lon))  # _coordinates has checked both
    return replace(draft, estate_id=estate.id) if estate is not None else draft


def _reporter(session: Any, now: datetime) -> Resident:
    """The city platform, as the reporter of the tickets it files (it follows them by GET)."""
    found = session.scalar(select(Resident).where(Resident.openid == REPORTER))
    if found is None:
        found = Resident(openid=REPORTER, created_at=now, verified=False, following=False,
                         subscribed=False, pushes_since_inbound=0)
        session.add(found)
        session.flush()
    return found


@bp.post(f"{PREFIX}/requests.<fmt>")
def request_new(fmt: str) -> ResponseReturnValue:
    """File a ticket as a resident's report does: numbered, routed, on the clock."""
    _json_only(fmt)
    _check_key()
    draft = _draft()
    account = _text("account_id", ACCOUNT_MAX) or None
    s = services_()
    now = s.clock()
    with s.transaction() as session:  # the staff cards go out once it commits, as after a chat
        turn = Turn(session, _reporter(session, now), now, s)
        draft = _located(session, draft)
        # the resident's path (events, deadlines, routing); the platform reads updates by GET
        ticket = open_ticket(turn, draft, follow=False)
        number, notice = ticket.id, _notice(ticket.category or board.SUGGESTION, ticket.urgent)
    return jsonify([{"service_request_id": str(number), "service_notice": notice,
                     "account_id": account}]), 201
