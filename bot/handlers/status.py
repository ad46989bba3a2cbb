"""Follow up one's own tickets."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from intents import Parse
from bot import notify
from bot.replies.tickets import (NO_TICKETS, TICKET_DETAIL, TICKET_LINE, TICKET_LIST_HEAD,
                                 TICKET_NOT_FOUND)
from bot.turn import Turn
from models import Follower, Ticket
from models.db import Prepared
from models.tickets import STATE_NAMES

LIST_LIMIT = 5

# The tickets the resident follows (reported, joined as "me too", or merged into), as plain
# rows (notify.category_name reads their kind and category as a Ticket's): Core statements
# built once, since a status question is the message residents send most.
_TICKETS, _FOLLOWERS = Ticket.__table__, Follower.__table__
_FOLLOWED = (select(_TICKETS.c.id, _TICKETS.c.kind, _TICKETS.c.category, _TICKETS.c.place,
                    _TICKETS.c.state, _TICKETS.c.created_at, _TICKETS.c.updated_at)
             .join(_FOLLOWERS, _FOLLOWERS.c.ticket_id == _TICKETS.c.id)
             .where(_FOLLOWERS.c.resident_id == bindparam("resident")))
_ONE = Prepared(_FOLLOWED.where(_TICKETS.c.id == bindparam("number")))
_LATEST = Prepared(_FOLLOWED.order_by(_TICKETS.c.id.desc()).limit(LIST_LIMIT))


def show_status(turn: Turn, parse: Parse) -> str:
    """Show the ticket the resident names, or their latest tickets."""
    if parse.ticket is not None:
        ticket = _ONE.first(turn.session, {"resident": turn.resident.id, "number": parse.ticket})
        if ticket is None:
            return TICKET_NOT_FOUND.format(number=parse.ticket)
        return TICKET_DETAIL.format(
            number=ticket.id, category=notify.category_name(ticket), place=ticket.place or "—",
            state=STATE_NAMES[ticket.state],
            created=_when(turn, ticket.created_at), updated=_when(turn, ticket.updated_at))
    tickets = _LATEST.execute(turn.session, {"resident": turn.resident.id})
    if not tickets:
        return NO_TICKETS
    lines = [TICKET_LINE.format(
        number=t.id, category=notify.category_name(t), place=t.place or "—",
        state=STATE_NAMES[t.state], date=_when(turn, t.created_at, day_only=True))
        for t in tickets]
    return "\n".join([TICKET_LIST_HEAD, *lines])


def _when(turn: Turn, moment: object, day_only: bool = False) -> str:
    local = turn.services.local(moment)  # type: ignore[arg-type]
    return local.strftime("%m-%d" if day_only else "%m-%d %H:%M")
