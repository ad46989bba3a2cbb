"""The staff chat grammar for tickets: 接单, 回复, 完成, 升级, 退回, 合并, 待办 (see CONTRACT.md).

Each command is declared here with `@staff_command`; the help and the parsing are built
from the declarations (bot/commands.py).
"""
from __future__ import annotations

from bot import notify
from bot.commands import NUMBER, staff_command, ticket_refusal
from bot.replies.staff import (OVERDUE_MARK, STAFF_BAD_STATE, STAFF_CLAIMED, STAFF_ESCALATED,
                               STAFF_HANDED, STAFF_HANDED_ALREADY, STAFF_HANDED_NOT_THEIRS,
                               STAFF_HANDED_TO_YOU,
                               STAFF_MERGED, STAFF_MERGE_SELF, STAFF_NEED_TEXT, STAFF_NO_TICKET,
                               STAFF_REJECTED, STAFF_REPLIED, STAFF_RESOLVED, STAFF_TAKEN,
                               STAFF_TODO_EMPTY, STAFF_TODO_HEAD, STAFF_TODO_LINE, STAFF_TOP_LEVEL,
                               URGENT_MARK)
from bot.replies.tickets import (RESIDENT_CLAIMED, RESIDENT_ESCALATED, RESIDENT_HANDED, RESIDENT_MERGED,
                                 RESIDENT_REJECTED, RESIDENT_REPLY, RESIDENT_RESOLVED)
from bot.turn import StaffTurn
from models import Follower, Staff, Ticket, record, transition
from models.queue import held_at_level, may_act_on, overdue, todo as queue
from models.sla import restart_clock
from models.staff import LEVELS, LEVEL_NAMES
from models.tickets import OPEN_STATES, STATE_NAMES, TRANSITIONS

TODO_LIMIT = 20


def _refuse(ticket: Ticket, action: str) -> str:
    return STAFF_BAD_STATE.format(number=ticket.id, state=STATE_NAMES[ticket.state],
                                          action=action)


@staff_command("接单", usage="接单 #N", ticket=True)
def claim(turn: StaffTurn, ticket: Ticket, _rest: str) -> str:
    """Take the ticket; the resident hears who is on it."""
    if ticket.state == "claimed" and held_at_level(ticket):
        return STAFF_TAKEN.format(number=ticket.id, name=ticket.assignee.name)
    if ticket.state == "claimed":  # it climbed past its handler, or they left: this level takes it
        record(turn.session, ticket, actor=turn.actor, action="claimed", now=turn.now)
    elif "claimed" in TRANSITIONS[ticket.state]:
        transition(turn.session, ticket, "claimed", actor=turn.actor, now=turn.now)
    else:
        return _refuse(ticket, "接单")
    ticket.assignee = turn.staff
    ticket.first_response_at = ticket.first_response_at or turn.now
    notify.to_followers(turn.session, ticket, RESIDENT_CLAIMED.format(
        number=ticket.id, category=notify.category_name(ticket), name=turn.staff.name),
        event=f"claimed:{notify.event_count(turn.session, ticket)}", now=turn.now)
    due = turn.services.local(ticket.resolve_due_at).strftime("%m-%d %H:%M") \
        if ticket.resolve_due_at else "—"
    return STAFF_CLAIMED.format(number=ticket.id, due=due)


def hand_to(turn: StaffTurn, ticket: Ticket, member: Staff) -> str:
    """Give the ticket to a named staff member (the console's 转派; no chat word of its own).

    As 接单 done for them: the ticket is claimed in their name, they get its card, and the
    resident hears who handles it. They must be someone who may act on it themselves.
    """
    if ticket.state not in OPEN_STATES:
        return _refuse(ticket, "转派")
    if ticket.assignee_id == member.id and ticket.state == "claimed":
        return STAFF_HANDED_ALREADY.format(number=ticket.id, name=member.name)
    if not may_act_on(turn.session, member, ticket):
        return STAFF_HANDED_NOT_THEIRS.format(number=ticket.id, name=member.name)
    if ticket.state != "claimed":
        transition(turn.session, ticket, "claimed", actor=turn.actor, now=turn.now)
    record(turn.session, ticket, actor=turn.actor, action="reassigned", now=turn.now,
           note=member.name)
    ticket.assignee = member
    turn.session.flush()
    stage = notify.event_count(turn.session, ticket)
    notify.to_staff(turn.session, member, STAFF_HANDED_TO_YOU.format(
        by=turn.staff.name, number=ticket.id, card=notify.card(turn.services, ticket)),
        key=f"ticket:{ticket.id}:handed:{stage}:staff:{member.id}", now=turn.now, ticket=ticket)
    notify.to_followers(turn.session, ticket, RESIDENT_HANDED.format(
        number=ticket.id, category=notify.category_name(ticket), name=member.name),
        event=f"handed:{stage}", now=turn.now)
    return STAFF_HANDED.format(number=ticket.id, name=member.name)


@staff_command("回复", usage="回复 #N 内容", ticket=True, residents_too=True)
def reply(turn: StaffTurn, ticket: Ticket, text: str) -> str:
    """Pass the staff member's words to the resident."""
    if not text:
        return STAFF_NEED_TEXT.format(what="回复内容", example=f"回复 #{ticket.id} 明天上午来修")
    if ticket.state not in OPEN_STATES + ("resolved",):
        return _refuse(ticket, "回复")
    event = record(turn.session, ticket, actor=turn.actor, action="replied", now=turn.now, note=text)
    ticket.first_response_at = ticket.first_response_at or turn.now
    turn.session.flush()
    notify.to_followers(turn.session, ticket, RESIDENT_REPLY.format(
        number=ticket.id, name=turn.staff.name, text=text), event=f"reply:{event.id}", now=turn.now)
    return STAFF_REPLIED.format(number=ticket.id)


