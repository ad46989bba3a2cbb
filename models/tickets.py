"""Tickets, their append-only event log, their photos, and the allowed state changes."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import (BigInteger, Boolean, ForeignKey, Index, Integer, Select, String, Text,
                        UniqueConstraint, bindparam, event, insert, inspect, literal_column, select,
                        text)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.db import Base, Prepared, UTCDateTime, one_of
from models.staff import Staff

OPEN_STATES = ("open", "claimed", "reopened")

# from-state -> the states it may move to; everything else is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"claimed", "resolved", "rejected", "merged", "withdrawn"}),
    "claimed": frozenset({"resolved", "rejected", "merged", "withdrawn"}),
    "reopened": frozenset({"claimed", "resolved", "rejected", "merged", "withdrawn"}),
    "resolved": frozenset({"closed", "reopened"}),
    "closed": frozenset({"reopened"}),  # the look back (回头看) found it broken again
    "rejected": frozenset(),
    "merged": frozenset(),
    # 不是报修: the message was no problem (a question, a thank-you); it counts against nobody
    "withdrawn": frozenset(),
}
# what residents and staff read for each state (the public board says resolved its own way)
STATE_NAMES: dict[str, str] = {
    "open": "待受理", "claimed": "处理中", "reopened": "重新处理中",
    "resolved": "已处理，待您评价", "closed": "已办结", "rejected": "已退回",
    "merged": "已合并", "withdrawn": "已撤销（不是报修）",
}


class TransitionError(ValueError):
    """A state change the ticket's current state does not allow."""


class Ticket(Base):
    """A reported problem or suggestion; its id is the number #N residents see."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_reporter_created", "reporter_id", "created_at"),
        Index("ix_tickets_state_created", "state", "created_at"),
        Index("ix_tickets_resolved_at", "resolved_at"),
        # the public board and Open311: newest first, each filter a range of one index
        Index("ix_tickets_board", "created_at", "id"),
        Index("ix_tickets_board_state", "state", "created_at", "id"),
        Index("ix_tickets_board_category", "category", "created_at", "id"),
        Index("ix_tickets_board_building", "building", "created_at", "id"),
        Index("ix_tickets_board_estate", "estate_id", "created_at", "id"),
        Index("ix_tickets_board_suggestions", "created_at", "id",  # only suggestions lack a category
              sqlite_where=text("category IS NULL"), postgresql_where=text("category IS NULL")),
        {"sqlite_autoincrement": True},  # numbers are never reused
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), active_history=True)  # "problem" or "suggestion"
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), active_history=True)  # None: no estate yet
    category: Mapped[str | None] = mapped_column(String(32), active_history=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    building: Mapped[str | None] = mapped_column(String(16), active_history=True)
    unit: Mapped[str | None] = mapped_column(String(16))
    room: Mapped[str | None] = mapped_column(String(16))
    place: Mapped[str | None] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open", active_history=True)
    level: Mapped[str] = mapped_column(String(16), default="grid", active_history=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), active_history=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True, active_history=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None] = mapped_column(Integer, active_history=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, active_history=True)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # handler warned, this deadline
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last daily reminder at street
    looked_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 回头看 asked
    # the resident's words as staff published them on the board, scrubbed (None: not published)
    public_text: Mapped[str | None] = mapped_column(Text)
    # what the rollups rank by (models/rollups.py): microseconds from report to first response and
    # to resolution, kept only while the ticket counts in the figures (else None)
    response_us: Mapped[int | None] = mapped_column(BigInteger)
    fix_us: Mapped[int | None] = mapped_column(BigInteger)

    assignee: Mapped[Staff | None] = relationship()
    followers: Mapped[list[Follower]] = relationship(order_by="Follower.id")
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id")
    photos: Mapped[list[TicketPhoto]] = relationship(order_by="TicketPhoto.id")


class TicketEvent(Base):
    """One thing that happened to a ticket: who, what, when. Never changed."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))  # "resident:7", "staff:zhang", "system"
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class Follower(Base):
    """A resident who follows a ticket: its reporter, and anyone affected by the same problem."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    how: Mapped[str] = mapped_column(String(16))  # "reported", "me_too", "merged"


class TicketPhoto(Base):
    """A photo a resident sent for a ticket, and where its kept copies lie once downloaded.

    WeChat keeps `media_id` three days and `pic_url` is temporary: the download job
    (bot/photos.py) copies the file into the project's storage as `stored_key`, and a
    re-encoded copy without EXIF as `public_key` (what the board may show once published).
    """

    __tablename__ = "ticket_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    media_id: Mapped[str] = mapped_column(String(200))
    pic_url: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # who sent it (None: sent before migration 0020; then it counts as the reporter's)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    stored_key: Mapped[str | None] = mapped_column(String(200))  # the file as sent
    public_key: Mapped[str | None] = mapped_column(String(200))  # re-encoded, no metadata
    content_type: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(Integer)  # bytes of the file as sent
    kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    problem: Mapped[str | None] = mapped_column(String(16))  # "not_image", "too_large"


@event.listens_for(Session, "before_flush")
def _keep_log_append_only(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, TicketEvent):
            raise TransitionError("the ticket event log is append-only")


def record(session: Session, ticket: Ticket, *, actor: str, action: str,
           now: datetime, note: str | None = None) -> TicketEvent:
    """Append an event to the ticket's log."""
    entry = TicketEvent(ticket=ticket, at=now, actor=actor, action=action, note=note)
    session.add(entry)
    ticket.updated_at = now
    return entry


