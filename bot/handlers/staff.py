"""The staff chat grammar: 接单, 回复, 完成, 升级, 退回, 合并, 待办 (see CONTRACT.md),
and 确认绑定, 拒绝绑定, 发起征集, 通知 全体."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot import notify, replies
from bot.handlers import bind, market, vote
from bot.services import Services
from models import Follower, Staff, Ticket, board, record, transition
from models.sla import restart_clock
from models.staff import LEVELS, Coverage, most_specific
from models.tickets import OPEN_STATES, TRANSITIONS

COMMAND = re.compile(r"^\s*(\S{2})\s*(.*)$", re.S)
NUMBER = re.compile(r"^#?\s*(\d{1,9})\s*(.*)$", re.S)
TODO_LIMIT = 20


@dataclass
class StaffTurn:
    """One staff message: the session, who wrote, when, and the services."""

    session: Session
    staff: Staff
    now: datetime
    services: Services

    @property
    def actor(self) -> str:
        """Return how this staff member appears in a ticket's event log."""
        return f"{replies.LEVEL_NAMES[self.staff.role]}·{self.staff.name}"


def command_of(text: str) -> tuple[str, str] | None:
    """Return (command, the rest) when the text is a staff command."""
    text = unicodedata.normalize("NFKC", text)
    for word, command in replies.MORE_STAFF_COMMANDS.items():  # four characters, before the two
        if text.lstrip().startswith(word):
            return command, text.lstrip()[len(word):].strip()
    match = COMMAND.match(text)
    if not match or match.group(1) not in replies.STAFF_COMMANDS:
        return None
    return replies.STAFF_COMMANDS[match.group(1)], match.group(2).strip()


def handle(turn: StaffTurn, command: str, rest: str) -> str:
    """Run one staff command and say what happened."""
    if command == "todo":
        return todo(turn)
    if command in NOT_TICKETS:
        return NOT_TICKETS[command](turn, rest)
    match = NUMBER.match(rest)
    if not match:
        return replies.STAFF_HELP
    ticket = turn.session.get(Ticket, int(match.group(1)))
    if ticket is None:
        return replies.STAFF_NO_TICKET.format(number=match.group(1))
    return ACTIONS[command](turn, ticket, match.group(2).strip())


def _refuse(ticket: Ticket, action: str) -> str:
    return replies.STAFF_BAD_STATE.format(number=ticket.id, state=replies.STATE_NAMES[ticket.state],
                                          action=action)


def claim(turn: StaffTurn, ticket: Ticket, _rest: str) -> str:
    """Take the ticket; the resident hears who is on it."""
    if ticket.state == "claimed" and _held_at_level(ticket):
        return replies.STAFF_TAKEN.format(number=ticket.id, name=ticket.assignee.name)
    if ticket.state == "claimed":  # it climbed past its handler, or they left: this level takes it
        record(turn.session, ticket, actor=turn.actor, action="claimed", now=turn.now)
    elif "claimed" in TRANSITIONS[ticket.state]:
        transition(turn.session, ticket, "claimed", actor=turn.actor, now=turn.now)
    else:
        return _refuse(ticket, "接单")
    ticket.assignee = turn.staff
    ticket.first_response_at = ticket.first_response_at or turn.now
    notify.to_followers(turn.session, ticket, replies.RESIDENT_CLAIMED.format(
        number=ticket.id, category=notify.category_name(ticket), name=turn.staff.name),
        event=f"claimed:{len(ticket.events)}", now=turn.now)
    due = turn.services.local(ticket.resolve_due_at).strftime("%m-%d %H:%M") \
        if ticket.resolve_due_at else "—"
    return replies.STAFF_CLAIMED.format(number=ticket.id, due=due)


def _held_at_level(ticket: Ticket) -> bool:
    """Whether someone of the ticket's current level is handling it."""
    return ticket.assignee is not None and ticket.assignee.role == ticket.level


def reply(turn: StaffTurn, ticket: Ticket, text: str) -> str:
    """Pass the staff member's words to the resident."""
    if not text:
        return replies.STAFF_NEED_TEXT.format(what="回复内容", example=f"回复 #{ticket.id} 明天上午来修")
    if ticket.state not in OPEN_STATES + ("resolved",):
        return _refuse(ticket, "回复")
    event = record(turn.session, ticket, actor=turn.actor, action="replied", now=turn.now, note=text)
    ticket.first_response_at = ticket.first_response_at or turn.now
    turn.session.flush()
    notify.to_followers(turn.session, ticket, replies.RESIDENT_REPLY.format(
        number=ticket.id, name=turn.staff.name, text=text), event=f"reply:{event.id}", now=turn.now)
    return replies.STAFF_REPLIED.format(number=ticket.id)


