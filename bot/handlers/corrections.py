"""Staff correct what the engine misread: 改类 #N 类别, 不是报修 #N [原因] (CONTRACT.md).

Each correction changes the ticket, is logged on it, and is kept as a labelled example
(models/corrections.py) for the engine's corpus. Both are ticket commands like 接单, so the
registry's scope check applies to them as to the others.
"""
from __future__ import annotations

from intents import parse, parse_as
from bot import answers, notify
from bot.commands import staff_command
from bot.replies.staff import (STAFF_BAD_STATE, STAFF_NEED_TEXT, STAFF_RECATEGORISED,
                               STAFF_SAME_CATEGORY, STAFF_UNKNOWN_CATEGORY, STAFF_WITHDRAWN)
from bot.replies.tickets import (RESIDENT_WITHDRAWN, RESIDENT_WITHDRAWN_FOLLOWER, WITHDRAWN_REASON)
from bot.turn import StaffTurn, Turn
from models import Resident, Ticket, record, transition
from models.categories import CATEGORY_NAMES, category_name, code_of
from models.corrections import keep
from models.tickets import STATE_NAMES, TRANSITIONS

WITHDRAWN = "withdrawn"
QUOTED = 40  # characters of the resident's words quoted back to them


def _read(ticket: Ticket) -> tuple[str, str | None]:
    """What the engine made of the ticket's words: a report of its category, or a suggestion."""
    return ("report", ticket.category) if ticket.kind == "problem" else ("suggest", None)


@staff_command("改类", usage="改类 #N 类别", ticket=True)
def recategorise(turn: StaffTurn, ticket: Ticket, given: str) -> str:
    """Give the ticket the category it should have had; its new property staff get the card."""
    if not given:
        return STAFF_NEED_TEXT.format(what="新的类别", example=f"改类 #{ticket.id} 电梯")
    code = code_of(given)
    if code is None:
        return STAFF_UNKNOWN_CATEGORY.format(given=given[:20], names="、".join(CATEGORY_NAMES.values()),
                                             number=ticket.id)
    if ticket.state == WITHDRAWN:
        return STAFF_BAD_STATE.format(number=ticket.id, state=STATE_NAMES[ticket.state], action="改类")
    if ticket.kind == "problem" and ticket.category == code:
        return STAFF_SAME_CATEGORY.format(number=ticket.id, category=category_name(code))
    read, before = _read(ticket), notify.category_name(ticket)
    knew = set(notify.level_staff(turn.session, ticket, "property"))
    ticket.kind, ticket.category = "problem", code
    record(turn.session, ticket, actor=turn.actor, action="recategorised", now=turn.now,
           note=f"{before}→{category_name(code)}")
    turn.session.flush()
    card, stage = notify.card(turn.services, ticket), notify.event_count(turn.session, ticket)
    notify.to_each(turn.session, [member for member in notify.level_staff(turn.session, ticket, "property")
                                  if member not in knew],
                   card, key=f"ticket:{ticket.id}:recategorised:{stage}", now=turn.now, ticket=ticket)
    keep(turn.session, text=ticket.text, read=read, was=("report", code), source="staff",
         by=turn.actor, now=turn.now, resident_id=ticket.reporter_id, ticket_id=ticket.id)
    return STAFF_RECATEGORISED.format(number=ticket.id, category=category_name(code), before=before)


@staff_command("不是报修", usage="不是报修 #N [原因]", ticket=True)
def not_a_report(turn: StaffTurn, ticket: Ticket, reason: str) -> str:
    """Withdraw a ticket that was no problem; answer what the resident really asked."""
    if WITHDRAWN not in TRANSITIONS[ticket.state]:
        return STAFF_BAD_STATE.format(number=ticket.id, state=STATE_NAMES[ticket.state], action="撤销")
    read = _read(ticket)
    transition(turn.session, ticket, WITHDRAWN, actor=turn.actor, now=turn.now, note=reason or None)
    reporter = turn.session.get(Resident, ticket.reporter_id)
    meant, answer = _answer(turn, ticket, reporter, read[0])
    note = WITHDRAWN_REASON.format(reason=reason) if reason else ""
    words = ticket.text if len(ticket.text) <= QUOTED else ticket.text[:QUOTED] + "…"
    event = f"withdrawn:{notify.event_count(turn.session, ticket)}"
    for resident in notify.followers(turn.session, ticket):
        if resident.id == ticket.reporter_id:
            body = RESIDENT_WITHDRAWN.format(text=words, number=ticket.id, reason=note)
            body += f"\n{answer}" if answer else ""
            notify.to_follower(turn.session, ticket, resident, body, event=event, now=turn.now)
        else:
            notify.to_follower(turn.session, ticket, resident, RESIDENT_WITHDRAWN_FOLLOWER.format(
                number=ticket.id, reason=note), event=event, now=turn.now)
    keep(turn.session, text=ticket.text, read=read, was=(meant, None), source="staff", by=turn.actor,
         now=turn.now, resident_id=ticket.reporter_id, ticket_id=ticket.id, note=reason or None)
    return STAFF_WITHDRAWN.format(number=ticket.id)


def _answer(turn: StaffTurn, ticket: Ticket, reporter: Resident | None, excluded: str
            ) -> tuple[str, str | None]:
    """Re-read the resident's words as anything but what they were taken for: that reading, and
    its handler's answer (None when the best reading is that nothing else was asked)."""
    ranked = sorted(((p, name) for name, p in parse(ticket.text).scores.items()
                     if name not in (excluded, "report")),
                    key=lambda pair: (-pair[0], pair[1]))
    meant = ranked[0][1]
    if meant == "unknown" or reporter is None:
        return meant, None
    resident_turn = Turn(turn.session, reporter, turn.now, turn.services)
    return meant, answers.answer(resident_turn, parse_as(ticket.text, meant))