_LOG = Prepared(insert(TicketEvent.__table__).values(
    ticket_id=bindparam("b_ticket"), at=bindparam("b_at", type_=UTCDateTime()),
    actor=bindparam("b_actor"), action=bindparam("b_action"), note=bindparam("b_note")))
_FOLLOW = Prepared(insert(Follower.__table__).values(
    ticket_id=bindparam("b_ticket"), resident_id=bindparam("b_resident"),
    joined_at=bindparam("b_at", type_=UTCDateTime()), how=bindparam("b_how")))


def log(session: Session, ticket: Ticket, *, actor: str, action: str, now: datetime,
        note: str | None = None) -> None:
    """`record`, for a caller that needs no event back: the event is written at once, by one
    INSERT, instead of as an object for the session's flush, which costs the ORM several times
    the statement (a report writes two such rows). When the session holds the ticket's log
    loaded, or the ticket is not written yet, `record` does it, so what is loaded stays whole."""
    if ticket.id is None or "events" in inspect(ticket).dict:
        record(session, ticket, actor=actor, action=action, now=now, note=note)
        return
    _LOG.execute(session, {"b_ticket": ticket.id, "b_at": now, "b_actor": actor, "b_action": action,
                           "b_note": note})
    if ticket.updated_at != now:  # a ticket just opened has it: set again, the ORM would flush it
        ticket.updated_at = now


def follow(session: Session, ticket_id: int, resident_id: int, *, now: datetime, how: str) -> None:
    """Make a resident follow a written ticket ("reported", "me_too", "merged"), by one INSERT
    (as `log` writes an event)."""
    _FOLLOW.execute(session, {"b_ticket": ticket_id, "b_resident": resident_id, "b_at": now,
                              "b_how": how})


def transition(session: Session, ticket: Ticket, to: str, *, actor: str,
               now: datetime, note: str | None = None) -> None:
    """Move the ticket to a new state, or raise TransitionError; log it either way it succeeds."""
    if to not in TRANSITIONS.get(ticket.state, frozenset()):
        raise TransitionError(f"ticket #{ticket.id} cannot go from {ticket.state} to {to}")
    ticket.state = to
    if to == "resolved":
        ticket.resolved_at = now
    record(session, ticket, actor=actor, action=to, now=now, note=note)


DUPLICATE_WINDOW = timedelta(hours=24)
# Problems of the estate as a whole: one open ticket covers every report, wherever it is made.
ESTATE_WIDE = frozenset({"property_service"})


def similar_open(session: Session, *, category: str | None, building: str | None,
                 place: str | None, now: datetime, resident_id: int,
                 estate_id: int | None = None) -> Ticket | None:
    """Return an open ticket of the same problem from the last 24 hours, not the resident's own,
    in the same estate."""
    if not category or category == "other":
        return None
    where = "estate" if category in ESTATE_WIDE else "building" if building else \
        "place" if place else None
    if where is None:
        return None
    return session.scalar(_similar(estate_id is None, where), {
        "category": category, "estate": estate_id, "since": now - DUPLICATE_WINDOW,
        "resident": resident_id, "building": building, "place": place})


# SQL: the ticket is open, its states written into the statement, not bound: only then can
# SQLite (and a prepared PostgreSQL statement) tell that a partial index of open tickets holds
# the answer (models/indexes.py; the deadlines' in models/ranks.py).
# Written in as the statement is compiled (once: it is cached), not at each execution as a
# literal_execute parameter was (a few percent of a report); the states are plain words.
IS_OPEN = Ticket.state.in_([literal_column(f"'{state}'", String()) for state in OPEN_STATES])


@lru_cache(maxsize=None)
def _similar(no_estate: bool, where: str) -> Select[tuple[Ticket]]:
    """similar_open's query, built once for each shape (every report asks it)."""
    query = select(Ticket).where(
        Ticket.kind == "problem", Ticket.category == bindparam("category", type_=String()),
        IS_OPEN,
        Ticket.estate_id.is_(None) if no_estate else Ticket.estate_id == bindparam("estate", type_=Integer()),
        Ticket.created_at >= bindparam("since", type_=UTCDateTime()),
        ~Ticket.followers.any(Follower.resident_id == bindparam("resident", type_=Integer())))
    if where == "building":
        query = query.where(Ticket.building == bindparam("building", type_=String()))
    elif where == "place":
        query = query.where(Ticket.building.is_(None), Ticket.place == bindparam("place", type_=String()))
    return query.order_by(Ticket.id).limit(1)


def followed(session: Session, resident_id: int, number: int | None,
             states: tuple[str, ...]) -> Ticket | None:
    """The resident's ticket by number, else the latest one they follow in those states."""
    query = (select(Ticket).join(Follower, Follower.ticket_id == Ticket.id)
             .where(Follower.resident_id == resident_id, one_of(Ticket.state, states)))
    if number is not None:
        query = query.where(Ticket.id == number)
    return session.scalar(query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(1))
