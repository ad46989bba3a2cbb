"""The estate, its buildings, units and homes, their owners and the residents who chat."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (Boolean, Float, ForeignKey, Integer, Numeric, String, UniqueConstraint,
                        false, select)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.db import Base, UTCDateTime


class Estate(Base):
    """A residential estate (小区), in its community (社区) and street (街道)."""

    __tablename__ = "estates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    community: Mapped[str] = mapped_column(String(100))
    street: Mapped[str] = mapped_column(String(100))
    # where it is (WGS-84), so a resident's location message picks the nearest estate
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    buildings: Mapped[list[Building]] = relationship(back_populates="estate")


class Building(Base):
    """A building (栋), numbered as residents write it ("3")."""

    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("estate_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    number: Mapped[str] = mapped_column(String(16))

    estate: Mapped[Estate] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building")


class Unit(Base):
    """A stairwell unit (单元) of a building."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    number: Mapped[str] = mapped_column(String(16))

    building: Mapped[Building] = relationship(back_populates="units")
    homes: Mapped[list[Home]] = relationship(back_populates="unit")


class Owner(Base):
    """A registered owner; one phone number is one person, whatever homes they hold.

    The phone itself is never stored: a keyed hash of it (one phone, one owner, matched on
    import) and its last four digits (what an owner gives to bind a home).
    """

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)  # phone_hash()
    phone_tail: Mapped[str] = mapped_column(String(4))

    homes: Mapped[list[Home]] = relationship(back_populates="owner")


def phone_hash(key: bytes, phone: str) -> str:
    """The keyed hash (HMAC-SHA256) of a phone number as the register writes it."""
    return hmac.new(key, phone.encode("utf-8"), hashlib.sha256).hexdigest()


class Home(Base):
    """A home (户) with its registered exclusive area in m²."""

    __tablename__ = "homes"
    __table_args__ = (UniqueConstraint("unit_id", "room"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    room: Mapped[str] = mapped_column(String(16))
    area_m2: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"), index=True)
    unsold: Mapped[bool] = mapped_column(Boolean, default=False)

    unit: Mapped[Unit] = relationship(back_populates="homes")
    owner: Mapped[Owner | None] = relationship(back_populates="homes")

    @property
    def label(self) -> str:
        """Return the home as residents write it: 3栋2单元501."""
        return f"{self.unit.building.number}栋{self.unit.number}单元{self.room}"


ROLE_NAMES = {"owner": "业主", "tenant": "租户"}  # a resident's role in their home, said


class Resident(Base):
    """Someone who talks to the Official Account, known by their openid."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    home_id: Mapped[int | None] = mapped_column(ForeignKey("homes.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(16))  # "owner" or "tenant"
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    following: Mapped[bool] = mapped_column(Boolean, default=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # customer-service messages sent since they last wrote (WeChat allows 5 in 48 hours)
    pushes_since_inbound: Mapped[int] = mapped_column(Integer, default=0)
    unfollowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the estate they said they live in before binding a home (a bound home decides it)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"))
    # made up (demo-data, or new in /sim): the only residents /sim may speak as
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # their rate limit's token bucket (bot/ratelimit.py), taken as each message is stamped
    limit_tokens: Mapped[float | None] = mapped_column(Float)
    limit_stamp: Mapped[float | None] = mapped_column(Float)  # epoch seconds
    limit_allowed: Mapped[bool | None] = mapped_column(Boolean)  # the last message's verdict
    limit_told: Mapped[bool | None] = mapped_column(Boolean)  # it was the one told to slow down
    limit_warned: Mapped[float | None] = mapped_column(Float)  # when they were last told

    home: Mapped[Home | None] = relationship()


def resident_for(session: Session, openid: str, now: datetime) -> Resident:
    """Return the resident behind an openid, creating them on first contact."""
    resident = session.scalar(select(Resident).where(Resident.openid == openid))
    if resident is None:
        try:
            with session.begin_nested():
                resident = Resident(openid=openid, created_at=now, verified=False,
                                    following=True, subscribed=False, pushes_since_inbound=0)
                session.add(resident)
        except IntegrityError:  # another process made them a moment ago
            resident = session.scalars(select(Resident).where(Resident.openid == openid)).one()
    resident.last_inbound_at, resident.pushes_since_inbound = now, 0
    return resident


def find_home(session: Session, building: str, unit: str, room: str) -> Home | None:
    """Return the registered home at building-unit-room, if there is one."""
    return session.scalar(
        select(Home).join(Unit).join(Building)
        .where(Building.number == building, Unit.number == unit, Home.room == room))
