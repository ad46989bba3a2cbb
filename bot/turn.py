"""One turn of a conversation: who wrote, when, and where to record what follows.

A resident's turn (`Turn`) and a staff member's (`StaffTurn`): what every handler gets."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.services import Services
from models import Conversation, Resident, Staff
from models.staff import LEVEL_NAMES

PENDING_FOR = timedelta(minutes=10)


@dataclass
class Turn:
    """What every handler gets: the session, the resident, the time, the services."""

    session: Session
    resident: Resident
    now: datetime
    services: Services
    expired: str | None = None  # what the bot waited for until it expired during this turn

    @property
    def actor(self) -> str:
        """Return how this resident appears in a ticket's event log."""
        return f"resident:{self.resident.id}"

    def pending(self) -> Conversation | None:
        """Return what the bot waits for from this resident, dropping it once expired."""
        waiting = self.session.get(Conversation, self.resident.id)
        if waiting is not None and waiting.expires_at <= self.now:
            self.expired = waiting.waiting_for
            self.session.delete(waiting)
            self.session.flush()
            return None
        return waiting

    def wait_for(self, what: str, payload: dict[str, Any]) -> None:
        """Remember that the next message should supply `what`, for ten minutes."""
        waiting = self.session.get(Conversation, self.resident.id)
        if waiting is None:
            waiting = Conversation(resident_id=self.resident.id)
            self.session.add(waiting)
        waiting.waiting_for = what
        waiting.payload = json.dumps(payload, ensure_ascii=False)
        waiting.expires_at = self.now + PENDING_FOR

    def stop_waiting(self) -> None:
        """Forget what the bot was waiting for."""
        waiting = self.session.get(Conversation, self.resident.id)
        if waiting is not None:
            self.session.delete(waiting)
            self.session.flush()


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
