"""/console/tickets: the queue (filters, overdue first) and one ticket's actions.

The actions are the staff chat commands, run through their registry (bot/commands.py) as the
operator's linked staff member: the same checks, the same events, the same people told.
Only 转派 (hand to a named staff member) has no chat word; it is bot.handlers.staff.hand_to.
"""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import bot.handlers  # noqa: F401  (registers the staff commands)
from bot import notify
from bot.commands import STAFF_COMMANDS, ticket_refusal
from bot.handlers.staff import hand_to
from bot.services import Services, current as services
from bot.turn import StaffTurn
from models import Staff, Ticket
from models.categories import CATEGORIES, category_name
from models.queue import overdue
from models.staff import LEVEL_NAMES
from models.tickets import OPEN_STATES, STATE_NAMES
from web.console import area, audit, bp, forbidden, operator, render, scope
from web.console.scope import estates_in, ticket_estate, ticket_estate_clause

QUEUE_LIMIT = 300
TEXT_LIMIT = 500
# the form's `do` -> the chat command it runs, and how the command is written
COMMANDS = {"claim": "接单 #{n}", "reply": "回复 #{n} {text}", "done": "完成 #{n} {text}",
            "reject": "退回 #{n} {text}", "escalate": "升级 #{n} {text}",
            "merge": "合并 #{n} #{other}", "recategorise": "改类 #{n} {category}"}
ACTION_NAMES = {"claim": "接单", "reply": "回复", "done": "完成", "reject": "退回",
                "escalate": "升级", "merge": "合并", "recategorise": "改类", "reassign": "转派"}
NO_STAFF = ("您的账号还没有关联工作人员身份，只能查看工单。请管理员用 "
            "flask console add-operator --staff 关联后再办理。")
BAD_ACTION = "请选择要办理的操作。"
WATCHED = ("state", "level", "category", "assignee", "merged_into_id")


@bp.get("/tickets")
def ticket_queue() -> tuple[str, int]:
    """The tickets in scope, filtered, overdue first."""
    live, reach = services(), scope()
    state = request.args.get("state", "active")
    category = request.args.get("category", "")
    building = request.args.get("building", "").strip()[:16]
    estate = request.args.get("estate", type=int)  # the guard has checked it is in scope
    with live.sessions() as db:
        query = select(Ticket).where(reach.ticket_clause(db)).order_by(Ticket.id.desc())
        if estate is not None:
            query = query.where(ticket_estate_clause(db, frozenset({estate})))
        if state == "active":
            query = query.where(Ticket.state.in_(OPEN_STATES))
        elif state in STATE_NAMES:
            query = query.where(Ticket.state == state)
        if category:
            query = query.where(Ticket.category == category)
        if building:
            query = query.where(Ticket.building == building)
        now = live.clock()
        found = list(db.scalars(query.limit(QUEUE_LIMIT)))
        found.sort(key=lambda t: (not (t.state in OPEN_STATES and overdue(t, now)),
                                  _due(t) or now, t.id))
        rows = [_row(live, t, now) for t in found]
        estates = {e.id: e.name for e in estates_in(db, reach)}
    return render("console/tickets.html", rows=rows, state=state, category=category,
                  building=building, estate=estate, states=STATE_NAMES, categories=CATEGORIES,
                  estates=estates, limit=QUEUE_LIMIT)


@bp.get("/tickets/<int:ticket>")
def ticket_page(ticket: int) -> tuple[str, int]:
    """One ticket: its words, its history, and the actions."""
    live = services()
    with live.sessions() as db:
        found = db.get(Ticket, ticket)
        if found is None:  # pragma: no cover - the guard found it
            forbidden()
        detail = _row(live, found, live.clock()) | {
            "text": found.text, "history": notify.history(live, db, found).splitlines(),
            "followers": len(found.followers)}
        colleagues = _colleagues(db, found)
    return render("console/ticket.html", t=detail, colleagues=colleagues,
                  categories=CATEGORIES, can_act=operator().staff_id is not None)


