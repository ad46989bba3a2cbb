"""A staff member's queue (待办): which open tickets are theirs, and which are late.

The rule is the routing rule (`models.staff.covering`) asked of every open ticket;
`todo` asks the database to narrow the tickets first, so a street's million tickets
cost a few hundred rows.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from models.estate import Estate
from models.estates import estates_of, serves
from models.staff import LEVELS, Coverage, Staff, most_specific, serving
from models.tickets import IS_OPEN, Ticket


def held_at_level(ticket: Ticket) -> bool:
    """Whether someone of the ticket's current level is handling it."""
    return ticket.assignee is not None and ticket.assignee.role == ticket.level


def may_act_on(session: Session, me: Staff, ticket: Ticket) -> bool:
    """Whether a staff member may act on a ticket: its assignee, or someone at its level or above
    whose coverage takes in its place and category.

    A ticket whose place has no building is told to every staff member of a level when nobody
    of that level covers the whole estate, so then each of them may act on it too.
    """
    if ticket.assignee_id == me.id:
        return True
    if LEVELS.index(me.role) < LEVELS.index(ticket.level) or not me.handles(ticket.category) \
            or not serves(session, me, ticket.estate_id):
        return False
    if ticket.building is None and me.coverage:
        estate = session.get(Estate, ticket.estate_id) if ticket.estate_id is not None else None
        return not session.scalar(select(Staff.id).where(Staff.role == me.role, serving(estate),
                                                         ~Staff.coverage.any()).limit(1))
    return me.covers(ticket.building, ticket.unit, ticket.room)


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
    colleagues = select(Staff.id).where(Staff.role == me.role, *_same_place(me))
    bare = set(session.scalars(colleagues.where(~Staff.coverage.any())))
    if mine:
        place = Ticket.building.in_(mine)
        if not bare:  # with nobody uncovered, a ticket with no building goes to everyone
            place = or_(place, Ticket.building.is_(None))
    else:
        whole = select(Coverage.building).where(Coverage.staff_id.in_(colleagues),
                                                Coverage.unit.is_(None))
        place = or_(Ticket.building.is_(None), Ticket.building.not_in(whole))
    level = select(Staff.id).where(Staff.role == me.role)  # held by anyone of my level
    unheld = or_(Ticket.assignee_id.is_(None), Ticket.assignee_id.not_in(level))
    scope = estates_of(session, me)
    if scope is not None:  # my estates' tickets (and any of no estate)
        place = and_(place, or_(Ticket.estate_id.in_(scope), Ticket.estate_id.is_(None)))
    found = session.scalars(select(Ticket).where(
        IS_OPEN,
        or_(Ticket.assignee_id == me.id, and_(Ticket.level == me.role, unheld, place)))).all()
    scores = _scores(session, colleagues, {t.building for t in found if t.building is not None})
    return [t for t in found if t.assignee_id == me.id or _answers_for(me, t, me.id in bare, bool(bare), scores)]


def _same_place(me: Staff) -> list[ColumnElement[bool]]:
    """SQL: staff who act where I act (the same estate, or community); my colleagues, with my role."""
    return [Staff.estate_id.is_(None) if me.estate_id is None else Staff.estate_id == me.estate_id,
            Staff.community.is_(None) if me.community is None else Staff.community == me.community]


def _scores(session: Session, colleagues: Select[tuple[int]], buildings: set[str]
            ) -> dict[str, list[tuple[int, Coverage]]]:
    """Building -> (staff id, coverage) of my colleagues, for the buildings asked about."""
    found: dict[str, list[tuple[int, Coverage]]] = {}
    if buildings:
        for staff_id, cover in session.execute(select(Coverage.staff_id, Coverage).where(
                Coverage.staff_id.in_(colleagues), Coverage.building.in_(buildings))):
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
