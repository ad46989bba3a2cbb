"""The public board (清单化公示) from a staff chat: 公示 #N puts a resident's words on it, 撤回公示 #N
takes them off."""
from __future__ import annotations

from bot import notify
from bot.commands import staff_command
from bot.replies.staff import (PUBLISH_STATES, STAFF_PUBLISHED, STAFF_PUBLISHED_PHOTOS,
                               STAFF_PUBLISH_SAME, STAFF_UNPUBLISHED)
from bot.turn import StaffTurn
from models import Ticket, board
from models.board import SCRUB_MASKS


@staff_command("公示", usage="公示 #N", ticket=True,
               help="公示 #N（把居民原话公示到公示清单，电话和房号自动隐去）")
def publish(turn: StaffTurn, ticket: Ticket, _rest: str) -> str:
    """Put the resident's words on the public board, phones, rooms and registered names hidden."""
    if not board.set_published(turn.session, ticket, True, SCRUB_MASKS, actor=turn.actor,
                               now=turn.now):
        return STAFF_PUBLISH_SAME.format(number=ticket.id, state=PUBLISH_STATES[True])
    shown = sum(1 for photo in ticket.photos if photo.public_key)
    return STAFF_PUBLISHED.format(number=ticket.id, text=notify.inline(ticket.public_text or ""),
                                  photos=STAFF_PUBLISHED_PHOTOS.format(count=shown) if shown else "")


@staff_command("撤回公示", usage="撤回公示 #N", ticket=True, staff_only=True, continues="公示",
               help="/ 撤回公示 #N")
def unpublish(turn: StaffTurn, ticket: Ticket, _rest: str) -> str:
    """Take the resident's words off the public board."""
    if not board.set_published(turn.session, ticket, False, SCRUB_MASKS, actor=turn.actor,
                               now=turn.now):
        return STAFF_PUBLISH_SAME.format(number=ticket.id, state=PUBLISH_STATES[False])
    return STAFF_UNPUBLISHED.format(number=ticket.id)
