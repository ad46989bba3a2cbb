"""Staff: property workers, grid workers and officers, the level they act at, what they cover."""
from __future__ import annotations

import re
from typing import Hashable, Iterable, TypeVar

from sqlalchemy import ColumnElement, ForeignKey, String, UniqueConstraint, and_, or_, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.db import Base
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
    return or_(Staff.role == "street",
               and_(Staff.role == "community",
                    or_(Staff.community.is_(None), Staff.community == estate.community)),
               and_(Staff.role.in_(ONE_ESTATE),
                    or_(Staff.estate_id.is_(None), Staff.estate_id == estate.id)))


def covering(session: Session, role: str, building: str | None, unit: str | None = None,
             room: str | None = None, estate: Estate | None = None) -> list[Staff]:
    """Return the staff of a level for a place in an estate: the most specific coverage wins.

    Staff of a level with no coverage at all answer for the whole estate; when the
    place has no building, they are the ones told. Staff of other estates are never named.
    """
    if building is None:
        everywhere = _uncovered(session, role, estate)
        return everywhere or list(session.scalars(
            select(Staff).where(Staff.role == role, serving(estate)).order_by(Staff.id)))
    # Only coverage of this building can fit it: ask for those rows, not the whole street's.
    rows = session.execute(select(Staff, Coverage).join(Coverage, Coverage.staff_id == Staff.id)
                           .where(Staff.role == role, Coverage.building == building,
                                  serving(estate))
                           .order_by(Staff.id))
    return most_specific(rows, building, unit, room) or _uncovered(session, role, estate)


def most_specific(rows: Iterable[tuple[Who, Coverage]], building: str, unit: str | None,
                  room: str | None) -> list[Who]:
    """Of (who, coverage) rows, those whose coverage names the place most exactly, in the
    rows' order; empty when no coverage fits the place."""
    best: dict[Who, int] = {}
    for who, coverage in rows:
        best[who] = max(best.get(who, 0), _fit(coverage, building, unit, room))
    top = max(best.values(), default=0)
    return [who for who, score in best.items() if top and score == top]


def _uncovered(session: Session, role: str, estate: Estate | None = None) -> list[Staff]:
    """The level's staff who list no buildings: they answer for the whole estate."""
    return list(session.scalars(select(Staff).where(Staff.role == role, ~Staff.coverage.any(),
                                                    serving(estate)).order_by(Staff.id)))


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