@bp.post("/tickets/<int:ticket>")
def ticket_action(ticket: int) -> Response:
    """Run one action on the ticket as the operator's staff member, and record it."""
    do = request.form.get("do", "")
    if do not in COMMANDS and do != "reassign":
        return _back(ticket, "error", BAD_ACTION)
    me = operator()
    if me.staff_id is None:
        return _back(ticket, "error", NO_STAFF)
    live = services()
    with live.transaction() as db:
        found = db.get(Ticket, ticket)
        member = db.get(Staff, me.staff_id)
        if found is None:  # pragma: no cover - the guard found it
            forbidden()
        if member is None:  # removed since the page was read
            return _back(ticket, "error", NO_STAFF)
        before = _watched(found)
        turn = StaffTurn(db, member, live.clock(), live)
        said = _run(db, turn, found, do, request.form)
        db.flush()
        after = _watched(found)
        audit(db, action=f"ticket:{do}", target_name=f"#{found.id}",
              estate_id=ticket_estate(db, found), outcome=said,
              changes={k: (before[k], after[k]) for k in WATCHED} | _other_changes(db, do),
              at=turn.now)
    return _back(ticket, "ok" if before != after or do == "reply" else "error", said)


def _run(db: Session, turn: StaffTurn, found: Ticket, do: str, form: Any) -> str:
    """Say the chat command for the action (or hand the ticket over), and return the answer."""
    if do == "reassign":
        chosen = db.get(Staff, form.get("staff", type=int) or 0)
        if chosen is None:
            return "请选择要转派给谁。"
        # the one who hands over must be one who may act on it, as for any ticket command
        return ticket_refusal(turn, found) or hand_to(turn, found, chosen)
    text = " ".join(str(form.get("text", "")).split())[:TEXT_LIMIT]
    said = COMMANDS[do].format(n=found.id, text=text, other=form.get("other", type=int) or "",
                               category=str(form.get("category", ""))[:32]).strip()
    parsed = STAFF_COMMANDS.parse(said)
    if parsed is None:  # pragma: no cover - COMMANDS holds registered words
        return BAD_ACTION
    return STAFF_COMMANDS.run(turn, *parsed)


def _other_changes(db: Session, do: str) -> dict[str, tuple[Any, Any]]:
    """What an action changed besides the ticket itself: a merge's second ticket."""
    if do != "merge":
        return {}
    other = db.get(Ticket, request.form.get("other", type=int) or 0)
    return {"other": (None, f"#{other.id} {other.state}")} if other is not None else {}


def _watched(ticket: Ticket) -> dict[str, Any]:
    """What the audit log compares before and after an action (the handler by name)."""
    return {"state": ticket.state, "level": ticket.level, "category": ticket.category,
            "assignee": ticket.assignee.name if ticket.assignee else None,
            "merged_into_id": ticket.merged_into_id}


def _colleagues(db: Session, ticket: Ticket) -> list[dict[str, Any]]:
    """The staff the operator may hand the ticket to (their scope's, at or below their level)."""
    reach = scope()
    return [{"id": m.id, "label": f"{m.name} · {LEVEL_NAMES[m.role]}"}
            for m in db.scalars(select(Staff).order_by(Staff.role, Staff.id))
            if reach.covers_staff(db, m)]


def _due(t: Ticket) -> Any:
    """The deadline the ticket is held to now (as models.queue.overdue reads it)."""
    return t.response_due_at if t.assignee_id is None else t.resolve_due_at


def _row(live: Services, t: Ticket, now: Any) -> dict[str, Any]:
    due = _due(t)
    return {"id": t.id, "category": category_name(t.category) if t.kind == "problem" else "建议",
            "place": t.place or (f"{t.building}栋" if t.building else "—"),
            "state": STATE_NAMES.get(t.state, t.state), "level": LEVEL_NAMES.get(t.level, t.level),
            "assignee": t.assignee.name if t.assignee else "—", "urgent": t.urgent,
            "overdue": t.state in OPEN_STATES and overdue(t, now),
            "due": live.local(due).strftime("%m-%d %H:%M") if due else "—",
            "created": live.local(t.created_at).strftime("%m-%d %H:%M")}


def _back(ticket: int, kind: str, said: str) -> Response:
    flash(said, kind)
    return redirect(url_for("console.ticket_page", ticket=ticket), 303)


area("console.ticket_queue", "工单")
