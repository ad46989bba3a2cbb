"""Chinese numerals to Arabic digits, in the contexts where they are numbers."""
from __future__ import annotations

import re

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
          "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000}
RUN = re.compile("[零〇一二两三四五六七八九十百千]+")


def cn_to_int(run: str) -> int | None:
    """Read a run of Chinese numerals ("二十一", "一二〇四", "十二") as an integer."""
    if not run or any(ch not in DIGITS and ch not in UNITS for ch in run):
        return None
    if not any(ch in UNITS for ch in run):
        return int("".join(str(DIGITS[ch]) for ch in run))
    total, current = 0, 0
    for ch in run:
        if ch in DIGITS:
            current = DIGITS[ch]
        else:
            total += (current or 1) * UNITS[ch]
            current = 0
    return total + current


def int_to_cn(value: int, positional: bool = True) -> str:
    """Write a non-negative integer in Chinese numerals (for tests and examples)."""
    names = "零一二三四五六七八九"
    if not positional or value >= 10000:
        return "".join(names[int(d)] for d in str(value))
    if value < 10:
        return names[value]
    parts, zero = [], False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = value // unit % 10
        if digit:
            if zero:
                parts.append("零")
            head = "" if (unit == 10 and digit == 1 and value < 20) else names[digit]
            parts.append(head + name)
            zero = False
        elif parts:
            zero = True
    return "".join(parts)


class NumeralRewriter:
    """Rewrite Chinese numerals as digits before markers, after prefixes, or as digit strings."""

    def __init__(self, markers: list[str], prefixes: list[str], adverb_guard: str) -> None:
        """Compile the context patterns once."""
        self._after = re.compile("^(?:" + "|".join(map(re.escape, sorted(markers, key=len, reverse=True))) + ")")
        self._before = re.compile("(?:" + "|".join(map(re.escape, sorted(prefixes, key=len, reverse=True))) + r")\s*$")
        self._guard = re.compile(adverb_guard)

    def rewrite(self, text: str) -> str:
        """Return text with contextual Chinese numerals replaced by digits."""
        if not RUN.search(text):
            return text
        return RUN.sub(lambda m: self._replace(m, text), text)

    def _replace(self, match: re.Match[str], text: str) -> str:
        run = match.group()
        start, end = match.span()
        tail = text[end:end + 4]
        if self._guard.search(text[start:end + 2]) and not self._before.search(text[:start]):
            return run
        spelled = not any(ch in UNITS for ch in run)
        context = bool(self._after.match(tail)) or bool(self._before.search(text[max(0, start - 4):start]))
        if not context and not (spelled and len(run) >= 3 and "两" not in run):
            return run
        value = cn_to_int(run)
        if value is None:
            return run
        return "".join(str(DIGITS[ch]) for ch in run) if spelled else str(value)
