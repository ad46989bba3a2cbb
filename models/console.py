"""The console's operators, their sessions, their sign-in attempts and the audit log.

Passwords are kept as werkzeug's scrypt hashes, never in the clear. A session is a row whose
id the browser holds (signed, in Flask's cookie); the database keeps only a hash of that id,
so signing out, or an operator's removal, ends it on every worker at once. Failed sign-ins
are rows too, so the lockout holds across workers.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from models.db import Base, UTCDateTime
from models.estate import Estate
from models.staff import Staff

PASSWORD_METHOD = "scrypt"
MIN_PASSWORD = 10
SESSION_IDLE = timedelta(hours=2)
SESSION_MAX = timedelta(hours=12)
# Sign-in lockout: this many failures within WINDOW lock the account (or the address) for WINDOW.
WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
# A hash to check against when the name is unknown, so a wrong name costs as long as a
# wrong password (no telling which names exist by the time taken).
_DECOY = generate_password_hash(secrets.token_hex(16), method=PASSWORD_METHOD)


class Operator(Base):
    """Someone who signs in to /console, at a level, over a scope.

    grid: `buildings` of `estate`; property and estate: `estate`; community: the estates
    whose community is `community`; street: the estates whose street is `street`.
    """

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16))  # one of models.staff.LEVELS
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"))
    community: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(100))
    buildings: Mapped[str] = mapped_column(String(200), default="")  # grid: "1-5,8"
    # the staff identity their ticket actions are recorded under (接单 as them)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    estate: Mapped[Estate | None] = relationship()
    staff: Mapped[Staff | None] = relationship()


class ConsoleSession(Base):
    """A signed-in browser: the hash of the id its cookie holds, and until when it is good."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"),
                                             index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    operator: Mapped[Operator] = relationship()


class SignInAttempt(Base):
    """One failed sign-in: the name tried and the address it came from."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class AuditEntry(Base):
    """One console action: who, when, on what, and what changed (before and after, JSON)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id", ondelete="SET NULL"))
    operator_name: Mapped[str] = mapped_column(String(50))  # kept when the operator is removed
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(Text)  # what the operator was told
    changes: Mapped[str] = mapped_column(Text)  # JSON: {"field": [before, after]}
    changed: Mapped[bool] = mapped_column(Boolean, default=True)


def hash_password(password: str) -> str:
    """The stored form of a password (scrypt, salted)."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


def check_password(operator: Operator | None, password: str) -> bool:
    """Whether the password is the operator's; as slow for an unknown operator."""
    if operator is None:
        check_password_hash(_DECOY, password)
        return False
    return check_password_hash(operator.password_hash, password)


def session_key(token: str) -> str:
    """The stored id of a session: the SHA-256 of what the cookie holds."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(session: Session, operator: Operator, now: datetime) -> str:
    """Start a fresh session for the operator; return the id the browser will hold."""
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(id_hash=session_key(token), operator_id=operator.id,
                               created_at=now, seen_at=now))
    return token


def operator_for(session: Session, token: str, now: datetime) -> Operator | None:
    """The operator of a live session (and keep it alive); None when it is unknown or old."""
    row = session.get(ConsoleSession, session_key(token))
    if row is None:
        return None
    if now - row.seen_at > SESSION_IDLE or now - row.created_at > SESSION_MAX:
        session.delete(row)
        return None
    if now - row.seen_at > timedelta(minutes=1):  # no write on every click
        row.seen_at = now
    return row.operator


def close_session(session: Session, token: str) -> None:
    """End a session for good."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == session_key(token)))


def end_sessions(session: Session, operator_id: int) -> None:
    """End every session of an operator (a new password, a removal)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.operator_id == operator_id))


def locked(session: Session, name: str, address: str, now: datetime) -> bool:
    """Whether sign-in is locked for this name or this address (too many recent failures)."""
    since = now - WINDOW
    by_name = session.scalar(select(func.count()).select_from(SignInAttempt).where(
        SignInAttempt.name == name, SignInAttempt.at > since)) or 0
    if by_name >= ACCOUNT_FAILURES:
        return True
    by_address = session.scalar(select(func.count()).select_from(SignInAttempt).where(
        SignInAttempt.address == address, SignInAttempt.at > since)) or 0
    return by_address >= ADDRESS_FAILURES


def failed(session: Session, name: str, address: str, now: datetime) -> None:
    """Count a failed sign-in against the name and the address; forget old ones."""
    session.add(SignInAttempt(name=name[:50], address=address[:64], at=now))
    session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - WINDOW * 4))


def succeeded(session: Session, name: str) -> None:
    """A right password clears the name's failures (not the address's)."""
    session.execute(delete(SignInAttempt).where(SignInAttempt.name == name))
