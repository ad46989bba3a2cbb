"""Personal information (PIPL): what the bot holds about a resident, and erasing it.

Erasure keeps what the estate must keep — the tickets a resident reported and the
ballots of votes already decided — under a pseudonym: the resident's row stays
(tickets and ballots point at it) but its openid becomes a random token, so the
same person writing again starts afresh and nothing links the two. Everything
else goes: the binding and settings, message texts (their dedupe keys stay, so a
late WeChat retry is still recognised), the pending conversation, the labelled examples
made of their words (models/corrections.py), queued messages, the photos they sent (rows
here; the stored files by a job the caller queues, bot/photos.py),
the binding requests sent to staff (which named their home), follows, and their
choices in votes still open (models.votes.withdraw: a household's ballot falls back
to the latest choice of another member still eligible, or goes). Phone and room
numbers are scrubbed from the kept tickets.

What erasure does not reset: the sender's rate limit and binding attempts (kept under a
hash of the openid, never the openid), and one erasure a day per sender (`ErasureMark`).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import (ForeignKey, String, and_, cast, delete, func, literal, or_, select,
                        update)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.corrections import LabelledExample
from models.db import Base, UTCDateTime
from models.estate import Resident
from models.ratelimit import bucket_key, keep_bucket
from models.messages import Conversation, InboundMessage, OutboxMessage
from models.tickets import Follower, Ticket, TicketEvent, TicketPhoto
from models.votes import Ballot, BallotCast, Vote, withdraw

PSEUDONYM_PREFIX = "erased:"
MASK = "***"
UNSENT = ("pending", "held", "sending", "failed")
# Mainland mobiles (optionally +86), and landlines with an area code.
PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)"
                   r"|(?<!\d)0\d{2,3}[\s-]?\d{7,8}(?!\d)")
CN_DIGITS = "零〇一二三四五六七八九十两百"
# A room after its unit, in digits or Chinese numerals: 2单元1203, 二单元五零一.
ROOM_AFTER_UNIT = re.compile(rf"(单元\s*)(?:\d{{2,4}}|[{CN_DIGITS}]{{3,5}})(?!\d)")
ROOM_DASHED = re.compile(r"(?<![\d-])(\d{1,3}\s*-\s*\d{1,2}\s*-\s*)\d{2,4}(?!\d)")
ROOM_MARKED = re.compile(r"(?<!\d)\d{3,4}(?=\s*(?:室|房|号房|户))")


ERASE_EVERY = timedelta(hours=24)  # one erasure a day per sender


class ErasureMark(Base):
    """That a sender erased themselves, and when: a hash of the openid and the time, nothing else.

    It limits erasures per sender (each erasure made a fresh resident who could ask staff
    again), without linking the sender to the pseudonym their kept records go by.
    """

    __tablename__ = "erasure_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(100), index=True)  # models.ratelimit.bucket_key
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Erasure(Base):
    """A resident's erasure: the pseudonym their kept records go by, and when (no openid)."""

    __tablename__ = "erasures"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Holding:
    """What the bot holds about one resident."""

    home: str | None
    role: str | None
    verified: bool
    subscribed: bool
    reported: int
    followed: int
    ballots: int
    messages: int
    since: datetime
    photos: int = 0


@dataclass(frozen=True)
class Erased:
    """What an erasure did, for the reply and the tests."""

    pseudonym: str
    tickets_kept: int
    ballots_kept: int
    ballots_withdrawn: int
    messages_blanked: int
    photo_keys: tuple[str, ...] = ()  # stored files of the photos they sent, for the store to delete


def holding(session: Session, resident: Resident) -> Holding:
    """Return what the bot holds about the resident."""
    return Holding(
        home=resident.home.label if resident.home else None, role=resident.role,
        verified=resident.verified, subscribed=resident.subscribed,
        reported=_count(session, Ticket.id, Ticket.reporter_id == resident.id),
        followed=_count(session, Follower.id, Follower.resident_id == resident.id,
                        Follower.how != "reported"),
        ballots=_count(session, Ballot.id, Ballot.resident_id == resident.id),
        messages=_count(session, InboundMessage.id, InboundMessage.sender == resident.openid),
        since=resident.created_at,
        photos=_count(session, TicketPhoto.id, TicketPhoto.resident_id == resident.id))


