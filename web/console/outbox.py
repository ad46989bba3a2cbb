"""/console/outbox: outbound messages that gave up, and retrying them (as `flask outbox retry`)."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot import outbox as delivery
from bot.services import Services, current as services
from models import OutboxMessage
from web.console import area, audit, bp, levels, render, scope
from web.console.scope import message_estate

SHOWN = 300
CHANNEL_NAMES = {"wechat": "居民（公众号）", "wecom_app": "工作人员（企业微信）",
                 "wecom_group": "工作群", "wecom_bot": "工作群（智能机器人）"}
RETRIED = "已重新发送 {count} 条消息，稍后刷新可看结果。"
NONE_CHOSEN = "请至少勾选一条消息。"


@bp.get("/outbox")
@levels("estate", "community", "street")
def outbox_page() -> tuple[str, int]:
    """Failed messages about the operator's estates, newest first."""
    live, reach = services(), scope()
    with live.sessions() as db:
        failed = db.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed")
                            .order_by(OutboxMessage.id.desc()).limit(SHOWN))
        rows = [_row(live, m) for m in failed if reach.touches_estate(message_estate(db, m))]
    return render("console/outbox.html", rows=rows, limit=SHOWN)


@bp.post("/outbox/retry")
@levels("estate", "community", "street")
def outbox_retry() -> Response:
    """Retry the chosen failed messages (each one checked against the scope as `message`)."""
    ids = [int(v) for v in request.form.getlist("message") if v.isdigit()]
    if not ids:
        flash(NONE_CHOSEN, "error")
        return redirect(url_for("console.outbox_page"), 303)
    live = services()
    with live.transaction() as db:
        retried = delivery.retry(db, ids, live.clock())
        for m in retried:
            audit(db, action="outbox:retry", target_name=f"消息 {m.id}",
                  estate_id=message_estate(db, m), outcome=RETRIED.format(count=1),
                  changes={"status": ("failed", "pending")})
        count = len(retried)
    flash(RETRIED.format(count=count), "ok")
    return redirect(url_for("console.outbox_page"), 303)


def _row(live: Services, m: OutboxMessage) -> dict[str, Any]:
    return {"id": m.id, "channel": CHANNEL_NAMES.get(m.channel, m.channel),
            "to": _masked(m.recipient, m.channel), "body": m.body[:120],
            "tries": m.attempts, "error": (m.last_error or "")[:200],
            "ticket": m.ticket_id, "at": live.local(m.created_at).strftime("%m-%d %H:%M")}


def _masked(recipient: str, channel: str) -> str:
    """Who it was for, without a robot's key or a resident's whole openid."""
    if channel == "wecom_group":
        return recipient if "://" not in recipient else "（机器人地址）"
    return recipient if channel == "wecom_app" else f"…{recipient[-6:]}"


area("console.outbox_page", "发送失败的消息")
