"""Signing in and out of /console.

A right password starts a new session: the cookie's old contents (and its CSRF token) are
dropped and a fresh random session id is issued, so an id planted before sign-in is worth
nothing after it. Too many failures lock the name, and the address, for a while, whatever
worker answers (the failures are rows). Signing out deletes the session's row.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.services import current as services
from models.console import (WINDOW, Operator, check_password, close_session, failed, locked,
                            open_session, succeeded)
from web.console import audit, bp, operator, public, render
from web.console.scope import home_estate

SIGN_IN_WRONG = "用户名或密码不对，请重新输入。"
SIGN_IN_LOCKED = "登录失败次数过多，已暂时锁定。请 {minutes} 分钟后再试，或联系管理员。"
SIGN_IN_EMPTY = "请填写用户名和密码。"
SIGNED_OUT = "您已退出登录。"
SIGNED_IN = "登录成功。"


@bp.get("/login")
@public
def sign_in() -> tuple[str, int] | Response:
    """The sign-in form (or home, when already signed in)."""
    if g.get("console_operator_id") is not None:
        return redirect(url_for("console.home"))
    return render("console/login.html", next=_next(), notice=request.args.get("bye") and SIGNED_OUT)


@bp.post("/login")
@public
def sign_in_post() -> tuple[str, int] | Response:
    """Check the name and password; on success start a new session."""
    name = request.form.get("name", "").strip()[:50]
    password = request.form.get("password", "")[:200]
    if not name or not password:
        return render("console/login.html", 400, next=_next(), error=SIGN_IN_EMPTY, name=name)
    live = services()
    now, address = live.clock(), request.remote_addr or "unknown"
    with live.transaction() as db:
        if locked(db, name, address, now):
            return render("console/login.html", 429, next=_next(), name=name,
                          error=SIGN_IN_LOCKED.format(minutes=int(WINDOW.total_seconds() // 60)))
        found = db.scalar(select(Operator).where(Operator.name == name))
        if not check_password(found, password) or found is None:
            failed(db, name, address, now)
            return render("console/login.html", 401, next=_next(), error=SIGN_IN_WRONG, name=name)
        succeeded(db, name)
        old = session.get("sid")
        if isinstance(old, str):
            close_session(db, old)
        token = open_session(db, found, now)
        g.console_operator_id, g.console_operator_name = found.id, found.name
        audit(db, action="sign_in", target_name=address, estate_id=home_estate(db, found),
              outcome=SIGNED_IN, changes={}, at=now)
    session.clear()  # no fixation: nothing from before sign-in survives, the CSRF token neither
    session["sid"] = token
    return redirect(_next() or url_for("console.home"))


@bp.post("/logout")
def sign_out() -> Response:
    """End the session for good (its row goes), and forget the cookie."""
    token = session.get("sid")
    with services().transaction() as db:
        if isinstance(token, str):
            close_session(db, token)
        audit(db, action="sign_out", target_name=request.remote_addr or "unknown",
              estate_id=home_estate(db, operator()), outcome=SIGNED_OUT, changes={})
    session.clear()
    return redirect(url_for("console.sign_in", bye=1))


def _next() -> str | None:
    """Where to go after signing in: a console path on this server, nothing else."""
    wanted = request.values.get("next", "")
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or not wanted.startswith("/console") or "\\" in wanted:
        return None
    return wanted