@staff_command("完成", usage="完成 #N [说明]", ticket=True)
def resolve(turn: StaffTurn, ticket: Ticket, note: str) -> str:
    """Mark the ticket fixed; its followers are asked to rate it."""
    if "resolved" not in TRANSITIONS[ticket.state]:
        return _refuse(ticket, "办结")
    transition(turn.session, ticket, "resolved", actor=turn.actor, now=turn.now, note=note or None)
    ticket.assignee = ticket.assignee or turn.staff
    ticket.first_response_at = ticket.first_response_at or turn.now
    notify.to_followers(turn.session, ticket, RESIDENT_RESOLVED.format(
        number=ticket.id, category=notify.category_name(ticket), note=f"：{note}" if note else ""),
        event=f"resolved:{notify.event_count(turn.session, ticket)}", now=turn.now)
    return STAFF_RESOLVED.format(number=ticket.id)


@staff_command("升级", usage="升级 #N [原因]", ticket=True)
def escalate(turn: StaffTurn, ticket: Ticket, reason: str) -> str:
    """Hand the ticket to the next level, which is told once with the history."""
    if ticket.state not in OPEN_STATES:
        return _refuse(ticket, "升级")
    if ticket.level == LEVELS[-1]:
        return STAFF_TOP_LEVEL.format(number=ticket.id)
    ticket.level = LEVELS[LEVELS.index(ticket.level) + 1]
    restart_clock(turn.services.config.sla, ticket, turn.now)
    record(turn.session, ticket, actor=turn.actor, action=f"escalated:{ticket.level}",
           now=turn.now, note=reason or None)
    turn.session.flush()
    notify.escalated(turn.services, turn.session, ticket, reason, turn.now)
    level = LEVEL_NAMES[ticket.level]
    notify.to_followers(turn.session, ticket, RESIDENT_ESCALATED.format(number=ticket.id, level=level),
                        event=f"escalated:{notify.event_count(turn.session, ticket)}", now=turn.now)
    return STAFF_ESCALATED.format(number=ticket.id, level=level)


@staff_command("退回", usage="退回 #N 原因", ticket=True)
def reject(turn: StaffTurn, ticket: Ticket, reason: str) -> str:
    """Refuse the ticket as not valid; the resident is told why."""
    if not reason:
        return STAFF_NEED_TEXT.format(what="退回原因", example=f"退回 #{ticket.id} 属于室内自修")
    if "rejected" not in TRANSITIONS[ticket.state]:
        return _refuse(ticket, "退回")
    transition(turn.session, ticket, "rejected", actor=turn.actor, now=turn.now, note=reason)
    notify.to_followers(turn.session, ticket, RESIDENT_REJECTED.format(number=ticket.id, reason=reason),
                        event=f"rejected:{notify.event_count(turn.session, ticket)}", now=turn.now)
    return STAFF_REJECTED.format(number=ticket.id)


@staff_command("合并", usage="合并 #N #M", ticket=True, help="合并 #N #M（把 #M 并入 #N）")
def merge(turn: StaffTurn, ticket: Ticket, rest: str) -> str:
    """Fold ticket #M into #N: everyone who followed #M follows #N."""
    match = NUMBER.match(rest)
    if not match:
        return STAFF_NEED_TEXT.format(what="要并入的工单", example=f"合并 #{ticket.id} #M")
    other = turn.session.get(Ticket, int(match.group(1)))
    if other is None:
        return STAFF_NO_TICKET.format(number=match.group(1))
    if other.id == ticket.id:
        return STAFF_MERGE_SELF
    refusal = ticket_refusal(turn, other)  # #M changes too: it must be mine as much as #N
    if refusal:
        return refusal
    if ticket.state not in OPEN_STATES + ("resolved",):
        return _refuse(ticket, "合并")
    if "merged" not in TRANSITIONS[other.state]:
        return _refuse(other, "合并")
    transition(turn.session, other, "merged", actor=turn.actor, now=turn.now, note=f"#{ticket.id}")
    other.merged_into_id = ticket.id
    record(turn.session, ticket, actor=turn.actor, action="absorbed", now=turn.now, note=f"#{other.id}")
    moved = _move_followers(turn, other, ticket)
    notify.to_followers(turn.session, other, RESIDENT_MERGED.format(
        number=ticket.id, other=other.id), event=f"merged:{ticket.id}", now=turn.now)
    return STAFF_MERGED.format(number=ticket.id, other=other.id, count=moved)


def _move_followers(turn: StaffTurn, source: Ticket, target: Ticket) -> int:
    present = {f.resident_id for f in target.followers}
    moved = 0
    for follower in source.followers:
        if follower.resident_id not in present:
            turn.session.add(Follower(ticket_id=target.id, resident_id=follower.resident_id,
                                      joined_at=turn.now, how="merged"))
            moved += 1
    return moved


@staff_command("待办", usage="待办", own=True)
def todo(turn: StaffTurn, _rest: str) -> str:
    """List the staff member's open tickets, overdue first."""
    tickets = queue(turn.session, turn.staff)
    if not tickets:
        return STAFF_TODO_EMPTY
    tickets.sort(key=lambda t: (not overdue(t, turn.now), t.resolve_due_at or turn.now, t.id))
    lines = [STAFF_TODO_LINE.format(
        number=t.id, urgent=URGENT_MARK if t.urgent else "", category=notify.category_name(t),
        place=notify.estate_prefix(t) + (notify.inline(t.place or "") or "—"), state=STATE_NAMES[t.state],
        overdue=OVERDUE_MARK if overdue(t, turn.now) else "") for t in tickets[:TODO_LIMIT]]
    return "\n".join([STAFF_TODO_HEAD.format(count=len(tickets)), *lines])
