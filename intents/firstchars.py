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


def anchored(source: str, starts: frozenset[str] | None) -> re.Pattern[str]:
    """Compile a regex for `search` that only says whether source matches somewhere, scanning fast.

    The regex engine skips along the text in C when a pattern starts with a character class, so
    the class of source's first characters is matched, and a lookbehind checks that source matches
    from there: `[abc](?<=(?=source)[\\s\\S])`. The class takes any decimal digit where source may
    start with one (\\d is more than ASCII). Sources without bounded first characters stay as they are.
    starts is first_chars(source).
    """
    if starts is None:
        return re.compile(source)
    chars = re.escape("".join(sorted(starts)))
    if not DIGITS.isdisjoint(starts):
        chars += r"\d"
    return re.compile(f"[{chars}](?<=(?={source})[\\s\\S])")


class CueIndex:
    """Named patterns indexed by their starting characters: only plausible ones are run."""

    def __init__(self, sources: dict[str, str], starts: dict[str, frozenset[str] | None] | None = None) -> None:
        """Compile every pattern and index it by the characters that can start it (given, or worked out)."""
        if starts is None:
            starts = {name: first_chars(source) for name, source in sources.items()}
        self.patterns = {name: re.compile(source) for name, source in sources.items()}
        self._anchored = {name: anchored(source, starts[name]) for name, source in sources.items()}
        self._always: list[str] = []
        self._by_char: dict[str, list[str]] = {}
        for name in sources:
            if starts[name] is None:
                self._always.append(name)
            else:
                for ch in starts[name]:
                    self._by_char.setdefault(ch, []).append(name)

    def matching(self, text: str) -> set[str]:
        """Return the names of the patterns that match somewhere in text."""
        candidates = set(self._always)
        by_char = self._by_char
        for ch in set(text):
            names = by_char.get(ch)
            if names:
                candidates.update(names)
        patterns = self._anchored
        return {name for name in candidates if patterns[name].search(text)}


def alternatives(source: str) -> list[str]:
    """Split a regex source at its top-level `|` (each piece is a regex of its own)."""
    pieces, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if source[i + 1:i + 2] == "^":
                i += 1
            if source[i + 1:i + 2] == "]":  # a leading "]" is a literal
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            pieces.append(source[start:i])
            start = i + 1
        i += 1
    pieces.append(source[start:])
    return pieces


class Alternation:
    """Regexes tried in order as one alternation, each under a group name (None for none).

    Words may be given as well: they form a trie under their own group, tried first.
    """

    def __init__(self, groups: list[tuple[str | None, list[str]]], words: list[str] = (),
                 words_group: str | None = None) -> None:
        """Split every regex into its top-level branches and find where each can start."""
        from intents.lexicon import trie_pattern  # the lexicon imports this module
        self.words_group = words_group
        self.words = sorted(words)
        self.groups = [(name, [(piece, first_chars(piece)) for source in sources for piece in alternatives(source)])
                       for name, sources in groups]
        self._trie = trie_pattern
        parts = [self._word_part(self.words)] if self.words else []
        parts += [self._group_part(name, [p for p, _ in pieces]) for name, pieces in self.groups]
        self.source = "|".join(parts)
        self._full: re.Pattern[str] | None = None
        # The alternation starts where one of its branches or words does.
        firsts = [fc for _name, pieces in self.groups for _piece, fc in pieces]
        self.starts = None if None in firsts or "" in self.words else frozenset(
            {word[0] for word in self.words}.union(*firsts))

    @property
    def full(self) -> re.Pattern[str]:
        """The whole alternation, compiled on first need."""
        if self._full is None:
            self._full = re.compile(self.source)
        return self._full

    def _word_part(self, words: list[str]) -> str:
        """The trie of words, under its group name when there is one."""
        trie = self._trie(words)
        return f"(?P<{self.words_group}>{trie})" if self.words_group else f"(?:{trie})"

    @staticmethod
    def _group_part(name: str | None, pieces: list[str]) -> str:
        """Alternative regexes under one group name."""
        body = "|".join(f"(?:{p})" for p in pieces)
        return f"(?P<{name}>{body})" if name else f"(?:{body})"

    def at(self, ch: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
        """Compile the alternation of just the branches that can start with ch, and its group names.

        A branch's first characters are exact except for \\d, which they take as ASCII digits only:
        at any other decimal digit every branch is kept.
        """
        keep_all = ch.isdecimal() and not ch.isascii()
        parts, names = [], []
        words = [w for w in self.words if w[0] == ch]
        if words:
            parts.append(self._word_part(words))
            if self.words_group:
                names.append(self.words_group)
        for name, pieces in self.groups:
            kept = [p for p, fc in pieces if keep_all or fc is None or ch in fc]
            if kept:
                parts.append(self._group_part(name, kept))
                if name:
                    names.append(name)
        return (re.compile("|".join(parts)), tuple(names)) if parts else None


class Scanner:
    """Find every match of several alternations in one pass over the text.

    Each alternation is scanned as `Guarded.finditer` would scan it (leftmost matches, no overlap),
    but it is tried only at the characters that can start it, and there only with the branches
    that can start with that character: a tier of sixty regexes costs one or two of them per try.
    """

    def __init__(self, alternations: list[Alternation]) -> None:
        """Index every alternation by the characters that can start it; patterns compile on first use."""
        self.alternations = alternations
        self.count = len(alternations)
        self._unbounded = [i for i, alt in enumerate(alternations) if alt.starts is None]
        chars = set().union(*(alt.starts for alt in alternations if alt.starts is not None))
        self._chars = frozenset(chars)
        self._table: dict[str, tuple[tuple[int, re.Pattern[str], tuple[str, ...]], ...]] = {}

    def _entry(self, ch: str) -> tuple[tuple[int, re.Pattern[str], tuple[str, ...]], ...]:
        """The (alternation, pattern, group names) to try where ch stands."""
        entry = self._table.get(ch)
        if entry is None:
            found = []
            for i, alt in enumerate(self.alternations):
                if alt.starts is not None and ch in alt.starts:
                    compiled = alt.at(ch)
                    if compiled is not None:
                        found.append((i, *compiled))
            entry = self._table[ch] = tuple(found)
        return entry

    def scan(self, text: str) -> list[list[tuple[re.Match[str], tuple[str, ...]]]]:
        """Return, per alternation, its matches in order with the group names of the pattern that matched."""
        found: list[list] = [[] for _ in range(self.count)]
        for i in self._unbounded:
            names = tuple(self.alternations[i].full.groupindex)
            found[i] = [(m, names) for m in self.alternations[i].full.finditer(text)]
        chars = self._chars
        if chars.isdisjoint(text):
            return found
        resume = [0] * self.count
        table = self._table
        for pos, ch in enumerate(text):
            if ch not in chars:
                continue
            entry = table.get(ch)
            if entry is None:
                entry = self._entry(ch)
            for i, pattern, names in entry:
                if pos >= resume[i]:
                    match = pattern.match(text, pos)
                    if match:
                        found[i].append((match, names))
                        resume[i] = match.end()
        return found
