"""Open311 GeoReport v2 under /open311/v2/: a city platform pulls the estate's tickets and files new ones.

Every call answers in XML (the spec's required format) or JSON, by the address's
extension (`web/open311_format.py`); errors are the spec's `errors`/`error` in either.
`jurisdiction_id` may be given anywhere; when `[open311] jurisdiction_id` is set, another
one is refused (404), as the spec says. A request carries what the public board shows
and no more (`web/open311_requests.py`); services and their definitions are in
`web/open311_services.py`.
"""
from __future__ import annotations

import hmac
import math
from datetime import datetime, timedelta
from typing import Any

import intents
from flask import Response, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.inbound import MAX_TEXT
from bot.services import current as services_
from bot.tickets import PLACE_MAX, Draft, open_ticket, place_of
from bot.turn import Turn
from models import Resident, board
from models.tickets import OPEN_STATES, TRANSITIONS
from web import board as board_page
from web import open311_services as catalogue
from web.open311_format import FORMATS, Open311Error, errors, format_of, respond
from web.open311_requests import View, media_urls, notice
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
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07 00:00"  # when the services or their definitions last changed: bump with them

# ---- what the platform reads: discovery and errors
OPEN311_CONTACT = "{estate}物业服务中心（邻里通）：工单进展以本接口为准，问题请联系小区物业或{community}居委会。"
OPEN311_KEY_SERVICE = "提交工单需要 api_key：请联系{estate}物业服务中心开通，读取不需要。"
OPEN311_ERRORS = {
    "api_key": "api_key 缺失或不正确。",
    "api_key_in_query": "api_key 不能放在网址里（网址会写进访问日志），请放在表单正文或 X-Api-Key 请求头中。",
    "disabled": "本站未开放 Open311 提交（未配置 [open311] api_key）。",
    "service_code": "service_code 缺失或不是本站的服务类别，请先查看 services.xml（或 .json）。",
    "location": "请提供位置：address_string（如“3栋2单元”），或 lat 和 long。",
    "description": "请提供 description，说明是什么问题（不超过{limit}字）。",
    "too_long": "{field} 太长了（不超过{limit}字）。",
    "bad_number": "{field} 必须是数字。",
    "date": "{field} 不是 ISO 8601 时间（如 2026-11-28T10:00:00+08:00）。",
    "range": "end_date 不能早于 start_date，时间范围也不能超过90天。",
    "status": "status 只能是 open 或 closed（可用逗号分隔）。",
    "request_id": "service_request_id 必须是用逗号分隔的工单编号，最多{limit}个。",
    "not_found": "没有编号为 {value} 的工单。",
    "format": "本站提供 XML 和 JSON 两种格式，请把地址末尾的 .{format} 换成 .xml 或 .json。",
    "jurisdiction": "jurisdiction_id “{value}” 不是本站的（本站是 {ours}）。",
    "service_not_found": "没有 {value} 这个服务类别，请先查看 services.xml（或 .json）。",
    "no_such_call": "Open311 没有这个地址，可用的是 discovery、services、requests。",
}


def fail(status: int, key: str, **values: Any) -> Open311Error:
    """A refusal in the spec's error shape, its words from OPEN311_ERRORS."""
    return Open311Error(status, OPEN311_ERRORS[key].format(**values))


@bp.errorhandler(Open311Error)
def _error(err: Open311Error) -> ResponseReturnValue:
    return errors(format_of(request.path), err.status, str(err))


def _checked(fmt: str) -> str:
    """The format asked for, once the address and the jurisdiction are ours."""
    if fmt not in FORMATS:
        raise fail(400, "format", format=fmt[:10])
    ours = services_().config.open311.jurisdiction_id
    given = request.values.get("jurisdiction_id", "").strip()
    if ours and given and given != ours:
        raise fail(404, "jurisdiction", value=given[:40], ours=ours)
    return fmt


