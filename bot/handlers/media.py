"""Photos and locations: they complete a report rather than start one. Staff get fresh links
to a ticket's photos with 照片 #N (a card's links expire)."""
from __future__ import annotations

import json

from bot import notify
from bot import photos as kept_photos
from bot.commands import staff_command
from bot.replies.report import ASK_PLACE, PHOTO_ASK, PHOTO_ATTACHED, PHOTO_KEPT
from bot.replies.staff import (STAFF_PHOTO_ADDED, STAFF_PHOTOS, STAFF_PHOTOS_NO_ADDRESS,
                               STAFF_PHOTOS_NONE)
from bot.tickets import Draft, Photo
from bot.turn import StaffTurn, Turn
from models import Ticket, TicketPhoto, record
from models.categories import category_name
from models.tickets import OPEN_STATES, followed


def photo(turn: Turn, media_id: str, pic_url: str | None) -> str:
    """Attach the photo to the sender's latest open ticket, or ask what it shows."""
    sent = Photo(media_id, pic_url)
    waiting = turn.pending()
    if waiting is not None and waiting.waiting_for == "place":
        draft = Draft.from_payload(json.loads(waiting.payload)).with_photo(sent)
        waiting.payload = json.dumps(draft.payload(), ensure_ascii=False)
        return ASK_PLACE.format(category=category_name(draft.category))
    ticket = followed(turn.session, turn.resident.id, None, OPEN_STATES)
    if ticket is None:
        earlier = json.loads(waiting.payload) if waiting is not None else {}
        if waiting is not None and waiting.waiting_for == "duplicate":  # keep the pending offer
            draft = Draft.from_payload(earlier).with_photo(sent)
            waiting.payload = json.dumps(earlier | draft.payload(), ensure_ascii=False)
            return PHOTO_KEPT
        photos = earlier.get("photos", []) if waiting is not None else []
        turn.wait_for("description", {"photos": [*photos, {"media_id": media_id,
                                                           "pic_url": pic_url}]})
        return PHOTO_ASK
    added = TicketPhoto(media_id=media_id, pic_url=pic_url, at=turn.now, resident_id=turn.resident.id)
    ticket.photos.append(added)
    event = record(turn.session, ticket, actor=turn.actor, action="photo", now=turn.now)
    kept_photos.keep(turn.session, added, turn.now)  # WeChat forgets it in three days: copy it
    notify.to_handlers(turn.session, ticket, STAFF_PHOTO_ADDED.format(
        number=ticket.id, link=notify.photo_markdown(turn.services, added.id)),
        event=f"photo:{event.id}", now=turn.now)
    return PHOTO_ATTACHED.format(number=ticket.id)


def described_photos(turn: Turn) -> list[Photo]:
    """Return (and forget) the photos waiting for a description."""
    waiting = turn.pending()
    if waiting is None or waiting.waiting_for != "description":
        return []
    photos = json.loads(waiting.payload)["photos"]
    turn.stop_waiting()
    return [Photo(p["media_id"], p.get("pic_url")) for p in photos]


@staff_command("照片", usage="照片 #N", ticket=True, help="照片 #N（工单照片的新链接）")
def photo_links(turn: StaffTurn, ticket: Ticket, _rest: str) -> str:
    """Give fresh signed links to the ticket's photos."""
    shown = [p for p in ticket.photos if p.problem is None]
    if not shown:
        return STAFF_PHOTOS_NONE.format(number=ticket.id)
    if not turn.services.config.server.public_url:
        return STAFF_PHOTOS_NO_ADDRESS.format(number=ticket.id, count=len(shown))
    links = "\n".join(f"{i}. {kept_photos.staff_link(turn.services, p.id)}"
                      for i, p in enumerate(shown, 1))
    return STAFF_PHOTOS.format(number=ticket.id, links=links,
                               days=max(1, turn.services.config.storage.link_ttl // 86400))
