"""One turn of a conversation: who wrote, when, and where to record what follows.

A resident's turn (`Turn`) and a staff member's (`StaffTurn`): what every handler gets."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.outbox import may_hold
from bot.services import Services
from models import Conversation, Follower, Resident, Staff, Ticket, resident_for
from models.staff import LEVEL_NAMES

PENDING_FOR = timedelta(minutes=10)
UNKNOWN: Any = object()  # not read yet: the turn asks the database when first needed


def latest_resolved(resident_id: Any) -> Any:
    """The number of the latest resolved ticket the resident follows (a correlated subquery
    when `resident_id` is a column)."""
    return (select(Ticket.id).join(Follower, Follower.ticket_id == Ticket.id)
            .where(Follower.resident_id == resident_id, Ticket.state == "resolved")
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(1))


def load_resident(session: Session, openid: str, now: datetime) -> tuple[Resident, bool, Any, Any]:
    """Read in one query what a resident's turn needs: the resident (made on first contact),
    what the bot waits for from them, and their latest resolved ticket; stamp their message.

    Also return whether anything may be held for them in the outbox: only when, before this
    message, their 48-hour window was closed (bot/outbox.py holds nothing otherwise).
    """
    row = session.execute(
        select(Resident, Conversation, latest_resolved(Resident.id).scalar_subquery())
        .outerjoin(Conversation, Conversation.resident_id == Resident.id)
        .where(Resident.openid == openid)).first()
    if row is None:
        return resident_for(session, openid, now), True, None, None
    resident, waiting, resolved = row
    held = may_hold(resident.following, resident.last_inbound_at, resident.pushes_since_inbound, now)
    resident.last_inbound_at, resident.pushes_since_inbound = now, 0
    return resident, held, waiting, resolved


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