# ---- discovery and services ----------------------------------------------------
@bp.get(f"{PREFIX}/discovery.<fmt>")
def discovery(fmt: str) -> ResponseReturnValue:
    """The spec's service discovery document: where the endpoint is, in which formats."""
    fmt = _checked(fmt)
    estate = services_().config.estate
    names = {"estate": estate.name or "本小区", "community": estate.community or "所在社区"}
    return respond(fmt, "discovery", {
        "changeset": CHANGESET, "contact": OPEN311_CONTACT.format(**names),
        "key_service": OPEN311_KEY_SERVICE.format(**names),
        "endpoints": [{"specification": SPECIFICATION, "url": request.url_root + PREFIX.lstrip("/"),
                       "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}]})


@bp.get(f"{PREFIX}/services.<fmt>")
def services(fmt: str) -> ResponseReturnValue:
    """Our categories (and suggestions) as Open311 services."""
    return respond(_checked(fmt), "services", catalogue.service_list())


@bp.get(f"{PREFIX}/services/<code>.<fmt>")
def service_definition(code: str, fmt: str) -> ResponseReturnValue:
    """A service's definition: what it asks for beyond a place and a description."""
    fmt = _checked(fmt)
    if code not in board_page.CATEGORIES:
        raise fail(404, "service_not_found", value=code[:40])
    return respond(fmt, "service_definition", catalogue.definition(code))


# ---- reading requests --------------------------------------------------------------
def _date(name: str) -> datetime | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(400, "date", field=name) from None
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
        raise fail(400, "range")
    return start, end


def _listed(name: str, allowed: tuple[str, ...], error: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in request.args.get(name, "").split(",") if v.strip())
    if any(v not in allowed for v in values):
        raise fail(400, error)
    return values


def _ids(value: str) -> list[int]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts or len(parts) > IDS_LIMIT or not all(p.isdigit() and len(p) <= 9 for p in parts):
        raise fail(400, "request_id", limit=IDS_LIMIT)
    return [int(p) for p in parts]


@bp.get(f"{PREFIX}/requests.<fmt>")
def requests_list(fmt: str) -> ResponseReturnValue:
    """Service requests by id list, or by service code, status and date (90 days at most)."""
    fmt = _checked(fmt)
    s = services_()
    now = s.clock()
    with s.sessions() as session:
        if request.args.get("service_request_id", "").strip():
            found = board.entries(session, _ids(request.args["service_request_id"]), now)
        else:
            codes = _listed("service_code", board_page.CATEGORIES, "service_code")
            statuses = _listed("status", tuple(STATUSES), "status")
            start, end = _window()
            states = tuple(state for status in statuses for state in STATUSES[status])
            found = board.listing(session, categories=codes, states=states, since=start,
                                  until=end, now=now, limit=LIMIT)
        view = View(s, media_urls(session, found))
    return respond(fmt, "service_requests", [view.request(e) for e in found])


@bp.get(f"{PREFIX}/requests/<ticket_id>.<fmt>")
def request_one(ticket_id: str, fmt: str) -> ResponseReturnValue:
    """One service request (in a list, as the spec has it)."""
    fmt = _checked(fmt)
    if not ticket_id.isdigit() or len(ticket_id) > 9:
        raise fail(404, "not_found", value=ticket_id[:12])
    s = services_()
    with s.sessions() as session:
        found = board.entries(session, [int(ticket_id)], s.clock())
        if not found:
            raise fail(404, "not_found", value=ticket_id)
        view = View(s, media_urls(session, found))
    return respond(fmt, "service_requests", [view.request(found[0])])


@bp.route(f"{PREFIX}/<path:rest>", methods=["GET", "POST"])
def no_such_call(rest: str) -> Response:
    """Any other address under the endpoint: the spec's 404, in the format its extension asks."""
    return errors(format_of(rest), 404, OPEN311_ERRORS["no_such_call"])


# ---- filing a request ------------------------------------------------------------------
def _check_key() -> None:
    """The key comes in the form body or the X-Api-Key header, never in the address: addresses
    land in access logs. A key in the query string is refused even when it is right."""
    expected = services_().config.open311.api_key
    if not expected:
        raise fail(403, "disabled")
    if "api_key" in request.args:
        raise fail(403, "api_key_in_query")
    given = request.form.get("api_key") or request.headers.get(KEY_HEADER) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise fail(403, "api_key")


def _text(name: str, limit: int) -> str:
    value = request.form.get(name, "").strip()
    if len(value) > limit:
        raise fail(400, "too_long", field=name, limit=limit)
    return value


def _coordinates() -> str | None:
    lat, lon = request.form.get("lat", "").strip(), request.form.get("long", "").strip()
    if not lat and not lon:
        return None
    try:
        x, y = float(lat), float(lon)
    except ValueError:
        raise fail(400, "bad_number", field="lat/long") from None
    if not (math.isfinite(x) and math.isfinite(y) and -90 <= x <= 90 and -180 <= y <= 180):
        raise fail(400, "bad_number", field="lat/long")
    return f"{x:.6f},{y:.6f}"


def _draft() -> Draft:
    """The new ticket, from the form, in the shape a resident's report takes."""
    code = request.form.get("service_code", "").strip()
    if not code:
        raise fail(400, "service_code")
    if code not in board_page.CATEGORIES:  # the spec: a service_code not found is a 404
        raise fail(404, "service_not_found", value=code[:40])
    extra, trapped = catalogue.answers(code, request.form)
    address, coordinates = _text("address_string", ADDRESS_MAX), _coordinates()
    if not address and not coordinates:
        raise fail(400, "location")
    description = _text("description", MAX_TEXT)
    if not description:
        raise fail(400, "description", limit=MAX_TEXT)
    said = description + extra
    where = intents.parse(address) if address else None
    suggestion = code == board.SUGGESTION
    return Draft(kind="suggestion" if suggestion else "problem",
                 category=None if suggestion else code,
                 urgent=not suggestion and (trapped or intents.parse(description).urgent),
                 text=said,
                 building=where.building if where else None, unit=where.unit if where else None,
                 room=where.room if where else None,
                 place=((place_of(where) if where else None) or address or coordinates)[:PLACE_MAX])


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
    if fmt not in FORMATS:
        raise fail(400, "format", format=fmt[:10])
    _check_key()
    fmt = _checked(fmt)
    draft = _draft()
    account = _text("account_id", ACCOUNT_MAX) or None
    s = services_()
    now = s.clock()
    with s.transaction() as session:  # the staff cards go out once it commits, as after a chat
        turn = Turn(session, _reporter(session, now), now, s)
        # the resident's path (events, deadlines, routing); the platform reads updates by GET
        ticket = open_ticket(turn, draft, follow=False)
        number, promised = ticket.id, notice(ticket.category or board.SUGGESTION, ticket.urgent)
    return respond(fmt, "service_requests", [{"service_request_id": str(number),
                                              "service_notice": promised, "account_id": account}], 201)
