"""Decide a report's category and whether it is urgent."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from intents.lexicon import TOKEN_WEIGHT, Lexicon

FAULT_REACH = 5  # characters after an object within which a fault belongs to it
WINDOW = 6  # characters segmented on each side of a single-word cue
BREAKS = re.compile(r"[\s,.!?;:~，。！？；：、]")


@dataclass(frozen=True)
class Hit:
    """One category cue found in a message."""

    category: str
    weight: float
    start: int
    is_place: bool
    denied: bool = False  # said to be fine ("没坏"): it locates, and is still the source of a sound


def _is_place(norm: str, end: int, lex: Lexicon) -> bool:
    """Tell whether the word ending at end is followed by a locative (电梯里, 路灯下面)."""
    return bool(lex.locative.match(norm, end))


def _denied(norm: str, start: int, end: int, lex: Lexicon) -> str | None:
    """Tell whether the object at [start, end) is said to be fine or not the problem ("电梯倒是没坏")."""
    if lex.denied_after.match(norm, end):
        return "fine"
    if lex.denied_before.search(norm, max(0, start - 2), start) and lex.denied_tail.match(norm, end):
        return "not_it"
    return None


def _stated(norm: str, end: int, weight: float, lex: Lexicon) -> float:
    """Raise a named object to the override tier when a fault follows it at once ("电梯坏了")."""
    if weight == 3.0 and lex.cues["object_fault"].search(norm, end, end + FAULT_REACH):
        return 4.0
    return weight


def category_hits(norm: str, tokenize: Callable[[str], list[tuple[str, int]]], lex: Lexicon,
                  scanned: list | None = None) -> list[Hit]:
    """Find the category cues: per tier and category the first that is not a place, and whole-token words
    (those only when they could count: segmenting is the dearest step).

    scanned is `lex.scanner.scan(norm)` when the caller has it already.
    """
    if scanned is None:
        scanned = lex.scanner.scan(norm)
    hits: list[Hit] = []
    for tier, matches in zip(lex.tiers, scanned):
        settled: set[str] = set()
        for match, names in matches:
            name = tier.category(match, names)
            if name in settled:
                continue
            denied = _denied(norm, match.start(), match.end(), lex) if tier.weight < 5 else None
            if denied:
                # A denied object only locates; one said to be fine still makes its sounds.
                hits.append(Hit(name, tier.weight, match.start(), True, denied=denied == "fine"))
                continue
            # "快递车压坏了草坪": what hits or runs over something only locates the damage.
            place = tier.weight < 5 and (_is_place(norm, match.end(), lex) or bool(lex.agent.match(norm, match.end())))
            hits.append(Hit(name, _stated(norm, match.end(), tier.weight, lex), match.start(), place))
            if not place:
                settled.add(name)
    # A single-word cue weighs TOKEN_WEIGHT and is never denied: beside a heavier cue that is no
    # place it can change neither the category nor its weight, so jieba need not run.
    if not any(hit.weight > TOKEN_WEIGHT and not hit.is_place for hit in hits):
        hits.extend(_token_hits(norm, tokenize, lex))
    return hits


def _token_hits(norm: str, tokenize: Callable[[str], list[tuple[str, int]]], lex: Lexicon) -> list[Hit]:
    """Find single-word cues that jieba segments as whole words, segmenting only around them."""
    hits: list[Hit] = []
    if lex.token_chars is None:
        return hits
    for found in lex.token_chars.finditer(norm):
        # The word holding a cue lies within a few characters of it and within its clause.
        start, end = _clause_window(norm, found.start(), found.end())
        for token, offset in tokenize(norm[start:end]):
            if offset + start == found.start() and token == found.group():
                name = lex.token_categories[token]
                hits.append(Hit(name, TOKEN_WEIGHT, found.start(), _is_place(norm, found.end(), lex)))
    return hits


def _clause_window(norm: str, start: int, end: int) -> tuple[int, int]:
    """Return the span around [start, end) that stays within its clause and a few characters."""
    left, right = max(0, start - WINDOW), min(len(norm), end + WINDOW)
    cut = BREAKS.search(norm[left:start][::-1])
    if cut:
        left = start - cut.start()
    cut = BREAKS.search(norm, end, right)
    if cut:
        right = cut.start()
    return left, right


def choose_category(hits: list[Hit], norm: str = "", lex: Lexicon | None = None) -> tuple[str | None, float]:
    """Pick the problem's category: heaviest cue, earliest on a tie; places count last."""
    if not hits:
        return None, 0.0
    things = [h for h in hits if not h.is_place] or hits
    best = min(things, key=lambda h: (-h.weight, h.start))
    if best.category == "noise":
        # Sound follows its source, even one said to be fine ("电梯没坏，就是很响").
        source = next((h for h in hits if h.denied and h.start < best.start), None)
        if source is not None and not (lex and lex.other_source.search(norm, source.start, best.start + 1)):
            return source.category, best.weight
    # A place alone names no problem: it decides the category but weighs less.
    weight = best.weight if any(not h.is_place for h in hits) else max(1.0, best.weight - 1.0)
    return best.category, weight


def is_urgent(norm: str, lex: Lexicon, scanned: list | None = None) -> bool:
    """Tell whether a danger is happening now (a cue not voided by a worry, past or negation).

    scanned is `lex.scanner.scan(norm)` when the caller has it already (the urgent cues come last).
    """
    if scanned is None:
        scanned = lex.scanner.scan(norm)
    for match, _names in scanned[-1]:
        before = norm[max(0, match.start() - lex.urgent_window):match.start()]
        if lex.blockers.search(before) or lex.negators.search(before):
            continue
        return True
    return False
