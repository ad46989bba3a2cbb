"""/console/audit: every console action, who did it, when, and what changed (estate level and up)."""
from __future__ import annotations

import json

from flask import request
from sqlalchemy import or_, select

from bot.services import current as services
from models.console import AuditEntry
from web.console import area, bp, levels, render, scope

PAGE = 100


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
                 "action": e.action, "target": e.target, "outcome": e.outcome,
                 "changes": json.loads(e.changes or "{}")} for e in db.scalars(query)]
    return render("console/audit.html", rows=rows)


area("console.audit_page", "操作记录")
