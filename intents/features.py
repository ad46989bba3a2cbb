"""What the learned models see of a message: character n-grams, words and the rules' evidence.

The same function serves training (`intents.train`) and serving (`intents.engine`), so a model is
always scored on exactly the features it was trained on. Each feature is a short string whose first
character names its group:

- `c` character 1-3-grams of the normalised text (digit runs read as one `0`, `^`/`$` at the edges),
  which absorb typos, homophones and dialect without rewriting a word;
- `w` words (jieba tokens, variants read as their canonical word only where they are whole tokens);
- `r` rule evidence that is certain: a ticket, vote number, choice, rating or home is present, the
  message is greetings only, a question (a length prior was tried: it made short reports such as
  "3栋水管漏水" read as homes to bind, with no gain in cross-validation);
- `d` the danger lexicon: a danger word (`d<n>`, by cue), or one voided by a worry or a past (`dx`)
  or a negation (`dn`) just before it; the urgency model learns from the near misses how far to
  trust each.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DIGITS = re.compile(r"\d+")
QUESTION = re.compile(r"[?吗呢么嘛没]\s*$|[?]")
GROUPS = ("c", "w", "r", "d")


@dataclass(frozen=True)
class Reading:
    """The normalised message and what the rules found in it."""

    norm: str
    words: tuple[str, ...]
    home: tuple[str | None, str | None, str | None]
    ticket: int | None
    vote: int | None
    choice: str | None
    rating: int | None
    greeting_only: bool
    danger: tuple[str, ...]
    vote_word: bool


def char_grams(text: str) -> set[str]:
    """Return the character 1-, 2- and 3-grams of text, prefixed `c` (spaces alone are no gram)."""
    text = DIGITS.sub("0", text)
    grams = {"c" + ch for ch in text if ch != " "}
    padded = "^" + text + "$"
    grams.update("c" + padded[i:i + 2] for i in range(len(padded) - 1))
    grams.update("c" + padded[i:i + 3] for i in range(len(padded) - 2))
    return grams


def word_feats(words: tuple[str, ...]) -> set[str]:
    """Return the words, digits read as `0`."""
    return {"w" + DIGITS.sub("0", w) for w in words if not w.isspace()}


def rule_feats(r: Reading) -> set[str]:
    """Return the rules' evidence as features."""
    feats = set()
    building, unit, room = r.home
    if building or unit or room:
        feats.add("rhome")
        if room and (building or unit):
            feats.add("rhome3")
        elif building and not (unit or room):
            feats.add("rbuilding")
    for name, value in (("rticket", r.ticket), ("rvote", r.vote), ("rchoice", r.choice), ("rrating", r.rating)):
        if value is not None:
            feats.add(name)
    if r.choice is not None and (r.vote is not None or r.vote_word):
        feats.add("rvotechoice")
    if r.greeting_only:
        feats.add("rgreet")
    if QUESTION.search(r.norm):
        feats.add("rquestion")
    if r.norm and not DIGITS.sub("", r.norm).strip(" #-"):
        feats.add("rdigits")
    feats.update(r.danger)
    return feats


def features(r: Reading) -> list[str]:
    """Return every feature of a reading, once each."""
    feats = char_grams(r.norm)
    feats |= word_feats(r.words)
    feats |= rule_feats(r)
    return list(feats)
