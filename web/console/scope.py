"""What an operator may reach: their level and the estates (and, for grid, buildings) they cover.

Scope is defined on estates: grid the listed buildings of one estate, property and estate
one estate, community every estate of its community, street every estate of its street. So it
holds however many estates the deployment serves. Every check of a thing against a scope goes
through `Scope` (and the target checks in web/console/__init__.py), never through a page.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from models import Estate, OutboxMessage, Resident, Staff, Ticket
from models.console import Operator
from models.estate import Building, Home, Unit
from models.estates import estates_of
from models.staff import LEVELS, parse_buildings


@dataclass(frozen=True)
class Scope:
    """An operator's reach: level, estate ids, and for grid the building numbers."""

    level: str
    estate_ids: frozenset[int]
    buildings: frozenset[str] | None = None  # grid only

    def at_least(self, level: str) -> bool:
        """Whether the operator's level is `level` or above."""
        return LEVELS.index(self.level) >= LEVELS.index(level)

    def covers_estate(self, estate_id: int | None) -> bool:
        """Whether the whole estate is the operator's (grid covers only some buildings)."""
        return estate_id in self.estate_ids and self.buildings is None

    def touches_estate(self, estate_id: int | None) -> bool:
        """Whether any of the estate is the operator's."""
        return estate_id in self.estate_ids

    def covers_place(self, estate_id: int | None, building: str | None) -> bool:
        """Whether a place (an estate's building, or the estate as a whole) is the operator's."""
        if estate_id not in self.estate_ids:
            return False
        return self.buildings is None or (building is not None and building in self.buildings)

    def covers_staff(self, session: Session, member: Staff) -> bool:
        """Whether a staff member is the operator's to manage: every estate they act in is the
    operator's, and their level is at or below the operator's."""
        return (self.buildings is None and staff_estates(session, member) <= self.estate_ids
                and LEVELS.index(member.role) <= LEVELS.index(self.level))

    def ticket_clause(self, session: Session) -> ColumnElement[bool]:
        """The tickets in scope, as a WHERE clause."""
        clause = ticket_estate_clause(session, self.estate_ids)
        if self.buildings is not None:
            clause = clause & Ticket.building.in_(sorted(self.buildings))
        return clause

    def covers_ticket(self, session: Session, ticket: Ticket) -> bool:
        """Whether a ticket is the operator's."""
        return self.covers_place(ticket_estate(session, ticket), ticket.building)


def scope_of(session: Session, operator: Operator) -> Scope:
    """The operator's scope, read from the estates as they are now."""
    query = select(Estate.id)
    estate = operator.estate
    if operator.level == "street":
        query = query.where(Estate.street == (operator.street or ""))
    elif operator.level == "community":
        query = query.where(Estate.community == (operator.community or ""))
    else:
        query = query.where(Estate.id == (estate.id if estate else -1))
    ids = frozenset(session.scalars(query))
    buildings = frozenset(parse_buildings(operator.buildings)) if operator.level == "grid" else None
    return Scope(operator.level, ids, buildings)


def home_estate(session: Session, operator: Operator) -> int | None:
    """The estate an operator's own doings are filed under: theirs, else the first of their scope."""
    if operator.estate_id is not None:
        return operator.estate_id
    return min(scope_of(session, operator).estate_ids, default=None)


def default_estate(session: Session) -> int | None:
    """The deployment's first estate: where a thing that names no estate belongs."""
    return session.scalar(select(Estate.id).order_by(Estate.id).limit(1))


# Where a ticket and a staff member belong: tickets carry their estate (one filed before there
# were estates, or with none known, counts as the first estate's); staff act in one estate, or a
# community's estates, or everywhere (models/estates.py).
def ticket_estate(session: Session, ticket: Ticket) -> int | None:
    """The estate a ticket belongs to."""
    return ticket.estate_id if ticket.estate_id is not None else default_estate(session)


def ticket_estate_clause(session: Session, estate_ids: frozenset[int]) -> ColumnElement[bool]:
    """Tickets of these estates, as a WHERE clause."""
    clause = Ticket.estate_id.in_(sorted(estate_ids))
    if default_estate(session) in estate_ids:
        clause = clause | Ticket.estate_id.is_(None)
    return clause


def staff_estate(session: Session, member: Staff) -> int | None:
    """The estate a staff member's doings are filed under: theirs, else the first they act in."""
    if member.estate_id is not None:
        return member.estate_id
    acting = estates_of(session, member)
    return min(acting) if acting else default_estate(session)


def staff_estates(session: Session, member: Staff) -> frozenset[int]:
    """Every estate a staff member acts in."""
    acting = estates_of(session, member)
    if acting is None:
        return frozenset(session.scalars(select(Estate.id)))
    return frozenset(acting)


def message_estate(session: Session, message: OutboxMessage) -> int | None:
    """The estate an outbound message concerns: its resident's home's, else the first."""
    if message.channel == "wechat":
        found = session.scalar(select(Building.estate_id).join(Unit).join(Home)
                               .join(Resident, Resident.home_id == Home.id)
                               .where(Resident.openid == message.recipient))
        if found is not None:
            return found
    return default_estate(session)


def estates_in(session: Session, scope: Scope) -> list[Estate]:
    """The estates of a scope, by name."""
    return list(session.scalars(select(Estate).where(Estate.id.in_(sorted(scope.estate_ids)))
                                .order_by(Estate.name)))
