"""Photos and locations: they complete a report rather than start one."""
from __future__ import annotations

import json

from sqlalchemy import select

from bot import replies
from bot.turn import Turn
from models import Ticket, TicketPhoto, record
from models.tickets import OPEN_STATES


def photo(turn: Turn, media_id: str, pic_url: str | None) -> str:
    """Attach the photo to the sender's latest open ticket, or ask what it shows."""
    waiting = turn.pending()
    if waiting is not None and waiting.waiting_for == "place":
        fields = json.loads(waiting.payload)
        fields.setdefault("photos", []).append({"media_id": media_id, "pic_url": pic_url})
        waiting.payload = json.dumps(fields, ensure_ascii=False)
        return replies.ASK_PLACE.format(category=replies.CATEGORY_NAMES.get(
            fields["category"], replies.CATEGORY_NAMES["other"]))
    ticket = turn.session.scalar(
        select(Ticket).where(Ticket.reporter_id == turn.resident.id,
                             Ticket.state.in_(OPEN_STATES))
        .order_by(Ticket.id.desc()).limit(1))
    if ticket is None:
        photos = json.loads(waiting.payload)["photos"] if waiting is not None else []
        turn.wait_for("description", {"photos": [*photos, {"media_id": media_id,
                                                           "pic_url": pic_url}]})
        return replies.PHOTO_ASK
    ticket.photos.append(TicketPhoto(media_id=media_id, pic_url=pic_url, at=turn.now))
    record(turn.session, ticket, actor=turn.actor, action="photo", now=turn.now)
    return replies.PHOTO_ATTACHED.format(number=ticket.id)


def described_photos(turn: Turn) -> list[dict[str, str]]:
    """Return (and forget) the photos waiting for a description."""
    waiting = turn.pending()
    if waiting is None or waiting.waiting_for != "description":
        return []
    photos = json.loads(waiting.payload)["photos"]
    turn.stop_waiting()
    return photos
