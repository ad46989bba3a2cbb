"""Follow up one's own tickets."""
from __future__ import annotations

from sqlalchemy import Select, select

from intents import Parse
from bot import notify
from bot.replies.tickets import (NO_TICKETS, TICKET_DETAIL, TICKET_LINE, TICKET_LIST_HEAD,
                                 TICKET_NOT_FOUND)
from bot.turn import Turn
from models import Follower, Ticket
from models.tickets import STATE_NAMES

LIST_LIMIT = 5


def show_status(turn: Turn, parse: Parse) -> str:
    """Show the ticket the resident names, or their latest tickets."""
    if parse.ticket is not None:
        ticket = turn.session.scalar(_followed(turn).where(Ticket.id == parse.ticket))
        if ticket is None:
            return TICKET_NOT_FOUND.format(number=parse.ticket)
        return TICKET_DETAIL.format(
            number=ticket.id, category=notify.category_name(ticket), place=ticket.place or "—",
            state=STATE_NAMES[ticket.state],
            created=_when(turn, ticket.created_at), updated=_when(turn, ticket.updated_at))
    tickets = turn.session.scalars(
        _followed(turn).order_by(Ticket.id.desc()).limit(LIST_LIMIT)).all()
    if not tickets:
        return NO_TICKETS
    lines = [TICKET_LINE.format(
        number=t.id, category=notify.category_name(t), place=t.place or "—",
        state=STATE_NAMES[t.state], date=_when(turn, t.created_at, day_only=True))
        for t in tickets]
    return "\n".join([TICKET_LIST_HEAD, *lines])


def _followed(turn: Turn) -> Select[tuple[Ticket]]:
    """The tickets the resident follows: reported, joined as "me too", or merged into."""
    return select(Ticket).join(Follower, Follower.ticket_id == Ticket.id).where(
        Follower.resident_id == turn.resident.id)


def _when(turn: Turn, moment: object, day_only: bool = False) -> str:
    local = turn.services.local(moment)  # type: ignore[arg-type]
    return local.strftime("%m-%d" if day_only else "%m-%d %H:%M")
