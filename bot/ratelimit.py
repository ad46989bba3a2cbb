"""Rate limits per sender: one flooding resident is slowed, nobody else.

A token bucket per sender lives in the database (`rate_limits`), so the limit holds
across every web process and host: `burst` messages at once, then `per_minute`. Each
message costs one UPSERT that refills, takes a token and returns the verdict, in the
same transaction that stores the message (a refused message stores nothing else).
The first refusal in a minute gets one polite answer; the rest get `success` alone.

A resident already known takes their token in the statement that stamps their message
(bot/turn.py `stamp_and_take`: the bucket is kept on their row), so their message costs
no statement of its own for the limit; `rate_limits` keeps the buckets of everyone else.

Fast path: once the database has refused a sender, this process remembers until when
the bucket stays empty and refuses their messages without asking the database, so a
flood costs the database one write per token, not one per message.

The counter is keyed by a hash of the sender, so `rate_limits` holds no openid.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, and_, bindparam, case, func, not_
from sqlalchemy.orm import Session

from models.db import INSERTS, dialect_of
from models.ratelimit import RateLimit
from settings import RateLimit as Limits

WARN_EVERY = 60.0  # seconds: a limited sender is told at most once a minute
MAX_REMEMBERED = 10_000  # senders this process remembers as refused


@dataclass(frozen=True)
class Verdict:
    """Whether a message may be handled, and whether to tell the sender to slow down."""

    allowed: bool
    warn: bool = False


ALLOWED = Verdict(True)
SILENT = Verdict(False)


class Limiter:
    """The per-sender token bucket, with this process's memory of who is refused."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self._refused_until: dict[str, float] = {}
        self._statements: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, limits: Limits | None) -> Limiter | None:
        """Build the limiter from `[ratelimit]`; None when the section is absent."""
        return None if limits is None else cls(limits.per_minute, limits.burst)

    def known_refused(self, sender: str, now: float) -> bool:
        """Tell, without the database, whether the sender's bucket is still empty."""
        with self._lock:
            until = self._refused_until.get(sender)
            if until is None:
                return False
            if now < until:
                return True
            del self._refused_until[sender]
            return False

    def check(self, session: Session, sender: str, now: float) -> Verdict:
        """Take a token for the sender in the session's transaction; return the verdict."""
        name = dialect_of(session)
        statement = self._statements.get(name)
        if statement is None:
            statement = self._statements[name] = self._take(name)
        tokens, allowed, told = session.execute(statement, {"who": sender, "at": now}).one()
        return self.verdict(sender, now, tokens, allowed, told)

    def verdict(self, sender: str, now: float, tokens: float, allowed: bool, told: bool) -> Verdict:
        """The verdict of a bucket as a statement left it; a refused sender is remembered."""
        if allowed:
            return ALLOWED
        self._remember(sender, now + (1.0 - tokens) / self.rate)
        return Verdict(False, warn=bool(told))

    def bucket(self, tokens: Any, stamp: Any, warned: Any, at: Any, dialect: str) -> dict[str, Any]:
        """The SET values that refill a bucket, take a token and record the verdict, for any
        table with these columns (`rate_limits`, or a resident's own: bot/turn.py). SET reads
        the row as it was, so `told` is this message's own decision; a bucket never used
        (NULL) is full.

        Each input is written once in the refill (the dialect's two-argument min and max): the
        SQL of a resident's stamp stays short enough for psycopg to keep its parsed form, which
        it does only for statements under 4 kB."""
        least, greatest = (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
        refilled = least(func.coalesce(tokens + greatest(at - stamp, 0.0) * self.rate, self.burst),
                         self.burst)
        has_token = refilled >= 1.0
        tell = and_(not_(has_token), func.coalesce(warned, 0.0) <= at - WARN_EVERY)  # never told: 0
        return {"tokens": refilled - case((has_token, 1.0), else_=0.0), "stamp": at,
                "allowed": has_token, "told": tell, "warned": case((tell, at), else_=warned)}

    def _take(self, dialect: str) -> Any:
        """The UPSERT that refills the sender's bucket, takes a token and returns the verdict
        (built once per dialect: only the sender and the time vary)."""
        c = RateLimit.__table__.c
        at = bindparam("at", type_=Float())
        return INSERTS[dialect](RateLimit.__table__).values(
            sender=bindparam("who"), tokens=self.burst - 1.0, stamp=at, allowed=True,
            told=False, warned=None
        ).on_conflict_do_update(index_elements=[c.sender], set_=self.bucket(
            c.tokens, c.stamp, c.warned, at, dialect)).returning(c.tokens, c.allowed, c.told)

    def _remember(self, sender: str, until: float) -> None:
        with self._lock:
            if len(self._refused_until) >= MAX_REMEMBERED:
                self._refused_until.clear()  # forgetting only costs a database round trip
            self._refused_until[sender] = until