def resolve(turn: StaffTurn, ticket: Ticket, note: str) -> str:
    """Mark the ticket fixed; its followers are asked to rate it."""
    if "resolved" not in TRANSITIONS[ticket.state]:
        return _refuse(ticket, "办结")
    transition(turn.session, ticket, "resolved", actor=turn.actor, now=turn.now, note=note or None)
    ticket.assignee = ticket.assignee or turn.staff
    ticket.first_response_at = ticket.first_response_at or turn.now
    notify.to_followers(turn.session, ticket, replies.RESIDENT_RESOLVED.format(
        number=ticket.id, category=notify.category_name(ticket), note=f"：{note}" if note else ""),
        event=f"resolved:{len(ticket.events)}", now=turn.now)
    return replies.STAFF_RESOLVED.format(number=ticket.id)


def escalate(turn: StaffTurn, ticket: Ticket, reason: str) -> str:
    """Hand the ticket to the next level, which is told once with the history."""
    if ticket.state not in OPEN_STATES:
        return _refuse(ticket, "升级")
    if ticket.level == LEVELS[-1]:
        return replies.STAFF_TOP_LEVEL.format(number=ticket.id)
    ticket.level = LEVELS[LEVELS.index(ticket.level) + 1]
    restart_clock(turn.services.config, ticket, turn.now)
    record(turn.session, ticket, actor=turn.actor, action=f"escalated:{ticket.level}",
           now=turn.now, note=reason or None)
    turn.session.flush()
    notify.escalated(turn.services, turn.session, ticket, reason, turn.now)
    level = replies.LEVEL_NAMES[ticket.level]
    notify.to_followers(turn.session, ticket, replies.RESIDENT_ESCALATED.format(
        number=ticket.id, level=level), event=f"escalated:{len(ticket.events)}", now=turn.now)
    return replies.STAFF_ESCALATED.format(number=ticket.id, level=level)


def reject(turn: StaffTurn, ticket: Ticket, reason: str) -> str:
    """Refuse the ticket as not valid; the resident is told why."""
    if not reason:
        return replies.STAFF_NEED_TEXT.format(what="退回原因", example=f"退回 #{ticket.id} 属于室内自修")
    if "rejected" not in TRANSITIONS[ticket.state]:
        return _refuse(ticket, "退回")
    transition(turn.session, ticket, "rejected", actor=turn.actor, now=turn.now, note=reason)
    notify.to_followers(turn.session, ticket, replies.RESIDENT_REJECTED.format(
        number=ticket.id, reason=reason), event=f"rejected:{len(ticket.events)}", now=turn.now)
    return replies.STAFF_REJECTED.format(number=ticket.id)


def merge(turn: StaffTurn, ticket: Ticket, rest: str) -> str:
    """Fold ticket #M into #N: everyone who followed #M follows #N."""
    match = NUMBER.match(rest)
    if not match:
        return replies.STAFF_NEED_TEXT.format(what="要并入的工单", example=f"合并 #{ticket.id} #M")
    other = turn.session.get(Ticket, int(match.group(1)))
    if other is None:
        return replies.STAFF_NO_TICKET.format(number=match.group(1))
    if other.id == ticket.id:
        return replies.STAFF_MERGE_SELF
    if ticket.state not in OPEN_STATES + ("resolved",):
        return _refuse(ticket, "合并")
    if "merged" not in TRANSITIONS[other.state]:
        return _refuse(other, "合并")
    transition(turn.session, other, "merged", actor=turn.actor, now=turn.now, note=f"#{ticket.id}")
    other.merged_into_id = ticket.id
    record(turn.session, ticket, actor=turn.actor, action="absorbed", now=turn.now, note=f"#{other.id}")
    moved = _move_followers(turn, other, ticket)
    notify.to_followers(turn.session, other, replies.RESIDENT_MERGED.format(
        number=ticket.id, other=other.id), event=f"merged:{ticket.id}", now=turn.now)
    return replies.STAFF_MERGED.format(number=ticket.id, other=other.id, count=moved)


def _move_followers(turn: StaffTurn, source: Ticket, target: Ticket) -> int:
    present = {f.resident_id for f in target.followers}
    moved = 0
    for follower in source.followers:
        if follower.resident_id not in present:
            turn.session.add(Follower(ticket_id=target.id, resident_id=follower.resident_id,
                                      joined_at=turn.now, how="merged"))
            moved += 1
    return moved


def todo(turn: StaffTurn) -> str:
    """List the staff member's open tickets, overdue first."""
    tickets = _queue(turn.session, turn.staff)
    if not tickets:
        return replies.STAFF_TODO_EMPTY
    tickets.sort(key=lambda t: (not _overdue(t, turn.now), t.resolve_due_at or turn.now, t.id))
    lines = [replies.STAFF_TODO_LINE.format(
        number=t.id, urgent=replies.URGENT_MARK if t.urgent else "", category=notify.category_name(t),
        place=t.place or "—", state=replies.STATE_NAMES[t.state],
        overdue=replies.OVERDUE_MARK if _overdue(t, turn.now) else "") for t in tickets[:TODO_LIMIT]]
    return "\n".join([replies.STAFF_TODO_HEAD.format(count=len(tickets)), *lines])


