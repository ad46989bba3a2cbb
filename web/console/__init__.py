"""/console: the operators' console. The blueprint, who is signed in, and what they may reach.

Every request to /console passes `_guard` before its view runs:

1. the console is on (`[console] secret_key` set), else 404;
2. a POST carries the form's CSRF token (Flask-WTF's CSRFProtect), else 400;
3. the browser holds a live session (models/console.py), else it is sent to sign in;
4. the operator's level is one the view allows (`@levels(...)`), else 403;
5. every target the request names — in the URL (`/tickets/<int:ticket>`) or in its query or
   form (`?estate=3`, `other=12`) — lies in the operator's scope, else 403.

Targets are checked by name, in one table (`TARGETS`), so a page cannot forget: a URL
variable with no check stops the app at start, and a form field named like a target is
checked whatever the page does with it. A page module adds its own kind of target with
`@target("vote")`. Pages render through `render()` and record what they changed with `audit()`.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from flask import (Blueprint, Flask, abort, current_app, g, redirect, render_template, request,
                   session, url_for)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from bot.services import Services, current as services
from models import Estate, OutboxMessage, Staff, Ticket
from models.console import AuditEntry, Operator, operator_for
from models.staff import LEVELS
from web.console.scope import Scope, message_estate, scope_of
from web.pages import harden

bp = Blueprint("console", __name__, url_prefix="/console")
bp.after_request(harden)


@bp.after_request
def _no_store(response: Response) -> Response:
    """Console pages hold people's details: no cache keeps them. Forms say where they come
    from to this server alone (CSRFProtect checks the Referer over HTTPS); `harden` runs next."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response

csrf = CSRFProtect()
COOKIE = "linli_console"

CONSOLE_OFF = "控制台未开启。管理员可在配置文件 [console] 中写入 secret_key 后重启服务。"
FORBIDDEN = "您的账号无权查看或操作这项内容。如需办理，请联系上级管理员。"
STALE_FORM = "页面已过期，或不是从本站提交的。请返回上一页，刷新后再提交。"

# name -> does the operator's scope take in the thing with this id?
Check = Callable[[Session, Scope, int], bool]
TARGETS: dict[str, Check] = {}


def target(name: str) -> Callable[[Check], Check]:
    """Declare how a target named `name` (URL variable or form field, an id) is checked."""
    def register(check: Check) -> Check:
        if name in TARGETS:
            raise ValueError(f"console target {name} is declared twice")
        TARGETS[name] = check
        return check
    return register


