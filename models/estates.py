"""Many estates in one deployment: which estate a resident, a ticket or a staff member belongs
to, which estates a page or an officer looks at, and finding an estate by name or on the map.

Who acts where is `models.staff.serving` (in SQL) and `serves` here (on a row). A ticket with
no estate (opened when none was registered) is everyone's.
"""
from __future__ import annotations

import math

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from models.db import Prepared
from models.estate import Building, Estate, Home, Resident, Unit
from models.staff import ONE_ESTATE, Staff

EARTH_KM = 6371.0


class EstateError(ValueError):
    """An estate asked for that is not registered, or one needed and not named."""


_ESTATES = select(Estate).order_by(Estate.id)


def estates(session: Session) -> list[Estate]:
    """Every estate, in the order they were registered.

    Asked several times in one message (the resident's estate, the ticket's, its cards), the
    list is read once per transaction: kept in `session.info` until the transaction ends or
    the session adds or deletes an estate.
    """
    if KNOWN not in session.info:
        session.info[KNOWN] = list(session.scalars(_ESTATES))
    return list(session.info[KNOWN])


def only_estate(session: Session) -> Estate | None:
    """The estate when there is exactly one (None with none or several)."""
    found = estates(session)
    return found[0] if len(found) == 1 else None


KNOWN = "linli.estates"  # session.info: the estates, as read in this transaction
HOMES_KNOWN = "linli.home_estates"  # session.info: home id -> its estate, as read in this transaction


@event.listens_for(Session, "before_flush")
def _estates_change(session: Session, _context: object, _instances: object) -> None:
    if any(isinstance(row, Estate) for row in (*session.new, *session.deleted)):
        session.info.pop(KNOWN, None)
    if any(isinstance(row, (Home, Unit, Building))
           for row in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(HOMES_KNOWN, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_over(session: Session) -> None:
    session.info.pop(KNOWN, None)
    session.info.pop(HOMES_KNOWN, None)


def find(session: Session, key: str) -> Estate | None:
    """The estate named (or numbered) `key`."""
    key = key.strip()
    if key.isdigit():
        by_id = session.get(Estate, int(key))
        if by_id is not None:
            return by_id
    return session.scalar(select(Estate).where(Estate.name == key))


def named_or_only(session: Session, name: str | None) -> Estate:
    """The estate an operator's command means: the one named, else the only one; else say why."""
    if name:
        found = find(session, name)
        if found is None:
            known = "、".join(e.name for e in estates(session)) or "none yet"
            raise EstateError(f"no estate named {name!r} (estates: {known})")
        return found
    only = only_estate(session)
    if only is None and len(estates(session)) > 1:
        raise EstateError("there are several estates: name one with --estate NAME ("
                          + ", ".join(e.name for e in estates(session)) + ")")
    if only is None:
        raise EstateError("no estate is registered yet")
    return only


def nearest(session: Session, latitude: float, longitude: float) -> Estate | None:
    """The estate nearest a point (great-circle distance); None when no estate has a place."""
    placed = [e for e in estates(session) if e.latitude is not None and e.longitude is not None]
    return min(placed, default=None,
               key=lambda e: _km(latitude, longitude, e.latitude, e.longitude))  # type: ignore[arg-type]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(a))


def homes_named(session: Session, building: str, unit: str, room: str,
                estate_id: int | None = None) -> list[Home]:
    """The registered homes at building-unit-room, in every estate (or in one)."""
    query = (select(Home).join(Unit, Home.unit_id == Unit.id).join(Building, Unit.building_id == Building.id)
             .where(Building.number == building, Unit.number == unit, Home.room == room))
    if estate_id is not None:
        query = query.where(Building.estate_id == estate_id)
    return list(session.scalars(query.order_by(Building.estate_id)))


_ESTATE_OF_HOME = Prepared(select(Building.estate_id).join(Unit, Unit.building_id == Building.id)
                           .join(Home, Home.unit_id == Unit.id).where(Home.id == bindparam("home")))


def estate_of_home(session: Session, home_id: int) -> int | None:
    """The estate a home is in (asked for every message of a bound resident: built once).

    A report asks it twice (its duplicate check, then the new ticket): read once per
    transaction, kept in `session.info` like the estates, until the session changes a home,
    a unit or a building."""
    known = session.info.setdefault(HOMES_KNOWN, {})
    if home_id not in known:
        row = _ESTATE_OF_HOME.first(session, {"home": home_id})  # as changed in this transaction
        known[home_id] = row[0] if row is not None else None
    return known[home_id]


def resident_estate(session: Session, resident: Resident) -> int | None:
    """A resident's estate: their bound home's, else the one they named, else the only one."""
    if resident.home_id is not None:
        return estate_of_home(session, resident.home_id)
    if resident.estate_id is not None:
        return resident.estate_id
    only = only_estate(session)
    return only.id if only is not None else None


def serves(session: Session, member: Staff, estate_id: int | None) -> bool:
    """Whether a staff member acts in the estate (a ticket of no estate: everyone does)."""
    if estate_id is None:
        return True
    if member.role == "street":
        return True
    if member.role == "community":
        if member.community is None:
            return True
        estate = session.get(Estate, estate_id)
        return estate is not None and estate.community == member.community
    return member.estate_id is None or member.estate_id == estate_id


def estates_of(session: Session, member: Staff) -> list[int] | None:
    """The estates a staff member acts in (None: every estate)."""
    if member.role == "street" or (member.role == "community" and member.community is None) \
            or (member.role in ONE_ESTATE and member.estate_id is None):
        return None
    if member.role == "community":
        return list(session.scalars(select(Estate.id).where(Estate.community == member.community)))
    return [member.estate_id] if member.estate_id is not None else None


def selection(session: Session, *, estate: str | None = None, community: str | None = None,
              street: str | None = None) -> list[Estate] | None:
    """The estates a page is asked about (None: everything, nothing asked); raise EstateError
    when what was asked names no estate."""
    if not (estate or community or street):
        return None
    query = select(Estate).order_by(Estate.id)
    if estate:
        found = find(session, estate)
        if found is None:
            raise EstateError(estate)
        query = query.where(Estate.id == found.id)
    if community:
        query = query.where(Estate.community == community)
    if street:
        query = query.where(Estate.street == street)
    chosen = list(session.scalars(query))
    if not chosen:
        raise EstateError(estate or community or street or "")
    return chosen

