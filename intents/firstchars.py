"""Which characters can start a regex match: a cheap pre-check before running the regex."""
from __future__ import annotations

import re
import string
from collections.abc import Iterator

try:  # the parser is internal to `re`; without it every pattern is simply always run
    from re import _constants as C
    from re import _parser
except ImportError:  # pragma: no cover
    _parser = None

DIGITS = frozenset(string.digits)
ANY_DIGIT = re.compile(r"\d")  # any decimal digit, as \d matches it


class Unknown(Exception):
    """The first character cannot be bounded (".", a negated class, an empty match)."""


def parse(pattern: str):
    """Parse pattern once for first_chars and needs_digit (None without the parser)."""
    return None if _parser is None else _parser.parse(pattern)


def first_chars(pattern: str, tree=None) -> frozenset[str] | None:
    """Return every character that can start a match of pattern, or None when unbounded."""
    if _parser is None:
        return None
    try:
        chars, nullable = _seq(list((tree or _parser.parse(pattern)).data))
    except Unknown:
        return None
    return None if nullable else frozenset(chars)


def _seq(items: list) -> tuple[set[str], bool]:
    """First characters of a sequence, and whether it can match the empty string."""
    chars: set[str] = set()
    for op, av in items:
        first, nullable = _item(op, av)
        chars |= first
        if not nullable:
            return chars, False
    return chars, True


def _item(op, av) -> tuple[set[str], bool]:
    """First characters of one parsed element, and whether it can be empty."""
    if op is C.LITERAL:
        return {chr(av)}, False
    if op is C.IN:
        return _charset(av), False
    if op is C.SUBPATTERN:
        return _seq(list(av[-1]))
    if op is C.BRANCH:
        results = [_seq(list(branch)) for branch in av[1]]
        return set().union(*(r[0] for r in results)), any(r[1] for r in results)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        chars, nullable = _seq(list(av[2]))
        return chars, nullable or av[0] == 0
    if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
        return set(), True  # zero-width: the next element decides
    raise Unknown


def needs_digit(pattern: str, tree=None) -> bool:
    """Tell whether every match of pattern holds a decimal digit (a \\d or a digit it spells out)."""
    if _parser is None:
        return False
    return _seq_needs_digit(list((tree or _parser.parse(pattern)).data))


def _seq_needs_digit(items: list) -> bool:
    """Whether some element of a sequence always consumes a digit."""
    return any(_item_needs_digit(op, av) for op, av in items)


def _item_needs_digit(op, av) -> bool:
    """Whether one parsed element always consumes a digit."""
    if op is C.LITERAL:
        return chr(av).isdecimal()
    if op is C.IN:
        return all((o is C.CATEGORY and a is C.CATEGORY_DIGIT) or (o is C.LITERAL and chr(a).isdecimal())
                   or (o is C.RANGE and all(chr(c).isdecimal() for c in range(a[0], a[1] + 1)))
                   for o, a in av)
    if op is C.SUBPATTERN:
        return _seq_needs_digit(list(av[-1]))
    if op is C.BRANCH:
        return all(_seq_needs_digit(list(branch)) for branch in av[1])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        return av[0] >= 1 and _seq_needs_digit(list(av[2]))
    return False


def _charset(items: list) -> set[str]:
    """Characters of a class like [a-c] or \\d (ASCII digits only for \\d)."""
    chars: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            chars.add(chr(av))
        elif op is C.RANGE and av[1] - av[0] < 512:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is C.CATEGORY and av is C.CATEGORY_DIGIT:
            chars |= DIGITS
        else:
            raise Unknown
    return chars


class Guarded:
    """A compiled regex that is only tried where the text holds a character that can start it."""

    __slots__ = ("pattern", "starts", "digit", "_start_re")

    def __init__(self, source: str) -> None:
        """Compile source and work out its starting characters, and whether a match needs a digit."""
        self.pattern = re.compile(source)
        tree = parse(source)
        self.starts = first_chars(source, tree)
        self.digit = needs_digit(source, tree)
        if self.starts is None:
            self._start_re = None
        else:  # an empty set of first characters can start nothing
            chars = "".join(sorted(self.starts))
            self._start_re = re.compile("[" + re.escape(chars) + "]" if chars else "(?!)")

    def _impossible(self, text: str) -> bool:
        """Tell whether no character of text can start a match, or a needed digit is missing."""
        if self._start_re is not None and self._start_re.search(text) is None:
            return True
        return self.digit and ANY_DIGIT.search(text) is None

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        """Like re.Pattern.search, skipping texts that cannot match."""
        if self._impossible(text):
            return None
        return self.pattern.search(text, pos, len(text) if endpos is None else endpos)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Like re.Pattern.finditer, trying only the positions where a match can start."""
        if self._start_re is None:
            if not (self.digit and ANY_DIGIT.search(text) is None):
                yield from self.pattern.finditer(text)
            return
        pos, find, match_at = 0, self._start_re.search, self.pattern.match
        while (candidate := find(text, pos)) is not None:
            start = candidate.start()
            match = match_at(text, start)
            if match:
                yield match
                pos = max(match.end(), start + 1)
            else:
                pos = start + 1

    def sub(self, repl, text: str) -> str:
        """Like re.Pattern.sub, skipping texts that cannot match."""
        return text if self._impossible(text) else self.pattern.sub(repl, text)