def levels(*allowed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only operators of these levels use the view (default: every level)."""
    unknown = set(allowed) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown levels {unknown}")

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.console_levels = tuple(allowed)  # type: ignore[attr-defined]
        return view
    return mark


def upload(limit: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let the view take a body of up to `limit` bytes (the app's limit is WeChat's 64 KB)."""
    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.console_upload = limit  # type: ignore[attr-defined]
        return view
    return mark


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve the view without a session (signing in)."""
    view.console_public = True  # type: ignore[attr-defined]
    return view


def allowed_levels(view: Callable[..., Any]) -> tuple[str, ...]:
    """The levels a console view lets in."""
    return getattr(view, "console_levels", LEVELS)


def operator() -> Operator:
    """The signed-in operator of this request."""
    return g.console_operator


def scope() -> Scope:
    """The signed-in operator's scope."""
    return g.console_scope


def signed_in(db: Session) -> Operator | None:
    """The operator this request's console cookie belongs to, from any page (e.g. /sim)."""
    token = session.get("sid") if services().config.console.enabled else None
    return operator_for(db, token, services().clock()) if isinstance(token, str) else None


def forbidden() -> None:
    """Refuse: out of the operator's level or scope (403)."""
    abort(403, FORBIDDEN)


def init_app(app: Flask) -> None:
    """Register the console on the app: cookie settings, CSRF, proxies, the blueprint."""
    conf = services_of(app).config.console
    app.config.update(
        SECRET_KEY=conf.secret_key, SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=conf.secure_cookies,
        WTF_CSRF_CHECK_DEFAULT=False,  # only the console's forms; webhooks have signatures
        WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=True)
    if conf.trusted_proxies:
        n = conf.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.session_interface = CookieSessions()
    csrf.init_app(app)
    app.register_blueprint(bp)
    unchecked = unchecked_routes(app)
    if unchecked:
        raise RuntimeError(f"console routes {unchecked} name variables no @target checks")


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without making the signer for a request with no cookie.

    Flask makes it on every request before it looks for the cookie; a webhook call never
    carries one, and at hundreds of messages a second that was a few percent of each."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()  # what Flask gives a request without the cookie
        return super().open_session(app, request)


def unchecked_routes(app: Flask) -> list[str]:
    """Console routes with a URL variable that no target check covers (none may be)."""
    return [rule.rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("console.") and set(rule.arguments) - set(TARGETS)]


def services_of(app: Flask) -> Services:
    """The app's services (before any request)."""
    return app.extensions["linli"]


@bp.before_request
def _guard() -> Response | None:
    live = services()
    if not live.config.console.enabled:
        abort(404, CONSOLE_OFF)
    view = current_app_view()
    if getattr(view, "console_upload", None):
        request.max_content_length = view.console_upload  # type: ignore[union-attr]
        request.max_form_memory_size = view.console_upload  # type: ignore[union-attr]
    if request.method == "POST":
        csrf.protect()
    with live.sessions() as db:
        found = signed_in(db)
        if found is not None:
            g.console_scope = scope_of(db, found)
            g.console_operator_id = found.id
            g.console_operator_name = found.name
        db.commit()  # the session's last use (or its end when it went stale)
        if getattr(view, "console_public", False):
            return None
        if found is None:
            session.pop("sid", None)
            if request.method == "GET":
                return redirect(url_for("console.sign_in", next=request.path))
            abort(403, FORBIDDEN)
        g.console_operator = _detached(db, found)
        if found.level not in allowed_levels(view):
            forbidden()
        _check_targets(db, g.console_scope)
    return None


def current_app_view() -> Callable[..., Any] | None:
    """The view function this request goes to."""
    return current_app.view_functions.get(request.endpoint or "")


def _detached(db: Session, found: Operator) -> Operator:
    """The operator with what pages read loaded, usable after the session closes."""
    _ = found.estate, found.staff
    db.expunge_all()
    return found


def _check_targets(db: Session, reach: Scope) -> None:
    """403 unless every target the request names is in scope (see the module's note)."""
    named: list[tuple[str, Any]] = list((request.view_args or {}).items())
    named += [(k, v) for k in request.values for v in request.values.getlist(k)]
    for name, value in named:
        check = TARGETS.get(name)
        if check is None:
            continue
        if value in ("", None):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            abort(400, "请求里的编号不是数字。")
        if not check(db, reach, number):
            forbidden()


@target("estate")
def _estate_in_scope(db: Session, reach: Scope, number: int) -> bool:
    return db.get(Estate, number) is not None and reach.touches_estate(number)


@target("ticket")
def _ticket_in_scope(db: Session, reach: Scope, number: int) -> bool:
    found = db.get(Ticket, number)
    return found is not None and reach.covers_ticket(db, found)


target("other")(_ticket_in_scope)  # the second ticket of a merge


@target("staff")
def _staff_in_scope(db: Session, reach: Scope, number: int) -> bool:
    found = db.get(Staff, number)
    return found is not None and reach.covers_staff(db, found)


@target("message")
def _message_in_scope(db: Session, reach: Scope, number: int) -> bool:
    found = db.get(OutboxMessage, number)
    return found is not None and reach.touches_estate(message_estate(db, found)) \
        and reach.at_least("estate")


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A console page, with the operator and the navigation their level allows."""
    return render_template(template, me=g.get("console_operator"), nav=navigation(),
                           **context), status


# (endpoint, label): the console's areas, in the order the menu shows them
AREAS: list[tuple[str, str]] = []


def area(endpoint: str, label: str) -> None:
    """Put an area in the menu (shown to the levels its view allows)."""
    AREAS.append((endpoint, label))


def navigation() -> list[tuple[str, str]]:
    """The menu for the signed-in operator: the areas their level may open."""
    me = g.get("console_operator")
    if me is None:
        return []
    views = current_app.view_functions
    return [(url_for(endpoint), label) for endpoint, label in AREAS
            if endpoint in views and me.level in allowed_levels(views[endpoint])]


def audit(db: Session, *, action: str, target_name: str, estate_id: int | None, outcome: str,
          changes: dict[str, tuple[Any, Any]], at: Any = None) -> AuditEntry:
    """Record a console action: who (the signed-in operator), when, on what, what changed."""
    real = {k: [before, after] for k, (before, after) in changes.items() if before != after}
    entry = AuditEntry(at=at or services().clock(), operator_id=g.console_operator_id,
                       operator_name=g.console_operator_name, estate_id=estate_id, action=action,
                       target=target_name[:100], outcome=outcome,
                       changes=json.dumps(real, ensure_ascii=False, default=str), changed=bool(real))
    db.add(entry)
    return entry


@bp.errorhandler(CSRFError)
def _stale_form(_error: CSRFError) -> tuple[str, int]:
    return render("console/message.html", 400, title="无法提交", message=STALE_FORM)


@bp.errorhandler(403)
def _forbidden(error: Any) -> tuple[str, int]:
    return render("console/message.html", 403, title="无权访问",
                  message=getattr(error, "description", FORBIDDEN) or FORBIDDEN)


@bp.errorhandler(404)
def _not_found(error: Any) -> tuple[str, int]:
    return render("console/message.html", 404, title="没有找到",
                  message=getattr(error, "description", "") or "没有这个页面。")


@bp.errorhandler(400)
def _bad_request(error: Any) -> tuple[str, int]:
    return render("console/message.html", 400, title="请求有误",
                  message=getattr(error, "description", "") or "请求有误。")


# The pages register their routes on `bp` when imported (after the names above exist).
from web.console import auth, home, tickets, households, staff, outbox, audit_log  # noqa: E402,F401,I001
from web.console import market, votes, wecom_login, exports  # noqa: E402,F401
