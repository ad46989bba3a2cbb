"""Opening a ticket: the one way, for a resident's chat, the simulator and Open311 alike.

A `Draft` says what the new ticket is about; `open_ticket` numbers it, starts its
clocks, logs it, makes its reporter follow it and routes it to staff (the cards go
out through the outbox when the caller's transaction commits).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from intents import Parse
from bot import notify, photos
from bot.turn import Turn
from models import Ticket, TicketPhoto
from models.tickets import follow as follow_ticket, log
from models.estates import resident_estate
from models.sla import deadlines

PLACE_MAX = 200  # characters of a place (tickets.place)


@dataclass(frozen=True)
class Photo:
    """A photo a resident sent: WeChat's media id, and its address when WeChat gave one."""

    media_id: str
    pic_url: str | None = None


@dataclass(frozen=True)
class Draft:
    """What a new ticket says: a problem (or a suggestion), where, how urgent, with photos."""

    kind: str  # "problem" or "suggestion"
    category: str | None  # None for a suggestion
    urgent: bool
    text: str
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    place: str | None = None
    photos: tuple[Photo, ...] = ()
    estate_id: int | None = None  # None: the reporter's estate (Turn.estate_id)

    def with_photo(self, photo: Photo) -> Draft:
        """The same draft with one more photo."""
        return replace(self, photos=(*self.photos, photo))

    def payload(self) -> dict[str, Any]:
        """The draft as JSON data, kept while the bot waits for the rest of a report."""
        data: dict[str, Any] = {
            "kind": self.kind, "category": self.category, "urgent": self.urgent, "text": self.text,
            "building": self.building, "unit": self.unit, "room": self.room, "place": self.place}
        if self.photos:
            data["photos"] = [{"media_id": p.media_id, "pic_url": p.pic_url} for p in self.photos]
        return data

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Draft:
        """Read a draft kept by `payload` (other keys, such as the conversation's own, are left)."""
        return cls(kind=data["kind"], category=data["category"], urgent=data["urgent"],
                   text=data["text"], building=data["building"], unit=data["unit"],
                   room=data["room"], place=data["place"],
                   photos=tuple(Photo(p["media_id"], p.get("pic_url"))
                                for p in data.get("photos", [])))


def place_of(parse: Parse) -> str | None:
    """Return the place a message names, building-unit-room if nothing better."""
    if parse.place:
        return parse.place
    parts = [f"{parse.building}栋" if parse.building else "",
             f"{parse.unit}单元" if parse.unit else "", parse.room or ""]
    return "".join(parts) or None


def draft_of(parse: Parse) -> Draft:
    """The problem a message reports, as the engine read it."""
    return Draft(kind="problem", category=parse.category or "other", urgent=parse.urgent,
                 text=parse.text.strip(), building=parse.building, unit=parse.unit,
                 room=parse.room, place=place_of(parse))


def open_ticket(turn: Turn, draft: Draft, *, follow: bool = True) -> Ticket:
    """Open a ticket for the turn's resident: numbered, on the clock, logged and routed.

    The reporter follows it (and hears of every change) unless `follow` is False, as for
    a platform that reads updates for itself.
    """
    kept = [TicketPhoto(media_id=photo.media_id, pic_url=photo.pic_url, at=turn.now,
                        resident_id=turn.resident.id) for photo in draft.photos]
    ticket = Ticket(kind=draft.kind, category=draft.category, reporter_id=turn.resident.id,
                    building=draft.building, unit=draft.unit, room=draft.room, place=draft.place,
                    urgent=draft.urgent, text=draft.text, state="open", level="grid",
                    created_at=turn.now, updated_at=turn.now,
                    photos=kept)  # set, so the card never loads them
    limits = deadlines(turn.services.config.sla, ticket.category, ticket.urgent)
    ticket.response_due_at = turn.now + timedelta(seconds=limits.response)
    ticket.resolve_due_at = turn.now + timedelta(seconds=limits.resolve)
    ticket.estate_id = draft.estate_id if draft.estate_id is not None \
        else resident_estate(turn.session, turn.resident)
    turn.session.add(ticket)
    turn.session.flush()  # numbered: its log and its follower are written by a statement each
    log(turn.session, ticket, actor=turn.actor, action="opened", now=turn.now)
    for photo in kept:
        photos.keep(turn.session, photo, turn.now)
    if follow:
        follow_ticket(turn.session, ticket.id, turn.resident.id, now=turn.now, how="reported")
    notify.new_ticket(turn.services, turn.session, ticket, turn.now)
    return ticket
