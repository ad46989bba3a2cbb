"""Staff: property workers, grid workers and officers, the level they act at, what they cover."""
from __future__ import annotations

import re
from typing import Hashable, Iterable, TypeVar

from sqlalchemy import (Boolean, ColumnElement, ForeignKey, Integer, String, UniqueConstraint, and_,
                        bindparam, false, or_, select, true)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.categories import CODES
from models.db import Base, one_of
from models.estate import Estate

LEVELS = ("grid", "property", "estate", "community", "street")
LEVEL_NAMES = {"grid": "网格", "property": "物业", "estate": "小区", "community": "社区",
               "street": "街道"}
ONE_ESTATE = ("grid", "property", "estate")  # the levels that act in one estate
COVERAGE_ITEM = re.compile(r"^(\d+)(?:-(\d+))?$")
Who = TypeVar("Who", bound=Hashable)


class Staff(Base):
    """Someone who handles tickets, known by their id on their channel."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))  # WeCom UserID or WeChat openid
    channel: Mapped[str] = mapped_column(String(16))  # "wecom" or "wechat"
    name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(16))  # one of LEVELS
    buildings: Mapped[str] = mapped_column(String(200), default="")  # as given: "1-5,8"
    categories: Mapped[str] = mapped_column(String(300), default="")  # empty: every category
    # where they act (models/estates.py, in_scope): grid, property and estate staff one estate,
    # community staff the estates of their community, street staff every estate; None: all
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    community: Mapped[str | None] = mapped_column(String(100))
    # made up for the demo (demo-data, `staff add --demo`): the only staff /sim may speak as
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    coverage: Mapped[list[Coverage]] = relationship(
        back_populates="staff", cascade="all, delete-orphan")

    def handles(self, category: str | None) -> bool:
        """Whether this member takes tickets of the category (no list: every category)."""
        return not category or not self.categories or category in self.categories.split(",")

    def covers(self, building: str | None, unit: str | None = None, room: str | None = None) -> bool:
        """Whether my coverage takes in the place (no coverage: the whole estate).

        A place without a building is the whole estate's: only staff with no coverage take it in.
        """
        if not self.coverage:
            return True
        return building is not None and any(_fit(c, building, unit, room) for c in self.coverage)


class Coverage(Base):
    """A part of the estate a staff member answers for: a building, a unit, or one home."""

    __tablename__ = "staff_coverage"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    building: Mapped[str] = mapped_column(String(16), index=True)
    unit: Mapped[str | None] = mapped_column(String(16))
    room: Mapped[str | None] = mapped_column(String(16))

    staff: Mapped[Staff] = relationship(back_populates="coverage")


class CoverageError(ValueError):
    """A buildings list that cannot be read."""


def parse_buildings(spec: str) -> list[str]:
    """Read "1-5,8" as buildings 1, 2, 3, 4, 5 and 8."""
    numbers: list[str] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        match = COVERAGE_ITEM.match(item)
        if not match:
            raise CoverageError(f"cannot read {item!r}: write buildings like 1-5,8")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first or last - first > 500:
            raise CoverageError(f"cannot read {item!r}: a range goes from low to high")
        numbers.extend(str(n) for n in range(first, last + 1))
    return numbers


def parse_homes(spec: str) -> list[tuple[str, str, str | None]]:
    """Read "3-2-501,3-2-502,3-1" as homes (building, unit, room), or whole units."""
    homes: list[tuple[str, str, str | None]] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        parts = item.split("-")
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise CoverageError(f"cannot read {item!r}: write homes like 3-2-501 or units like 3-2")
        homes.append((parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    return homes


def register(session: Session, *, user_id: str, channel: str, name: str, role: str,
             buildings: str = "", homes: str = "", categories: str = "",
             demo: bool = False, estate_name: str | None = None,
             community: str | None = None) -> Staff:
    """Add a staff member, or update the one on that channel id, with their coverage and where
    they act; `demo` marks one made up for a demo or training (the only staff /sim may speak as).

    Raises CoverageError (a list that cannot be read), EstateError (an estate or community not
    known; with several estates, one not named) or ValueError (an unknown category).
    """
    numbers, parts = parse_buildings(buildings), parse_homes(homes)
    unknown = [c for c in filter(None, categories.split(",")) if c not in CODES]
    if unknown:
        raise ValueError(f"unknown categories {', '.join(unknown)}; use {', '.join(CODES)}")
    if role not in LEVELS:
        raise ValueError(f"unknown role {role}; use {', '.join(LEVELS)}")
    member = session.scalar(select(Staff).where(Staff.user_id == user_id, Staff.channel == channel))
    if member is None:
        member = Staff(user_id=user_id, channel=channel)
        session.add(member)
    member.name, member.role, member.buildings, member.categories = name, role, buildings, categories
    member.demo = demo
    member.estate_id, member.community = placement(session, role, estate_name, community)
    member.coverage = [Coverage(building=b) for b in numbers] + \
        [Coverage(building=b, unit=u, room=r) for b, u, r in parts]
    session.flush()
    return member


def placement(session: Session, role: str, estate_name: str | None,
              community: str | None) -> tuple[int | None, str | None]:
    """The estate (grid, property, estate) or community (community) a member acts in."""
    from models.estates import EstateError, estates, named_or_only  # they read staff: late

    if role == "street" or not estates(session):
        return None, None
    if role in ONE_ESTATE:
        return named_or_only(session, estate_name).id, None
    if community:
        if community not in {e.community for e in estates(session)}:
            raise EstateError(f"no estate is in the community {community!r}")
        return None, community
    return None, named_or_only(session, estate_name).community


def unregister(session: Session, member: Staff) -> int:
    """Remove a staff member; their open tickets go back to their level's queue. Return how many."""
    from models.tickets import Ticket  # tickets name their assignee: imported late

    held = list(session.scalars(select(Ticket).where(Ticket.assignee_id == member.id)))
    for ticket in held:
        ticket.assignee_id = None  # back in the queue of its level
    session.delete(member)
    session.flush()
    return len(held)


