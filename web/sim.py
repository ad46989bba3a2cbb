"""/sim: a chat simulator that drives the real dialogue through the simulator channel.

Off unless `[sim] enabled = true`: then the page says so (404) and the API refuses.
On, it answers only a street operator signed into the console, or, when `[sim] demo = true`,
a request from this machine: a loopback address and no proxy's forwarding header (behind a
reverse proxy on the same host every request comes from loopback, but carries one). Anyone
else gets 403 and nothing changes. It speaks only as made-up people (bot/channels/sim.py).
The API is JSON under /sim/api/. Against cross-site requests, a POST must be
`Content-Type: application/json` (a cross-site page cannot send that without a CORS
preflight, which this server never grants) and, when the browser says where it
comes from, `Origin` must be this server and `Sec-Fetch-Site` must be `same-origin`.
"""
from __future__ import annotations

import ipaddress

from flask import Response, jsonify, render_template, request

from bot.channels import sim
from bot.services import Services, current as _services
from web.console import signed_in
from web.pages import page_blueprint

bp = page_blueprint("sim", __name__)

SIM_OFF = "聊天模拟器未开启。管理员可在配置文件中写入 [sim] enabled = true 后重启服务。"
SIM_REFUSED = "聊天模拟器只对登录管理后台（/console）的街道级管理员开放。请先登录后再打开。"
SIM_NOT_JSON = "只接受 JSON 格式的请求（Content-Type: application/json）。"
SIM_CROSS_SITE = "只接受本站页面发出的请求。"


FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")


def enabled(services: Services) -> bool:
    """Tell whether the operator turned the simulator on."""
    return services.config.sim.enabled


def let_in(services: Services) -> bool:
    """Whether this request may use the simulator: a street operator, or this machine in a demo."""
    return (services.config.sim.demo and from_this_machine()) or street_operator()


def from_this_machine() -> bool:
    """Whether the request came from loopback itself, not through a proxy on this host."""
    if any(name in request.headers for name in FORWARDED):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def street_operator() -> bool:
    """Whether a street-level operator is signed into the console in this browser (the
    console's own check of its cookie: web/console `signed_in`)."""
    services = _services()
    if not services.config.console.enabled:
        return False
    with services.sessions() as db:
        found = signed_in(db)
        street = found is not None and found.level == "street"
        db.commit()  # the session's last use, or its end when it went stale
    return street


@bp.before_request
def gate() -> Response | tuple[str, int] | None:
    """Off: 404, saying so. On: 403 for anyone not let in, before anything is read or written."""
    services = _services()
    if not enabled(services):
        if request.path.startswith("/sim/api/"):
            return _refuse(404, SIM_OFF)
        return render_template("sim.html", state="off"), 404
    if not let_in(services):
        if request.path.startswith("/sim/api/"):
            return _refuse(403, SIM_REFUSED)
        return render_template("sim.html", state="refused"), 403
    return None


def _refuse(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.get("/sim")
def page() -> tuple[str, int]:
    """The simulator (the gate answered already if it is off or closed to this request)."""
    return render_template("sim.html", state="on", estate_name=_services().config.estate.name), 200


@bp.get("/sim/api/people")
def people() -> Response:
    """The residents and staff one may speak as."""
    with _services().sessions() as session:
        return jsonify(sim.people(session))


@bp.post("/sim/api/messages")
def post_message() -> Response:
    """Say something as a resident or a staff member; answer with the bot's reply."""
    services = _services()
    refused = _cross_site()
    if refused is not None:
        return refused
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _refuse(400, sim.SIM_BAD_REQUEST)
    try:
        with services.sessions() as session:
            identity = sim.identify(session, body.get("as"))
        inbound = sim.to_inbound(identity, body)
    except sim.SimError as err:
        return _refuse(400, str(err))
    return jsonify(sim.say(services, identity, inbound))


@bp.get("/sim/api/conversation")
def conversation() -> Response:
    """A person's messages and pushes, and the staff groups' messages, after the cursors."""
    services = _services()
    try:
        after_in = sim.parse_cursor(request.args.get("in"))
        after_out = sim.parse_cursor(request.args.get("out"))
        with services.sessions() as session:
            identity = sim.identify(session, request.args.get("as"))
    except sim.SimError as err:
        return _refuse(400, str(err))
    return jsonify(sim.transcript(services, identity, after_in, after_out))


def _cross_site() -> Response | None:
    """Refuse a POST that is not same-origin JSON (see the module's note)."""
    if request.mimetype != "application/json":
        return _refuse(415, SIM_NOT_JSON)
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return _refuse(403, SIM_CROSS_SITE)
    origin = request.headers.get("Origin")
    if origin is not None and origin != _own_origin():
        return _refuse(403, SIM_CROSS_SITE)
    return None


def _own_origin() -> str:
    return f"{request.scheme}://{request.host}"