def open_ballots(session: Session, resident: Resident, now: datetime) -> list[int]:
    """Return the undecided votes the resident's ballots are in (erasing withdraws those)."""
    return [v.id for v in _ballot_votes(session, resident) if v.state(now) != "closed"]


def next_erasure(session: Session, openid: str, now: datetime) -> datetime | None:
    """When this sender may erase themselves again; None when they may now."""
    last = session.scalar(select(func.max(ErasureMark.at)).where(
        ErasureMark.sender == bucket_key("wechat", openid)))
    return last + ERASE_EVERY if last is not None and last + ERASE_EVERY > now else None


def erase(session: Session, resident: Resident, now: datetime) -> Erased:
    """Erase the resident's personal information; keep tickets and decided ballots pseudonymised.

    The sender's rate-limit bucket stays (it holds no openid, only a hash), and so does a mark
    of the erasure under that hash, so erasing cannot be used to start afresh.
    """
    openid, pseudonym = resident.openid, PSEUDONYM_PREFIX + secrets.token_hex(12)
    # only what they cast: a household's ballot falls back to another eligible member's choice
    withdrawn = withdraw(session, resident.id, now)
    kept_ballots = _count(session, Ballot.id, Ballot.resident_id == resident.id)
    tickets = list(session.scalars(select(Ticket).where(Ticket.reporter_id == resident.id)))
    rooms = {t.room for t in tickets if t.room} | ({resident.home.room} if resident.home else set())
    for ticket in tickets:
        ticket.text, ticket.place, ticket.room = scrub(ticket.text, rooms), \
            scrub(ticket.place, rooms) if ticket.place else None, None
        ticket.public_text = None  # their words leave the public board
    _scrub_notes(session, resident, [t.id for t in tickets], rooms)
    _scrub_sent(session, [t.id for t in tickets], rooms)
    photo_keys = _forget_photos(session, resident)
    session.execute(delete(Follower).where(Follower.resident_id == resident.id))
    session.execute(delete(Conversation).where(Conversation.resident_id == resident.id))
    # their words kept to teach the engine: nothing the estate must keep
    session.execute(delete(LabelledExample).where(LabelledExample.resident_id == resident.id))
    session.execute(delete(OutboxMessage).where(
        OutboxMessage.status.in_(UNSENT), or_(
            and_(OutboxMessage.channel == "wechat", OutboxMessage.recipient == openid),
            OutboxMessage.dedupe_key.like(f"bind:{resident.id}:%"))))  # staff asked to confirm
    session.execute(update(OutboxMessage).where(
        OutboxMessage.channel == "wechat", OutboxMessage.recipient == openid)
        .values(recipient=pseudonym, body=""))
    # binding requests already sent, and their answers: the body named the home and the key
    # holds its id, next to the resident's number; both go
    session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"bind:{resident.id}:%"))
                    .values(body="", dedupe_key=literal("erased:") + cast(OutboxMessage.id, String)))
    blanked = session.execute(update(InboundMessage).where(InboundMessage.sender == openid)
                              .values(sender=pseudonym, content=None, reply=None)).rowcount
    resident.openid, resident.home, resident.estate_id = pseudonym, None, None  # where they live
    resident.role, resident.verified = None, False
    resident.subscribed, resident.following = False, False
    resident.last_inbound_at, resident.unfollowed_at, resident.pushes_since_inbound = None, None, 0
    # their rate-limit bucket goes back under the hash, where whoever writes next finds it
    keep_bucket(session, bucket_key("wechat", openid), resident.limit_tokens, resident.limit_stamp,
                resident.limit_warned)
    resident.limit_tokens = resident.limit_stamp = resident.limit_allowed = None
    resident.limit_told = resident.limit_warned = None
    session.add(Erasure(resident_id=resident.id, pseudonym=pseudonym, erased_at=now))
    session.execute(delete(ErasureMark).where(ErasureMark.at <= now - ERASE_EVERY))
    session.add(ErasureMark(sender=bucket_key("wechat", openid), at=now))
    session.flush()
    return Erased(pseudonym, len(tickets), kept_ballots, withdrawn, blanked, photo_keys)


