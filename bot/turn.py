"""One turn of a conversation: who wrote, when, and where to record what follows.

A resident's turn (`Turn`) and a staff member's (`StaffTurn`): what every handler gets."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (Boolean, Float, Integer, String, Text, bindparam, func,
                        literal_column, select, update)
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from bot.ratelimit import Limiter, Verdict
from bot.services import Services
from models import (Conversation, Follower, OutboxMessage, Resident, Staff, Ticket,
                    resident_for)
from models.db import Prepared, UTCDateTime, dialect_of
from models.ratelimit import RateLimit
from models.staff import LEVEL_NAMES

PENDING_FOR = timedelta(minutes=10)
UNKNOWN: Any = object()  # not read yet: the turn asks the database when first needed


def latest_resolved(resident_id: int) -> Any:
    """The query for the number of the latest resolved ticket the resident follows (as
    TURN_COLUMNS reads it)."""
    return (select(Ticket.id).join(Follower, Follower.ticket_id == Ticket.id)
            .where(Follower.resident_id == resident_id, Ticket.state == "resolved")
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(1))


# Read beside the resident as it is stamped. Written out, since SQLite's RETURNING names
# columns bare (SQLAlchemy drops the table even inside subqueries, which makes them ambiguous).
TURN_COLUMNS = (
    literal_column("EXISTS (SELECT 1 FROM outbox WHERE outbox.status = 'held'"
                   " AND outbox.channel = 'wechat' AND outbox.recipient = residents.openid)",
                   Boolean()),
    *(literal_column(f"(SELECT tickets.{name} FROM tickets JOIN ticket_followers"
                     " ON ticket_followers.ticket_id = tickets.id"
                     " WHERE ticket_followers.resident_id = residents.id AND tickets.state = 'resolved'"
                     " ORDER BY tickets.updated_at DESC, tickets.id DESC LIMIT 1)", kind)
      for name, kind in (("id", Integer()), ("resolved_at", UTCDateTime()))),
    *(literal_column(f"(SELECT conversations.{name} FROM conversations"
                     " WHERE conversations.resident_id = residents.id)", kind)
      for name, kind in (("waiting_for", String()), ("payload", Text()),
                         ("expires_at", UTCDateTime()))))


# The resident's columns by attribute name, in the order the stamp returns them.
_RESIDENT = tuple((attr.key, attr.columns[0]) for attr in Resident.__mapper__.column_attrs)
# A Core statement on the session's connection: the ORM's UPDATE ... RETURNING an entity costs
# several times the statement itself on every message (bot/turn.py `attach` makes the entity).
_STAMP = (update(Resident.__table__).where(Resident.__table__.c.openid == bindparam("who"))
          .values(last_inbound_at=bindparam("now", type_=UTCDateTime()), pushes_since_inbound=0)
          .returning(*(column for _, column in _RESIDENT), *TURN_COLUMNS))
_STAMPING = Prepared(_STAMP)  # a turn not stamped as its message came in (the simulator's)
STAMPED = "linli.stamped"  # session.info: (openid, row) of a resident stamped by stamp_and_take


@lru_cache(maxsize=8)
def _stamp_taking(limiter: Limiter, dialect: str) -> Prepared:
    at = bindparam("at", type_=Float())
    # A bucket not yet on the row (their first messages, before they were a resident, or
    # an erasure) is the one kept under their hash in `rate_limits`, full if none.
    kept = {name: select(getattr(RateLimit, name)).where(RateLimit.sender == bindparam("key"))
            .scalar_subquery() for name in ("tokens", "stamp", "warned")}
    # A row's tokens and stamp are NULL together, until its first message as a resident; one
    # never told to slow down as a resident counts when they were told before they were one.
    bucket = limiter.bucket(*(func.coalesce(getattr(Resident, f"limit_{name}"), kept[name])
                              for name in ("tokens", "stamp", "warned")), at, dialect)
    return Prepared(_STAMP.values(**{f"limit_{name}": value for name, value in bucket.items()}))


def stamp_and_take(session: Session, limiter: Limiter, openid: str, key: str,
                   now: datetime) -> Verdict | None:
    """Stamp a known resident's message and take a token from their bucket, in one statement.

    Return the rate limit's verdict, or None when the sender is no resident yet (the caller
    then asks `rate_limits`; once they are, their bucket moves onto their row). The row read is kept for this message's turn (load_resident),
    which then costs no statement; a refused message leaves the stamp too, since the
    resident did write (WeChat's 48-hour window opens whatever the bot makes of it).
    """
    stamp = now.timestamp()
    row = _stamp_taking(limiter, dialect_of(session)).first(
        session, {"who": openid, "now": now, "at": stamp, "key": key})
    if row is None:
        return None
    session.info[STAMPED] = (openid, row)
    return limiter.verdict(key, stamp, row.limit_tokens, row.limit_allowed, row.limit_told)


def attach(session: Session, row: Any) -> Resident:
    """The resident whose columns a stamp returned, as the session's entity (no statement).

    Made the way the ORM loads one: its attributes as committed values, then added to the
    session; a resident the session already holds gets the row's values instead."""
    values = {name: row[i] for i, (name, _) in enumerate(_RESIDENT)}
    known = session.identity_map.get(session.identity_key(Resident, values["id"]))
    if known is not None:
        for name, value in values.items():
            set_committed_value(known, name, value)
        return known  # type: ignore[no-any-return]
    resident = Resident(**values)
    make_transient_to_detached(resident)
    session.add(resident)
    return resident


def load_resident(session: Session, openid: str, now: datetime
                  ) -> tuple[Resident, bool, Any, tuple[Any, Any]]:
    """Stamp a resident's message and read what their turn needs, in one statement (none
    when stamp_and_take did it as the message came in).

    Return the resident (made on first contact), whether outbox messages are held for them
    (their window opens now: the caller releases them), what the bot waits for from them,
    and the number of their latest resolved ticket with when it was resolved.
    """
    stamped = session.info.pop(STAMPED, None)
    if stamped is not None and stamped[0] == openid:
        row = stamped[1]
    else:
        # a resident changed before the turn (the simulator's) is flushed first
        row = _STAMPING.first(session, {"who": openid, "now": now})
    if row is None:
        return resident_for(session, openid, now), True, None, (None, None)
    resident = attach(session, row)
    has_held, resolved, resolved_at, waiting_for, payload, expires_at = row[len(_RESIDENT):]
    waiting = None
    if waiting_for is not None:  # known now: kept in the session as read, without asking again
        read = Conversation(resident_id=resident.id, waiting_for=waiting_for, payload=payload,
                            expires_at=expires_at)
        make_transient_to_detached(read)
        waiting = session.merge(read, load=False)
    return resident, bool(has_held), waiting, (resolved, resolved_at)


@dataclass
class Turn:
    """What every handler gets: the session, the resident, the time, the services."""

    session: Session
    resident: Resident
    now: datetime
    services: Services
    expired: str | None = None  # what the bot waited for until it expired during this turn
    # what the bot waits for (a Conversation or None) and the latest resolved ticket's number,
    # when the turn was loaded with them (load_resident); else read when first needed
    waiting: Any = field(default=UNKNOWN, repr=False)
    resolved: Any = field(default=UNKNOWN, repr=False)
    resolved_at: Any = field(default=UNKNOWN, repr=False)  # when that ticket was resolved

    @property
    def actor(self) -> str:
        """Return how this resident appears in a ticket's event log."""
        return f"resident:{self.resident.id}"

    def _conversation(self) -> Conversation | None:
        if self.waiting is UNKNOWN:
            self.waiting = self.session.get(Conversation, self.resident.id)
        return self.waiting

    def pending(self) -> Conversation | None:
        """Return what the bot waits for from this resident, dropping it once expired."""
        waiting = self._conversation()
        if waiting is not None and waiting.expires_at <= self.now:
            self.expired = waiting.waiting_for
            self.stop_waiting()
            return None
        return waiting

    def wait_for(self, what: str, payload: dict[str, Any]) -> None:
        """Remember that the next message should supply `what`, for ten minutes."""
        waiting = self._conversation()
        if waiting is None:
            waiting = self.waiting = Conversation(resident_id=self.resident.id)
            self.session.add(waiting)
        waiting.waiting_for = what
        waiting.payload = json.dumps(payload, ensure_ascii=False)
        waiting.expires_at = self.now + PENDING_FOR

    def stop_waiting(self) -> None:
        """Forget what the bot was waiting for."""
        waiting = self._conversation()
        if waiting is not None:
            self.session.delete(waiting)
            self.session.flush()
        self.waiting = None

    def latest_resolved(self) -> int | None:
        """The number of the latest resolved ticket this resident follows, if any."""
        if self.resolved is UNKNOWN:
            self.resolved = self.session.scalar(latest_resolved(self.resident.id))
        return self.resolved

    def resolved_before(self, moment: datetime) -> bool:
        """Whether the latest resolved ticket is known (as the turn was loaded) to have been
        resolved before `moment`, or to be none: then there is no recent fix to read."""
        if self.resolved_at is UNKNOWN:
            return self.resolved is None
        return self.resolved_at is None or self.resolved_at < moment


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
        return f"{LEVEL_NAMES[self.staff.role]}·{self.staff.name}"
