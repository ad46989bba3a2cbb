"""Rows for CSV files and spreadsheets, safe to open: no cell runs as a formula.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab, a
carriage return or the full-width forms of those signs) as a formula: a candidate named
`=HYPERLINK(...)` would run on the committee's computer. Such text cells get a leading
apostrophe, which spreadsheets show as text and never run (OWASP's advice). Numbers are
written as they are, so a negative number stays a number.
"""
from __future__ import annotations

import csv
from decimal import Decimal
from typing import IO, Iterable

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
