"""Signing in to /console through WeCom (`[console] wecom_sign_in = true`): OAuth with the
`[wecom]` app. The browser goes to WeCom's authorize page with a one-time `state` kept in its
session; WeCom sends it back with a code, which the server exchanges at `[wecom] api_base_url`
`auth/getuserinfo` for the member's UserID. The operator is the one linked (`--staff`) to the
registered WeCom staff member of that UserID. A state that is missing, wrong or used, a bad code,
or a UserID no operator is linked to signs nobody in. A success starts a new session exactly as
a password does (web/console/auth.py): nothing from before survives.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from flask import g, redirect, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.services import current as services
from bot.wxapi import DeliveryError
from models import Staff
from models.console import Operator, close_session, open_session
from web.console import audit, bp, public, render
from web.console.scope import home_estate

AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
STATE = "wecom_state"
SIGNED_IN_WECOM = "通过企业微信登录"
WECOM_OFF = "本系统没有开通企业微信登录，请用用户名和密码登录。"
WECOM_STALE = "企业微信登录已过期或不是从本站发起的，请回到登录页重新点击“企业微信登录”。"
WECOM_FAILED = "企业微信没有确认您的身份，请回到登录页重试，或用用户名和密码登录。"
WECOM_UNKNOWN = "您的企业微信账号没有开通控制台。请联系管理员用 flask console add-operator --staff 关联您的账号。"


def _on() -> bool:
    conf = services().config
    return conf.console.wecom_sign_in and conf.wecom.ready and conf.wecom.agent_id is not None


@bp.app_context_processor
def _login_options() -> dict[str, bool]:
    return {"wecom_sign_in": _on()}


@bp.get("/login/wecom")
@public
def wecom_sign_in() -> Response | tuple[str, int]:
    """Send the browser to WeCom to say who it is, with a fresh one-time state."""
    if not _on():
        return _refuse(404, "没有开通", WECOM_OFF)
    conf = services().config
    state = secrets.token_urlsafe(24)
    session[STATE] = state
    query = urlencode({"appid": conf.wecom.corp_id, "redirect_uri": _callback(),
                       "response_type": "code", "scope": "snsapi_base", "state": state,
                       "agentid": conf.wecom.agent_id})
    return redirect(f"{AUTHORIZE}?{query}#wechat_redirect")


@bp.get("/login/wecom/callback")
@public
def wecom_callback() -> Response | tuple[str, int]:
    """Take WeCom's code back: check the state, ask WeCom whose it is, sign that operator in."""
    if not _on():
        return _refuse(404, "没有开通", WECOM_OFF)
    expected, given = session.pop(STATE, None), request.args.get("state", "")
    code = request.args.get("code", "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), given.encode()):
        return _refuse(400, "无法登录", WECOM_STALE)
    if not code or len(code) > 512 or not code.isprintable():
        return _refuse(400, "无法登录", WECOM_FAILED)
    live = services()
    try:
        user_id = live.wecom.user_from_code(code)
    except DeliveryError:
        return _refuse(403, "无法登录", WECOM_FAILED)
    with live.transaction() as db:
        found = db.scalar(select(Operator).join(Staff, Operator.staff_id == Staff.id).where(
            Staff.channel == "wecom", Staff.user_id == user_id)) if user_id else None
        if found is None:
            return _refuse(403, "无法登录", WECOM_UNKNOWN)
        old = session.get("sid")
        if isinstance(old, str):
            close_session(db, old)
        token = open_session(db, found, live.clock())
        g.console_operator_id, g.console_operator_name = found.id, found.name
        audit(db, action="sign_in", target_name=request.remote_addr or "unknown",
              estate_id=home_estate(db, found), outcome=SIGNED_IN_WECOM, changes={})
    session.clear()  # no fixation: nothing from before sign-in survives
    session["sid"] = token
    return redirect(url_for("console.home"))


def _refuse(status: int, title: str, message: str) -> tuple[str, int]:
    return render("console/message.html", status, title=title, message=message)


def _callback() -> str:
    """Where WeCom sends the browser back: under `[server] public_url` (the app's trusted domain)."""
    return f"{services().config.server.base_url}console/login/wecom/callback"
