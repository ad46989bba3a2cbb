"""A token bucket per sender, shared by every web process through the database."""
from __future__ import annotations

import hashlib

from sqlalchemy import Boolean, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base


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
