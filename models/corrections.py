"""Labelled examples: messages the engine misread or was unsure of, and what they really were.

Two sources keep them: staff correcting a ticket (`改类 #N 类别`, `不是报修 #N`) and residents
answering a clarifying question with a number. Each row holds the words, what the engine
read, what it was, who said so and when. `flask intents corrections` writes them out for
review; reviewed files join the engine's corpus (intents/README.md).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base, UTCDateTime

SOURCES = ("staff", "resident")  # a staff correction, a resident's answer to "您是想：1 … 2 …"


class LabelledExample(Base):
    """One message with the engine's reading and the right one."""

    __tablename__ = "labelled_examples"
    __table_args__ = (Index("ix_labelled_examples_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    read_intent: Mapped[str] = mapped_column(String(32))
    read_category: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # SOURCES
    # whose words they are (erasure removes their examples), and the ticket a correction was about
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    by: Mapped[str] = mapped_column(String(80))  # "网格·李敏" for staff, "居民" for a resident
    note: Mapped[str | None] = mapped_column(Text)  # the reason staff gave
    at: Mapped[datetime] = mapped_column(UTCDateTime())


def keep(session: Session, *, text: str, read: tuple[str, str | None], was: tuple[str, str | None],
         source: str, by: str, now: datetime, resident_id: int | None = None,
         ticket_id: int | None = None, note: str | None = None) -> LabelledExample:
    """Keep one labelled example; a later correction of the same ticket replaces the label.

    The engine's reading stays the first one kept for that ticket: a second 改类 corrects the
    staff, not the engine.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    example = None
    if ticket_id is not None:
        example = session.scalar(select(LabelledExample).where(
            LabelledExample.ticket_id == ticket_id, LabelledExample.source == "staff"))
    if example is None:
        example = LabelledExample(text=text, read_intent=read[0], read_category=read[1],
                                  resident_id=resident_id, ticket_id=ticket_id)
        session.add(example)
    example.intent, example.category = was
    example.source, example.by, example.at, example.note = source, by, now, note
    return example


def since(session: Session, moment: datetime | None) -> list[LabelledExample]:
    """The examples kept at or after a moment (all without one), oldest first."""
    query = select(LabelledExample).order_by(LabelledExample.at, LabelledExample.id)
    if moment is not None:
        query = query.where(LabelledExample.at >= moment)
    return list(session.scalars(query))
