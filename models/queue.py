"""A staff member's queue (待办): which open tickets are theirs, and which are late.

The rule is the routing rule (`models.staff.covering`) asked of every open ticket;
`todo` asks the database to narrow the tickets first, so a street's million tickets
cost a few hundred rows.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models.staff import Coverage, Staff, most_specific
from models.tickets import OPEN_STATES, Ticket


def held_at_level(ticket: Ticket) -> bool:
    """Whether someone of the ticket's current level is handling it."""
    return ticket.assignee is not None and ticket.assignee.role == ticket.level


def overdue(ticket: Ticket, now: datetime) -> bool:
    """Whether the ticket is past its current deadline (a first response, else the fix)."""
    due = ticket.response_due_at if ticket.assignee_id is None else ticket.resolve_due_at
    return due is not None and due < now


def todo(session: Session, me: Staff) -> list[Ticket]:
    """The open tickets assigned to me, or at my level, not held there, in a place I answer for.

    The same tickets as asking `bot.notify.level_staff` of every open ticket, but the database
    narrows them first (models/indexes.py): only my level's unheld tickets in my buildings
    (or, with no coverage of my own, in buildings nobody of my level covers whole). The
    exact rule is then applied here.
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
