"""What came in (deduplicated), what a conversation waits for, and what must go out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (ForeignKey, Index, Integer, String, Text, and_, bindparam, case, delete,
                        or_, update)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import INSERTS, Base, UTCDateTime, built_once


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


class RequestNonce(Base):
    """A signed request's nonce, kept while its timestamp is in the window (bot/replay.py).

    A nonce seen again with the same message is WeChat retrying; with another message it is
    a replayed signature, refused. `digest` is a hash of the message's fields, not its words.
    """

    __tablename__ = "request_nonces"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


@built_once
def _nonce_upsert(dialect: str) -> Any:
    table = RequestNonce.__table__
    statement = INSERTS[dialect](table).values(
        channel=bindparam("b_channel"), nonce=bindparam("b_nonce"), digest=bindparam("b_digest"),
        expires_at=bindparam("b_expires_at", type_=UTCDateTime()))
    return statement.on_conflict_do_update(
        index_elements=[table.c.channel, table.c.nonce],
        set_={"digest": statement.excluded.digest, "expires_at": statement.excluded.expires_at},
        where=or_(table.c.expires_at < bindparam("now", type_=UTCDateTime()),
                  table.c.digest == statement.excluded.digest)
    ).returning(table.c.nonce)


def admit_nonce(session: Session, channel: str, nonce: str, digest: str, expires_at: datetime,
                now: datetime) -> bool:
    """Record a request's nonce; False when it is held, unexpired, for another message.

    One statement: the insert waits for a concurrent request that holds the same nonce to
    commit (a unique key), so two requests racing with one nonce cannot both pass with
    different messages. A row whose window has passed (not yet swept) is taken over; a row
    of the same message (WeChat retrying) is kept and passes.
    """
    taken = session.execute(_nonce_upsert(session), {
        "b_channel": channel, "b_nonce": nonce, "b_digest": digest, "b_expires_at": expires_at,
        "now": now}).first()
    return taken is not None


@dataclass(frozen=True)
class Claimed:
    """A message's row as the claim found it: ours to handle (new, or taken over), or not."""

    id: int
    ours: bool
    status: str
    reply: str | None
    reply_via: str | None


@built_once
def _claim_upsert(dialect: str) -> Any:
    c = InboundMessage.__table__.c
    at = bindparam("now", type_=UTCDateTime())
    takeable = or_(c.status == "failed", and_(c.status == "processing",
                                              c.received_at < bindparam("stale_before", type_=UTCDateTime())))
    statement = INSERTS[dialect](InboundMessage.__table__).values(
        channel=bindparam("b_channel"), dedupe_key=bindparam("b_key"),
        sender=bindparam("b_sender"), msg_type=bindparam("b_msg_type"),
        content=bindparam("b_content"), received_at=at,
        status="processing")
    return statement.on_conflict_do_update(
        index_elements=[c.dedupe_key],
        set_={"status": case((takeable, "processing"), else_=c.status),
              "received_at": case((takeable, at), else_=c.received_at)},
    ).returning(c.id, c.status, c.reply, c.reply_via, c.received_at)


def claim_message(session: Session, *, channel: str, key: str, sender: str, msg_type: str,
                  content: str | None, now: datetime, stale: timedelta) -> Claimed:
    """Insert a message under its dedupe key, or take over its row, in one statement.

    A row a failed handler left, or one left `processing` for longer than `stale`, is
    taken over; any other row is someone else's (a retry of a message handled or in hand),
    returned with its stored reply. The unique key makes a concurrent arrival wait for the
    transaction that holds the row.
    """
    row = session.execute(_claim_upsert(session), {
        "b_channel": channel, "b_key": key, "b_sender": sender, "b_msg_type": msg_type,
        "b_content": content, "now": now, "stale_before": now - stale}).one()
    ours = row.status == "processing" and row.received_at == now
    return Claimed(row.id, ours, row.status, row.reply, row.reply_via)


def release_claim(session: Session, claimed: Claimed) -> None:
    """Give back a claim refused before handling (a rate limit): the row goes, so nothing of
    the message is stored and a later arrival is handled afresh."""
    table = InboundMessage.__table__
    session.execute(delete(table).where(table.c.id == claimed.id))


_FINISH = (update(InboundMessage.__table__)
           .where(InboundMessage.__table__.c.id == bindparam("row_id"))
           .values(status="done", reply=bindparam("b_reply"), reply_via=bindparam("via"),
                   finished_at=bindparam("now", type_=UTCDateTime())))


def finish_message(session: Session, row_id: int, *, reply: str, via: str, now: datetime) -> None:
    """Store the reply on the message's row: it is done."""
    session.execute(_FINISH, {"row_id": row_id, "b_reply": reply, "via": via, "now": now})


def sweep_nonces(session: Session, now: datetime) -> int:
    """Forget nonces whose timestamps have left the window; return how many."""
    return session.execute(delete(RequestNonce).where(RequestNonce.expires_at < now)).rowcount


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