def _queue(session: Session, me: Staff) -> list[Ticket]:
    """The open tickets assigned to me, or at my level, not held there, in a place I answer for.

    The same tickets as asking `notify.level_staff` of every open ticket, but the database
    narrows them first (models/indexes.py): only my level's unheld tickets in my buildings
    (or, with no coverage of my own, in buildings nobody of my level covers whole), so a
    street's million tickets cost a few hundred rows. The exact rule is then applied here.
    """
    mine = {c.building for c in me.coverage}
    colleagues = select(Staff.id).where(Staff.role == me.role)
    bare = set(session.scalars(colleagues.where(~Staff.coverage.any())))
    if mine:
        place = Ticket.building.in_(mine)
        if not bare:  # with nobody uncovered, a ticket with no building goes to everyone
            place = or_(place, Ticket.building.is_(None))
    else:
        whole = select(Coverage.building).join(Staff).where(Staff.role == me.role, Coverage.unit.is_(None))
        place = or_(Ticket.building.is_(None), Ticket.building.not_in(whole))
    unheld = or_(Ticket.assignee_id.is_(None), Ticket.assignee_id.not_in(colleagues))
    found = session.scalars(select(Ticket).where(
        Ticket.state.in_(OPEN_STATES),
        or_(Ticket.assignee_id == me.id, and_(Ticket.level == me.role, unheld, place)))).all()
    scores = _scores(session, me.role, {t.building for t in found if t.building is not None})
    return [t for t in found if t.assignee_id == me.id or _answers_for(me, t, me.id in bare, bool(bare), scores)]


def _scores(session: Session, role: str, buildings: set[str]) -> dict[str, list[tuple[int, Coverage]]]:
    """Building -> (staff id, coverage) of the staff of a level, for the buildings asked about."""
    found: dict[str, list[tuple[int, Coverage]]] = {}
    if buildings:
        for staff_id, cover in session.execute(select(Coverage.staff_id, Coverage).join(Staff).where(
                Staff.role == role, Coverage.building.in_(buildings))):
            found.setdefault(cover.building, []).append((staff_id, cover))
    return found


def _answers_for(me: Staff, ticket: Ticket, me_bare: bool, any_bare: bool,
                 scores: dict[str, list[tuple[int, Coverage]]]) -> bool:
    """Whether `covering` would name me for the ticket (models/staff.py), and my categories fit."""
    if ticket.building is None:
        named = me_bare or not any_bare
    else:
        fitting = most_specific(scores.get(ticket.building, []), ticket.building, ticket.unit,
                                ticket.room)
        named = me.id in fitting if fitting else me_bare
    return named and (ticket.level != "property" or me.handles(ticket.category))


def _overdue(ticket: Ticket, now: datetime) -> bool:
    due = ticket.response_due_at if ticket.assignee_id is None else ticket.resolve_due_at
    return due is not None and due < now


def publish(turn: StaffTurn, ticket: Ticket, _rest: str) -> str:
    """Put the resident's words on the public board, phones, rooms and registered names hidden."""
    if not board.set_published(turn.session, ticket, True, replies.SCRUB_MASKS, actor=turn.actor,
                               now=turn.now):
        return replies.STAFF_PUBLISH_SAME.format(number=ticket.id, state=replies.PUBLISH_STATES[True])
    return replies.STAFF_PUBLISHED.format(number=ticket.id, text=ticket.public_text)


def unpublish(turn: StaffTurn, ticket: Ticket, _rest: str) -> str:
    """Take the resident's words off the public board."""
    if not board.set_published(turn.session, ticket, False, replies.SCRUB_MASKS, actor=turn.actor,
                               now=turn.now):
        return replies.STAFF_PUBLISH_SAME.format(number=ticket.id, state=replies.PUBLISH_STATES[False])
    return replies.STAFF_UNPUBLISHED.format(number=ticket.id)


ACTIONS: dict[str, Callable[[StaffTurn, Ticket, str], str]] = {
    "claim": claim, "reply": reply, "resolve": resolve, "escalate": escalate,
    "reject": reject, "merge": merge, "publish": publish, "unpublish": unpublish,
}

# Commands about bindings and votes: they name a home or a title, not a ticket.
NOT_TICKETS: dict[str, Callable[[StaffTurn, str], str]] = {
    "confirm_binding": bind.confirm_binding, "reject_binding": bind.reject_binding,
    "open_consultation": vote.open_consultation, "notice": market.staff_notice,
}
