"""A token bucket per sender, shared by every web process through the database."""
from __future__ import annotations

import hashlib

from sqlalchemy import Boolean, Float, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import INSERTS, Base, dialect_of


class RateLimit(Base):
    """One sender's bucket: tokens left at `stamp` (epoch seconds) and when they were last told."""

    __tablename__ = "rate_limits"

    sender: Mapped[str] = mapped_column(String(100), primary_key=True)  # bucket_key()
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[float] = mapped_column(Float)
    allowed: Mapped[bool] = mapped_column(Boolean)  # the last message's verdict
    told: Mapped[bool] = mapped_column(Boolean)  # the last message was the one told to slow down
    warned: Mapped[float | None] = mapped_column(Float)  # when the sender was last told to slow down


def bucket_key(channel: str, sender: str) -> str:
    """Return the counter's key: the channel and a hash of the sender, never the openid itself."""
    return f"{channel}:{hashlib.sha256(sender.encode('utf-8')).hexdigest()[:40]}"


def keep_bucket(session: Session, key: str, tokens: float | None, stamp: float | None,
                warned: float | None) -> None:
    """Keep a bucket under the sender's hash: a resident's own, as their row forgets who they are
    (bot/turn.py reads it back for whoever writes next under that openid)."""
    if tokens is None or stamp is None:
        return
    table = RateLimit.__table__
    values = {"tokens": tokens, "stamp": stamp, "allowed": tokens >= 0.0, "told": False, "warned": warned}
    statement = INSERTS[dialect_of(session)](table).values(sender=key, **values)
    session.execute(statement.on_conflict_do_update(index_elements=[table.c.sender], set_=values))
