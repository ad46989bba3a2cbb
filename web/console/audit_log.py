"""/console/audit: every console action, who did it, when, and what changed (estate level and up)."""
from __future__ import annotations

import json

from flask import request
from sqlalchemy import or_, select

from bot.services import current as services
from models.console import AuditEntry
from web.console import area, bp, levels, render, scope

PAGE = 100
ACTIONS = {"sign_in": "登录", "sign_out": "退出", "households:import": "导入住户名册",
           "staff:add": "登记工作人员", "staff:edit": "修改工作人员", "staff:remove": "移除工作人员",
           "outbox:retry": "重发消息", "ticket:claim": "工单·接单", "ticket:reply": "工单·回复",
           "ticket:done": "工单·完成", "ticket:reject": "工单·退回", "ticket:escalate": "工单·升级",
           "ticket:merge": "工单·合并", "ticket:recategorise": "工单·改类",
           "ticket:reassign": "工单·转派"}  # others (a page's own) are shown as recorded
FIELDS = {"state": "状态", "level": "层级", "category": "类别", "assignee": "处理人",
          "merged_into_id": "并入工单", "other": "被并入的工单", "homes": "住户数", "created": "新增",
          "updated": "更新", "removed": "删除", "name": "姓名", "role": "层级", "coverage": "负责范围",
          "categories": "负责类别", "status": "发送状态"}


@bp.get("/audit")
@levels("estate", "community", "street")
def audit_page() -> tuple[str, int]:
    """The latest console actions in the operator's estates, newest first."""
    reach = scope()
    estate = request.args.get("estate", type=int)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE)
    if estate is not None:
        query = query.where(AuditEntry.estate_id == estate)
    elif reach.level == "street":  # what names no estate (a group's message) is the street's
        query = query.where(or_(AuditEntry.estate_id.in_(sorted(reach.estate_ids)),
                                AuditEntry.estate_id.is_(None)))
    else:
        query = query.where(AuditEntry.estate_id.in_(sorted(reach.estate_ids)))
    live = services()
    with live.sessions() as db:
        rows = [{"at": live.local(e.at).strftime("%Y-%m-%d %H:%M"), "who": e.operator_name,
                 "action": ACTIONS.get(e.action, e.action), "target": e.target, "outcome": e.outcome,
                 "changes": {FIELDS.get(k, k): v for k, v in json.loads(e.changes or "{}").items()}}
                for e in db.scalars(query)]
    return render("console/audit.html", rows=rows)


area("console.audit_page", "操作记录")
