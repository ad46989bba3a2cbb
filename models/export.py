"""Rows for CSV files and spreadsheets, safe to open: no cell runs as a formula.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab, a
carriage return or the full-width forms of those signs) as a formula: a candidate named
`=HYPERLINK(...)` would run on the committee's computer. Such text cells get a leading
apostrophe, which spreadsheets show as text and never run (OWASP's advice). Numbers are
written as they are, so a negative number stays a number.
"""
from __future__ import annotations

import csv
from datetime import tzinfo
from decimal import Decimal
from typing import IO, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.votes import Ballot, Vote, homes_of

CENT = Decimal("0.01")
BALLOT_HEADER = ["vote", "household", "homes", "area_m2", "choice", "resident", "cast_at", "changes"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def cell(value: object) -> object:
    """Return a value a spreadsheet shows as it is: text that could run gets an apostrophe."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.lstrip(" ").startswith(FORMULA_STARTS) else text


def write_rows(out: IO[str], rows: Iterable[Iterable[object]]) -> None:
    """Write rows as CSV, every cell made safe."""
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([cell(value) for value in row])


def ballot_rows(session: Session, vote: Vote, tz: tzinfo) -> list[list[object]]:
    """The committee's copy of a vote: a header, then one row per household's ballot."""
    rows: list[list[object]] = [list(BALLOT_HEADER)]
    for ballot in session.scalars(select(Ballot).where(Ballot.vote_id == vote.id).order_by(Ballot.id)):
        homes = homes_of(session, vote.kind, ballot.household, vote.estate_id)
        area = sum((h.area_m2 for h in homes), Decimal(0))
        rows.append([vote.id, ballot.household,
                     " ".join(f"{h.unit.building.number}-{h.unit.number}-{h.room}" for h in homes),
                     str(Decimal(area).quantize(CENT)), ballot.choice, ballot.resident_id,
                     ballot.cast_at.astimezone(tz).isoformat(), ballot.changes])
    return rows
