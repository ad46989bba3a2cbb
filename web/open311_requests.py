"""What an Open311 service request shows: the board's public view of a ticket, in the spec's fields.

A request carries what the public board shows and no more: the place cut to the building,
the resident's words only once staff published them (scrubbed), and a photo only through
`media_urls`.
"""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from bot.services import Services, current as services_
from models import board
from models.board import BOARD_STATE_NAMES
from models.sla import deadlines, duration
from models.staff import LEVEL_NAMES
from models.tickets import OPEN_STATES
from web import board as board_page
from web import photos as photos_page

# what the platform reads: agencies (our levels), notices, notes
OPEN311_AGENCIES = {"grid": "{estate}网格员", "property": "{estate}物业服务中心",
                    "estate": "{estate}党支部和业委会", "community": "{community}居委会",
                    "street": "{street}办事处"}
OPEN311_NOTICE_URGENT = "紧急问题：{response}内响应，{resolve}内处理完。"
OPEN311_NOTICE_NORMAL = "{response}内响应，{resolve}内处理完。"
OPEN311_NOTES = "{state}（{level}一级处理）"
OPEN311_NOTES_MERGED = "已合并到 #{number} 一并处理"


def _iso(moment: datetime | None, tz: tzinfo) -> str | None:
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


class View:
    """What every request in one answer shares: the time zone, the agencies, the notices."""

    def __init__(self, s: Services, media: dict[int, str] | None = None) -> None:
        self.tz = s.tz
        self.media = media or {}
        estate = s.config.estate
        self.agencies = {level: text.format(estate=estate.name or "",
                                            community=estate.community or "",
                                            street=estate.street or "")
                         for level, text in OPEN311_AGENCIES.items()}
        self.notices: dict[tuple[str, bool], str] = {}

    def notice(self, category: str, urgent: bool) -> str:
        """The service notice of a category and urgency (computed once per answer)."""
        if (category, urgent) not in self.notices:
            self.notices[category, urgent] = notice(category, urgent)
        return self.notices[category, urgent]

    def request(self, entry: board.Entry) -> dict[str, Any]:
        """One ticket as an Open311 service request."""
        status = "open" if entry.state in OPEN_STATES else "closed"
        notes = OPEN311_NOTES_MERGED.format(number=entry.merged_into) if entry.merged_into \
            else OPEN311_NOTES.format(state=BOARD_STATE_NAMES[entry.state],
                                              level=LEVEL_NAMES[entry.level])
        place = board_page.public_place(entry)
        return {
            "service_request_id": str(entry.id), "status": status, "status_notes": notes,
            "service_name": board_page.category_name(entry.category),
            "service_code": entry.category, "description": board_page.public_words(entry),
            "agency_responsible": self.agencies[entry.level],
            "service_notice": self.notice(entry.category, entry.urgent),
            "requested_datetime": _iso(entry.created_at, self.tz),
            "updated_datetime": _iso(entry.updated_at, self.tz),
            "expected_datetime": _iso(entry.resolve_due_at, self.tz),
            "address": None if place == "—" else place, "address_id": None, "zipcode": None,
            "lat": None, "long": None, "media_url": self.media.get(entry.id),
        }


def media_urls(session: Session, entries: list[board.Entry]) -> dict[int, str]:
    """The public address of each request's photo (ticket number -> URL), for `media_url`.

    The one place a request's media_url comes from. Only a ticket staff published (公示)
    shows a photo, and only the kept copy re-encoded without EXIF (location), the first
    the resident sent: the board's own (`/board/photos/<id>.jpg`). WeChat's `PicUrl`, a
    temporary address of the resident's original, is never given out. A request with no
    such photo has none (null in JSON, an empty element in XML).
    """
    return {ticket: photos_page.public_url(kept[0])
            for ticket, kept in board.published_photos(session, entries).items()}


def notice(category: str, urgent: bool) -> str:
    """The spec's service_notice: how soon a ticket of this category and urgency is answered and fixed."""
    limits = deadlines(services_().config.sla, None if category == board.SUGGESTION else category, urgent)
    text = OPEN311_NOTICE_URGENT if urgent else OPEN311_NOTICE_NORMAL
    return text.format(response=duration(limits.response),
                       resolve=duration(limits.resolve))