def staff_by_user(session: Session, user_id: str, channel: str | None = None) -> Staff | None:
    """Return the registered staff member behind a channel id."""
    query = select(Staff).where(Staff.user_id == user_id)
    if channel:
        query = query.where(Staff.channel == channel)
    return session.scalars(query.order_by(Staff.id)).first()


def serving(estate: Estate | None) -> ColumnElement[bool]:
    """SQL: the staff who act in the estate (None: no estate in particular, so everyone).

    Grid, property and estate staff act in their estate, community staff in the estates of
    their community, street staff everywhere; a row with no estate (or no community) acts
    everywhere, as every row did when a deployment was one estate.
    """
    if estate is None:
        return true()
    return _serving_in(estate.id, estate.community)


def _serving_in(estate_id: object, community: object) -> ColumnElement[bool]:
    """`serving` for an estate's id and community, given as values or as bind parameters
    (a community of None, or a parameter given None, matches only staff of no community)."""
    return or_(Staff.role == "street",
               and_(Staff.role == "community",
                    or_(Staff.community.is_(None), Staff.community == community)),
               and_(one_of(Staff.role, ONE_ESTATE),
                    or_(Staff.estate_id.is_(None), Staff.estate_id == estate_id)))


# Routing asks these for every new ticket: built once (with an estate, and without one, where
# everyone serves), their place and levels as parameters (one level, or two asked at once).
_ROLES = Staff.role.in_([bindparam("role", type_=String()), bindparam("other_role", type_=String())])
_SERVING = {True: _serving_in(bindparam("estate", type_=Integer()), bindparam("community", type_=String())),
            False: true()}
_OF_LEVEL = {inside: select(Staff).where(_ROLES, serving).order_by(Staff.id)
             for inside, serving in _SERVING.items()}
_UNCOVERED = {inside: select(Staff).where(_ROLES, ~Staff.coverage.any(), serving)
              .order_by(Staff.id) for inside, serving in _SERVING.items()}
# Only coverage of the place's building can fit it: those rows, not the whole street's.
_IN_BUILDING = {inside: select(Staff, Coverage).join(Coverage, Coverage.staff_id == Staff.id)
                .where(_ROLES, Coverage.building == bindparam("building", type_=String()),
                       serving).order_by(Staff.id)
                for inside, serving in _SERVING.items()}


def _where(roles: tuple[str, ...], estate: Estate | None, building: str | None = None) -> dict[str, object]:
    return {"role": roles[0], "other_role": roles[-1], "building": building,
            "estate": estate.id if estate else None, "community": estate.community if estate else None}


def covering(session: Session, role: str, building: str | None, unit: str | None = None,
             room: str | None = None, estate: Estate | None = None) -> list[Staff]:
    """Return the staff of a level for a place in an estate: the most specific coverage wins.

    Staff of a level with no coverage at all answer for the whole estate; when the
    place has no building, they are the ones told. Staff of other estates are never named.
    """
    return covering_levels(session, (role,), building, unit, room, estate)[role]


def covering_levels(session: Session, roles: tuple[str, ...], building: str | None,
                    unit: str | None = None, room: str | None = None,
                    estate: Estate | None = None) -> dict[str, list[Staff]]:
    """`covering` for one level or two at once (a new ticket's grid and property staff): each
    level's staff as `covering` finds them, asked in one statement, two when a level has to
    fall back on its staff without coverage, three at most."""
    if not 1 <= len(roles) <= 2:
        raise ValueError("one level or two")
    inside = estate is not None
    found: dict[str, list[Staff]] = {role: [] for role in roles}
    if building is not None:
        rows = session.execute(_IN_BUILDING[inside], _where(roles, estate, building)).all()
        for role in roles:
            found[role] = most_specific(((who, where) for who, where in rows if who.role == role),
                                        building, unit, room)
    for query in (_UNCOVERED, _OF_LEVEL) if building is None else (_UNCOVERED,):
        missing = tuple(role for role in roles if not found[role])
        if not missing:
            break
        staff = list(session.scalars(query[inside], _where(missing, estate)))
        for role in missing:
            found[role] = [member for member in staff if member.role == role]
    return found


def most_specific(rows: Iterable[tuple[Who, Coverage]], building: str, unit: str | None,
                  room: str | None) -> list[Who]:
    """Of (who, coverage) rows, those whose coverage names the place most exactly, in the
    rows' order; empty when no coverage fits the place."""
    best: dict[Who, int] = {}
    for who, coverage in rows:
        best[who] = max(best.get(who, 0), _fit(coverage, building, unit, room))
    top = max(best.values(), default=0)
    return [who for who, score in best.items() if top and score == top]


def _fit(coverage: Coverage, building: str, unit: str | None, room: str | None) -> int:
    """0 when the coverage misses the place; higher when it names it more exactly."""
    if coverage.building != building:
        return 0
    if coverage.unit is None:
        return 1
    if unit is None:
        return 1  # part of the building: told about a building-wide problem
    if coverage.unit != unit:
        return 0
    if coverage.room is None:
        return 2
    if room is None:
        return 2
    return 3 if coverage.room == room else 0
