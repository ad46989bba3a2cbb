"""The database lock that lets exactly one scheduler fire jobs: a lease row with an expiry.

Why a lease and not a PostgreSQL advisory lock: one mechanism that behaves the same
on SQLite (`make run`) and PostgreSQL (production), so the tests of one are the
tests of the other; it needs no connection held open for hours (an advisory lock
dies silently with its connection, and the holder learns only when it looks); and
the row says who holds it and until when, which `jobs list` shows.

The lease is taken or renewed by one conditional UPDATE ("set me as holder where I
already am, or where it has expired"). PostgreSQL re-checks the condition on the
committed row when two such updates race, and SQLite's BEGIN IMMEDIATE serialises
writers, so only one of two contenders gets a row count of 1. Expiry is judged by
the wall clock of the processes, not the database's: hosts must keep NTP time,
and the lease (30 s by default) is far longer than any sane skew.
"""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.services import Clock, utc_now
from models import SchedulerLease, transaction

LEASE_NAME = "scheduler"


def new_holder_id() -> str:
    """Return an id naming this host and process, unique even within one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Lease:
    """One contender for the lease; `acquire` takes or renews it, `release` gives it up."""

    def __init__(self, sessions: sessionmaker[Session], ttl: timedelta, *,
                 holder: str | None = None, name: str = LEASE_NAME, now: Clock = utc_now) -> None:
        self.sessions, self.ttl, self.name = sessions, ttl, name
        self.holder = holder or new_holder_id()
        # Real time, not the app's clock: leases expire while tests freeze the app's clock.
        self.now = now
        self.valid_until: datetime | None = None

    def acquire(self) -> bool:
        """Take the lease if it is free or expired, renew it if ours; return whether we hold it."""
        now = self.now()
        with transaction(self.sessions) as session:
            taken = session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name,
                       or_(SchedulerLease.holder == self.holder, SchedulerLease.holder.is_(None),
                           SchedulerLease.expires_at < now))
                .values(holder=self.holder, expires_at=now + self.ttl,
                        acquired_at=case((SchedulerLease.holder == self.holder,
                                          SchedulerLease.acquired_at), else_=now))
                .execution_options(synchronize_session=False)).rowcount == 1
        if not taken:
            taken = self._create(now)
        self.valid_until = now + self.ttl if taken else None
        return taken

    def _create(self, now: datetime) -> bool:
        # The first scheduler ever makes the row; of two at once, the second hits the key.
        try:
            with transaction(self.sessions) as session:
                if session.get(SchedulerLease, self.name) is not None:
                    return False
                session.add(SchedulerLease(name=self.name, holder=self.holder,
                                           expires_at=now + self.ttl, acquired_at=now))
            return True
        except IntegrityError:
            return False

    def still_valid(self, margin: timedelta) -> bool:
        """Return whether our last successful renewal still covers us, `margin` to spare."""
        return self.valid_until is not None and self.now() + margin < self.valid_until

    def release(self) -> None:
        """Give the lease up now, so a standby need not wait for it to expire."""
        self.valid_until = None
        with transaction(self.sessions) as session:
            session.execute(update(SchedulerLease)
                            .where(SchedulerLease.name == self.name,
                                   SchedulerLease.holder == self.holder)
                            .values(holder=None, expires_at=self.now())
                            .execution_options(synchronize_session=False))


def current(sessions: sessionmaker[Session], name: str = LEASE_NAME,
            now: Clock = utc_now) -> SchedulerLease | None:
    """Return the lease row if someone holds it and it has not expired."""
    with sessions() as session:
        row = session.scalar(select(SchedulerLease).where(SchedulerLease.name == name))
    if row is None or row.holder is None or row.expires_at <= now():
        return None
    return row
