"""How often a sender may try to bind a home, and guess its owner's phone digits.

The four digits are 10,000 possibilities; what keeps the register from being guessed is how
few guesses anyone gets. The count is per sender (a hash of the openid, as the rate limit's,
so erasing oneself does not reset it) and per estate, never per home: a stranger's wrong
guesses cannot lock the real owner out.

- A sender gets SENDER_FAILURES wrong guesses a day; after that their digits are not checked,
  and each binding waits for staff, as one without digits does.
- A home a sender guessed wrong is not checked again for that sender that day.
- Each estate gets ESTATE_FAILURES wrong guesses a day in all (on its homes); the one that reaches it alerts
  staff, and until the day has passed every binding waits for staff. So at most that many
  guesses a day reach the register, whoever makes them.
- A sender may ask to bind BINDINGS_PER_DAY times a day: each asks staff to confirm.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base, UTCDateTime
from models.estate import Building, Home, Unit

WINDOW = timedelta(hours=24)
SENDER_FAILURES = 3
ESTATE_FAILURES = 20
BINDINGS_PER_DAY = 5
BIND, WRONG = "bind", "wrong"  # a binding asked for; wrong phone digits given


class BindingAttempt(Base):
    """One binding a sender asked for, or one wrong guess at a home's phone digits."""

    __tablename__ = "binding_attempts"
    __table_args__ = (Index("ix_binding_attempts_sender_at", "sender", "at"),
                      Index("ix_binding_attempts_kind_at", "kind", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(100))  # models.ratelimit.bucket_key: no openid
    home_id: Mapped[int] = mapped_column(Integer)  # not a foreign key: homes may leave the register
    kind: Mapped[str] = mapped_column(String(8))  # BIND or WRONG
    at: Mapped[datetime] = mapped_column(UTCDateTime())


def may_bind(session: Session, sender: str, now: datetime) -> bool:
    """Whether the sender may ask for another binding today."""
    return _count(session, now, BindingAttempt.sender == sender, kind=BIND) < BINDINGS_PER_DAY


def record_binding(session: Session, sender: str, home_id: int, now: datetime) -> None:
    """Count a binding the sender asked for."""
    session.add(BindingAttempt(sender=sender, home_id=home_id, kind=BIND, at=now))


def may_check_digits(session: Session, sender: str, home_id: int, now: datetime) -> bool:
    """Whether this sender's digits for this home may be checked against the register now."""
    if _count(session, now, _same_estate(home_id), kind=WRONG) >= ESTATE_FAILURES:
        return False
    mine = session.execute(select(BindingAttempt.home_id).where(
        BindingAttempt.sender == sender, BindingAttempt.kind == WRONG,
        BindingAttempt.at > now - WINDOW)).scalars().all()
    return len(mine) < SENDER_FAILURES and home_id not in mine


def record_wrong(session: Session, sender: str, home_id: int, now: datetime) -> bool:
    """Count a wrong guess; return True when it is the one that reaches the estate's cap."""
    session.execute(delete(BindingAttempt).where(BindingAttempt.at <= now - WINDOW))
    session.add(BindingAttempt(sender=sender, home_id=home_id, kind=WRONG, at=now))
    session.flush()
    return _count(session, now, _same_estate(home_id), kind=WRONG) == ESTATE_FAILURES


def _same_estate(home_id: int) -> ColumnElement[bool]:
    """Attempts on homes of the estate this home is in (each estate has its own cap)."""
    estate = (select(Building.estate_id).join(Unit, Unit.building_id == Building.id)
              .join(Home, Home.unit_id == Unit.id).where(Home.id == home_id).scalar_subquery())
    homes = (select(Home.id).join(Unit, Unit.id == Home.unit_id)
             .join(Building, Building.id == Unit.building_id).where(Building.estate_id == estate))
    return BindingAttempt.home_id.in_(homes)


def _count(session: Session, now: datetime, *where: object, kind: str) -> int:
    return session.scalar(select(func.count(BindingAttempt.id)).where(
        BindingAttempt.kind == kind, BindingAttempt.at > now - WINDOW, *where)) or 0  # type: ignore[arg-type]