def _forget_photos(session: Session, resident: Resident) -> tuple[str, ...]:
    """Delete the rows of the photos they sent (on any ticket; those sent before their sender
    was recorded count as the reporter's) and return the stored files' keys."""
    sent = or_(TicketPhoto.resident_id == resident.id, and_(
        TicketPhoto.resident_id.is_(None),
        TicketPhoto.ticket_id.in_(select(Ticket.id).where(Ticket.reporter_id == resident.id))))
    rows = session.execute(select(TicketPhoto.id, TicketPhoto.stored_key, TicketPhoto.public_key)
                           .where(sent)).all()
    if rows:
        session.execute(delete(TicketPhoto).where(TicketPhoto.id.in_([r.id for r in rows])))
    return tuple(key for r in rows for key in (r.stored_key, r.public_key) if key)


def scrub(text: str, rooms: Iterable[str] = ()) -> str:
    """Remove phone numbers and room numbers from a text, keeping building and unit."""
    return hide_rooms(PHONE.sub(MASK, text), rooms)


def hide_rooms(text: str, rooms: Iterable[str] = ()) -> str:
    """Remove room numbers (and the given rooms, written bare) from a text."""
    text = ROOM_AFTER_UNIT.sub(rf"\g<1>{MASK}", text)
    text = ROOM_DASHED.sub(rf"\g<1>{MASK}", text)
    text = ROOM_MARKED.sub(MASK, text)
    for room in sorted((r for r in rooms if len(r) >= 3), key=len, reverse=True):
        text = re.sub(rf"(?<![\d#＃]){re.escape(room)}(?!\d)", MASK, text)
    return text


def mask_phones(text: str) -> str:
    """Hide the middle of every phone number (139****5678), as group chats are wide."""
    return PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}" if m.group(1) else MASK, text)


def _scrub_notes(session: Session, resident: Resident, ticket_ids: list[int],
                 rooms: set[str]) -> None:
    """Scrub the notes of the resident's tickets and of what they added to others'.

    The event log is append-only for everything else; erasure is the one edit the law
    asks for, so it goes through a plain UPDATE that never touches who did what or when.
    """
    notes = session.execute(select(TicketEvent.id, TicketEvent.note).where(
        TicketEvent.note.is_not(None),
        or_(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.actor == f"resident:{resident.id}")))
    for event_id, note in notes.all():
        clean = scrub(note, rooms)
        if clean != note:
            log = TicketEvent.__table__
            session.execute(update(log).where(log.c.id == event_id).values(note=clean))


def _scrub_sent(session: Session, ticket_ids: list[int], rooms: set[str]) -> None:
    """Scrub the kept copies of cards and updates about the resident's tickets."""
    rows = session.execute(select(OutboxMessage.id, OutboxMessage.body).where(
        OutboxMessage.ticket_id.in_(ticket_ids))).all() if ticket_ids else []
    for message_id, body in rows:
        clean = scrub(body, rooms)
        if clean != body:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                            .values(body=clean))


def _ballot_votes(session: Session, resident: Resident) -> list[Vote]:
    return list(session.scalars(select(Vote).join(BallotCast, BallotCast.vote_id == Vote.id)
                                .where(BallotCast.resident_id == resident.id).order_by(Vote.id)))


def _count(session: Session, column: object, *where: object) -> int:
    return session.scalar(select(func.count(column)).where(*where)) or 0  # type: ignore[arg-type]
