"""Decide a report's category and whether it is urgent."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from intents.lexicon import TOKEN_WEIGHT, Lexicon

FAULT_REACH = 5  # characters after an object within which a fault belongs to it


@dataclass(frozen=True)
class Hit:
    """One category cue found in a message."""

    category: str
    weight: float
    start: int
    is_place: bool


def _is_place(norm: str, end: int, lex: Lexicon) -> bool:
    """Tell whether the word ending at end is followed by a locative (電梯里, 路灯下面)."""
    return bool(lex.locative.match(norm, end))


def _stated(norm: str, end: int, weight: float, lex: Lexicon) -> float:
    """Raise a named object to the override tier when a fault follows it at once ("电梯坏了")."""
    if weight == 3.0 and lex.cues["fault"].search(norm, end, end + FAULT_REACH):
        return 4.0
    return weight


def category_hits(norm: str, tokenize: Callable[[str], list[tuple[str, int]]], lex: Lexicon) -> list[Hit]:
    """Find the category cues: per tier and category the first that is not a place, and whole-token words."""
    hits: list[Hit] = []
    for tier in lex.tiers:
        settled: set[str] = set()
        for match in tier.pattern.finditer(norm):
            name = tier.category(match)
            if name in settled:
                continue
            place = tier.weight < 5 and _is_place(norm, match.end(), lex)
            hits.append(Hit(name, _stated(norm, match.end(), tier.weight, lex), match.start(), place))
            if not place:
                settled.add(name)
    # Segmenting is needed only to check single-word cues, so only when one may be present.
    if lex.token_chars and lex.token_chars.search(norm):
        for token, start in tokenize(norm):
            name = lex.token_categories.get(token)
            if name:
                hits.append(Hit(name, TOKEN_WEIGHT, start, _is_place(norm, start + len(token), lex)))
    return hits


def choose_category(hits: list[Hit]) -> tuple[str | None, float]:
    """Pick the problem's category: heaviest cue, earliest on a tie; places count last."""
    if not hits:
        return None, 0.0
    things = [h for h in hits if not h.is_place] or [h for h in hits]
    best = min(things, key=lambda h: (-h.weight, h.start))
    # A place alone names no problem: it decides the category but weighs less.
    weight = best.weight if any(not h.is_place for h in hits) else max(1.0, best.weight - 1.0)
    return best.category, weight


def is_urgent(norm: str, lex: Lexicon) -> bool:
    """Tell whether a danger is happening now (a cue not voided by a worry, past or negation)."""
    window = int(lex.raw["urgent"]["window"])
    for match in lex.urgent_re.finditer(norm):
        before = norm[max(0, match.start() - window):match.start()]
        if lex.blockers.search(before) or lex.negators.search(before):
            continue
        return True
    return False
