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


class Unknown(Exception):
    """The first character cannot be bounded (".", a negated class, an empty match)."""


def first_chars(pattern: str) -> frozenset[str] | None:
    """Return every character that can start a match of pattern, or None when unbounded."""
    if _parser is None:
        return None
    try:
        chars, nullable = _seq(list(_parser.parse(pattern).data))
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

    __slots__ = ("pattern", "starts", "_start_re")

    def __init__(self, source: str) -> None:
        """Compile source and work out its starting characters."""
        self.pattern = re.compile(source)
        self.starts = first_chars(source)
        chars = "".join(sorted(self.starts)) if self.starts else ""
        self._start_re = re.compile("[" + re.escape(chars) + "]") if chars else None

    def _impossible(self, text: str) -> bool:
        """Tell whether no character of text can start a match."""
        return self.starts is not None and self.starts.isdisjoint(text)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        """Like re.Pattern.search, skipping texts that cannot match."""
        if self._impossible(text):
            return None
        return self.pattern.search(text, pos, len(text) if endpos is None else endpos)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Like re.Pattern.finditer, trying only the positions where a match can start."""
        if self._start_re is None:
            if self.starts is None:
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


class CueIndex:
    """Named patterns indexed by their starting characters: only plausible ones are run."""

    def __init__(self, sources: dict[str, str]) -> None:
        """Compile every pattern and index it by the characters that can start it."""
        self.patterns = {name: re.compile(source) for name, source in sources.items()}
        self._always: list[str] = []
        self._by_char: dict[str, list[str]] = {}
        for name, source in sources.items():
            starts = first_chars(source)
            if starts is None:
                self._always.append(name)
            else:
                for ch in starts:
                    self._by_char.setdefault(ch, []).append(name)

    def matching(self, text: str) -> set[str]:
        """Return the names of the patterns that match somewhere in text."""
        candidates = set(self._always)
        by_char = self._by_char
        for ch in set(text):
            names = by_char.get(ch)
            if names:
                candidates.update(names)
        return {name for name in candidates if self.patterns[name].search(text)}
