"""Ticket, vote, choice and rating slots."""
from __future__ import annotations

import re

from intents.lexicon import Lexicon


def _number(match: re.Match[str] | None) -> int | None:
    """Return the first non-empty group of a match as an integer."""
    if match is None:
        return None
    return int(next(g for g in match.groups() if g))


def find_ticket(norm: str, lex: Lexicon) -> int | None:
    """Return the ticket number (#N, 工单N, N号单子...), or None."""
    return _number(lex.slots["ticket"].search(norm))


def find_vote(norm: str, lex: Lexicon) -> int | None:
    """Return the vote number (#N, 第N项, 表决编号N...), or None."""
    return _number(lex.slots["vote"].search(norm))


def find_choice(norm: str, lex: Lexicon) -> str | None:
    """Return agree/oppose/abstain or an option number; after a change of mind, the new one."""
    change = lex.slots["change"].search(norm)
    if change:
        after = _choice(norm[change.end():], lex)
        if after:
            return after
    return _choice(norm, lex)


def _choice(text: str, lex: Lexicon) -> str | None:
    """Return the earliest choice stated in text."""
    found = []
    for name in ("oppose", "abstain", "agree"):
        match = lex.slots[name].search(text)
        if match:
            found.append((match.start(), name))
    option = lex.slots["option"].search(text)
    if option:
        found.append((option.start(), str(_number(option))))
    if not found:
        return None
    # "不同意" starts before its "同意", so the negated form wins.
    return min(found, key=lambda f: f[0])[1]


def find_rating(norm: str, lex: Lexicon) -> int | None:
    """Return an explicit score or star count; refusing the lowest score gives 1."""
    scored = lex.slots["rating"].search(norm)
    stars = lex.slots["stars"].search(norm)
    candidates = []
    if scored:
        candidates.append((scored.start(), int(scored.group(1))))
    if stars:
        candidates.append((stars.start(), len(stars.group())))
    if candidates:
        return min(candidates)[1]
    if lex.slots["refuse_lowest"].search(norm):
        return 1
    return None
