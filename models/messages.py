"""What came in (deduplicated), what a conversation waits for, and what must go out."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, UTCDateTime


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
