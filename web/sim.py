"""/sim: a chat simulator that drives the real dialogue through the simulator channel.

Off unless `[sim] enabled = true`: then the page says so (404) and the API refuses.
The API is JSON under /sim/api/. Against cross-site requests, a POST must be
`Content-Type: application/json` (a cross-site page cannot send that without a CORS
preflight, which this server never grants) and, when the browser says where it
comes from, `Origin` must be this server and `Sec-Fetch-Site` must be `same-origin`.
"""
from __future__ import annotations

from flask import Response, jsonify, render_template, request

from bot.channels import sim
from bot.services import Services, current as _services
from web.pages import page_blueprint

bp = page_blueprint("sim", __name__)

SIM_OFF = "聊天模拟器未开启。管理员可在配置文件中写入 [sim] enabled = true 后重启服务。"
SIM_NOT_JSON = "只接受 JSON 格式的请求（Content-Type: application/json）。"
SIM_CROSS_SITE = "只接受本站页面发出的请求。"


def enabled(services: Services) -> bool:
    """Tell whether the operator turned the simulator on."""
    return services.config.sim.enabled


def _refuse(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.get("/sim")
def page() -> tuple[str, int]:
    """The simulator, or a page saying it is off."""
    services = _services()
    on = enabled(services)
    return render_template("sim.html", enabled=on,
                           estate_name=services.config.estate.name), (200 if on else 404)


@bp.get("/sim/api/people")
def people() -> Response:
    """The residents and staff one may speak as."""
    services = _services()
    if not enabled(services):
        return _refuse(404, SIM_OFF)
    with services.sessions() as session:
        return jsonify(sim.people(session))


@bp.post("/sim/api/messages")
def post_message() -> Response:
    """Say something as a resident or a staff member; answer with the bot's reply."""
    services = _services()
    if not enabled(services):
        return _refuse(404, SIM_OFF)
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
    if not enabled(services):
        return _refuse(404, SIM_OFF)
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
