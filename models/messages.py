"""What came in (deduplicated), what a conversation waits for, and what must go out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, bindparam,
                        case, or_, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import INSERTS, Base, Prepared, UTCDateTime, built_once, one_of


class InboundMessage(Base):
    """A message or event as received; its dedupe key makes WeChat's retries harmless."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    sender: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="processing")  # processing, done, failed
    reply: Mapped[str | None] = mapped_column(Text)
    reply_via: Mapped[str | None] = mapped_column(String(16))  # "passive" or "push"
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The signed request's nonce, and when its timestamp leaves the window (bot/channels/replay.py).
    # Unique together: a nonce with the same timestamp signs one message; a second message
    # under it is a replayed signature, refused by the claim itself (NULL for unsigned ones).
    nonce: Mapped[str | None] = mapped_column(String(64))
    nonce_expires: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("channel", "nonce", "nonce_expires", name="uq_inbound_nonce"),)


# Status of a row that only keeps a nonce: a retry of a message that came under a nonce other
# than the one its row keeps (see claim_message).
NONCE_ONLY = "nonce"


@dataclass(frozen=True)
class Claimed:
    """A message's row as the claim found it: ours to handle (new, or taken over), or not."""

    id: int
    ours: bool
    status: str
    reply: str | None
    reply_via: str | None


class Replayed(Exception):
    """A signed request's nonce was already used for another message: a replayed signature."""


def _nonce_clash(err: IntegrityError) -> bool:
    """Whether the database refused a row for its nonce (and not for anything else)."""
    return "nonce" in str(err.orig)


@built_once
def _claim_upsert(dialect: str) -> Prepared:
    c = InboundMessage.__table__.c
    at = bindparam("now", type_=UTCDateTime())
    takeable = or_(one_of(c.status, ("failed", "refused")),
                   and_(c.status == "processing",
                        c.received_at < bindparam("stale_before", type_=UTCDateTime())))
    statement = INSERTS[dialect](InboundMessage.__table__).values(
        channel=bindparam("b_channel"), dedupe_key=bindparam("b_key"),
        sender=bindparam("b_sender"), msg_type=bindparam("b_msg_type"),
        content=bindparam("b_content"), received_at=at, status="processing",
        nonce=bindparam("b_nonce"), nonce_expires=bindparam("b_nonce_expires", type_=UTCDateTime()))
    return Prepared(statement.on_conflict_do_update(
        index_elements=[c.dedupe_key],
        set_={"status": case((takeable, "processing"), else_=c.status),
              "received_at": case((takeable, at), else_=c.received_at),
              "content": case((takeable, statement.excluded.content), else_=c.content)},
    ).returning(c.id, c.status, c.reply, c.reply_via, c.received_at, c.nonce, c.nonce_expires))


@built_once
def _nonce_row(dialect: str) -> Any:
    statement = INSERTS[dialect](InboundMessage.__table__).values(
        channel=bindparam("b_channel"), dedupe_key=bindparam("b_key"), sender="",
        msg_type=NONCE_ONLY, received_at=bindparam("now", type_=UTCDateTime()), status=NONCE_ONLY,
        nonce=bindparam("b_nonce"), nonce_expires=bindparam("b_nonce_expires", type_=UTCDateTime()))
    return statement.on_conflict_do_nothing(index_elements=[InboundMessage.__table__.c.dedupe_key])


def claim_message(session: Session, *, channel: str, key: str, sender: str, msg_type: str,
                  content: str | None, now: datetime, stale: timedelta,
                  nonce: str | None = None, nonce_expires: datetime | None = None) -> Claimed:
    """Insert a message under its dedupe key, or take over its row, in one statement.

    A row a failed handler left, one a rate limit refused, or one left `processing` for
    longer than `stale`, is taken over; any other row is someone else's (a retry of a
    message handled or in hand), returned with its stored reply. The unique key makes a
    concurrent arrival wait for the transaction that holds the row.

    The row keeps the signed request's nonce: a nonce (with its timestamp) already kept for
    another message makes the insert fail on `uq_inbound_nonce`, raised here as Replayed
    (the caller rolls back). A retry that came under another nonce than the row keeps has
    its nonce kept in a row of its own, so that nonce cannot sign anything else either.
    """
    values = {"b_channel": channel, "b_key": key, "b_nonce": nonce, "b_nonce_expires": nonce_expires}
    try:
        connection = session.connection()  # Core on the connection: every message's first statement
        row = _claim_upsert(session).first(connection, {
            **values, "b_sender": sender, "b_msg_type": msg_type, "b_content": content, "now": now,
            "stale_before": now - stale})
        if nonce is not None and (row.nonce, row.nonce_expires) != (nonce, nonce_expires):
            connection.execute(_nonce_row(session), {
                **values, "b_key": f"{NONCE_ONLY}:{channel}:{nonce}:{nonce_expires.timestamp():.0f}", "now": now})
    except IntegrityError as err:
        if _nonce_clash(err):
            raise Replayed() from None
        raise
    ours = row.status == "processing" and row.received_at == now
    return Claimed(row.id, ours, row.status, row.reply, row.reply_via)


def release_claim(session: Session, claimed: Claimed) -> None:
    """Give back a claim refused before handling (a rate limit): the row keeps only that it was
    refused and its nonce (so the signature stays spent), not the words; a later arrival of
    the message takes it over and is handled afresh."""
    table = InboundMessage.__table__
    session.execute(update(table).where(table.c.id == claimed.id)
                    .values(status="refused", content=None))


_FINISH = Prepared(update(InboundMessage.__table__)
                   .where(InboundMessage.__table__.c.id == bindparam("row_id"))
                   .values(status="done", reply=bindparam("b_reply"), reply_via=bindparam("via"),
                           finished_at=bindparam("now", type_=UTCDateTime())))


def finish_message(session: Session, row_id: int, *, reply: str, via: str, now: datetime) -> None:
    """Store the reply on the message's row: it is done."""
    _FINISH.execute(session.connection(), {"row_id": row_id, "b_reply": reply, "via": via, "now": now})


class Conversation(Base):
    """What the bot waits for from a resident (a place, a description), until it expires."""

    __tablename__ = "conversations"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    waiting_for: Mapped[str] = mapped_column(String(32))  # "place", "description"
    payload: Mapped[str] = mapped_column(Text)  # JSON
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message to send through WeChat or WeCom; delivered at least once, deduplicated by key."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    # "wechat" (customer service, else template), "wecom_app", "wecom_group", "wecom_response"
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(500))  # openid, UserID, group name or URL
    kind: Mapped[str] = mapped_column(String(16))  # "text", "markdown", "ticket_update"
    body: Mapped[str] = mapped_column(Text)
    # pending -> sending -> sent | failed; "held" waits for the resident to write again
    status: Mapped[str] = mapped_column(String(16), default="pending")
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    via: Mapped[str | None] = mapped_column(String(32))  # the API that took it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class AccessToken(Base):
    """An API access token, shared by every process so none fetches its own."""

    __tablename__ = "access_tokens"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
