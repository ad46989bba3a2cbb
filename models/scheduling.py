"""The scheduler's tables: the lease that elects one scheduler, and APScheduler's job store."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, LargeBinary, String, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, UTCDateTime


class SchedulerLease(Base):
    """Who may fire scheduled jobs, and until when; taken and renewed by conditional UPDATEs."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))  # host:pid:nonce; None when released
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StoredJob(Base):
    """A row of APScheduler's SQLAlchemyJobStore, declared exactly as that store declares it.

    Declared here so that migrations own the table (autogenerate would otherwise
    offer to drop it) and `jobs list` can read next run times without unpickling.
    """

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)  # UTC timestamp
    job_state: Mapped[bytes] = mapped_column(LargeBinary)  # pickled by APScheduler
