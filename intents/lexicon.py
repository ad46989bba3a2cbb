"""Load the rules' words (lexicon.toml) and compile them for matching."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from intents.firstchars import Guarded

DATA_DIR = Path(__file__).parent / "data"
LEXICON_PATH = DATA_DIR / "lexicon.toml"
USERDICT_PATH = DATA_DIR / "userdict.txt"
INTENTS = ("report", "suggest", "query_status", "rate", "vote", "vote_list", "market",
           "subscribe", "unsubscribe", "bind", "help", "greeting", "unknown")


@dataclass
class Lexicon:
    """Everything the rules read from the data files, compiled."""

    raw: dict
    replacements: dict[str, str] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)  # a whole message → its intent
    vote_word: re.Pattern[str] | None = None
    greeting_re: re.Pattern[str] | None = None
    filler_re: re.Pattern[str] | None = None
    danger: tuple[re.Pattern[str], ...] = ()
    blockers: re.Pattern[str] | None = None
    negators: re.Pattern[str] | None = None
    urgent_window: int = 0
    slots: dict[str, Guarded] = field(default_factory=dict)
    homes: dict[str, Guarded] = field(default_factory=dict)
    homes_need_digit: bool = False  # no home pattern matches a text without a digit
    estate_place_re: re.Pattern[str] | None = None
    building_place_re: re.Pattern[str] | None = None

    @property
    def userdict_words(self) -> list[str]:
        """Words of the jieba user dictionary."""
        return [line.split()[0] for line in USERDICT_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]


def literal_union(words: list[str]) -> re.Pattern[str]:
    """Compile literal words into a longest-first alternation."""
    return re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))


def _replacements(raw: dict) -> dict[str, str]:
    """Map every typo and dialect variant to its canonical word."""
    table: dict[str, str] = {}
    for section in ("typos", "dialect"):
        for canonical, variants in raw.get(section, {}).items():
            for variant in variants:
                table[variant.lower()] = canonical
    return table


def load(path: Path = LEXICON_PATH) -> Lexicon:
    """Read and compile the lexicon file."""
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    lex = Lexicon(raw=raw)
    lex.replacements = _replacements(raw)
    lex.commands = {word.lower(): intent for intent, words in raw["commands"].items() for word in words}
    unknown = set(lex.commands.values()) - set(INTENTS)
    if unknown:
        raise ValueError(f"{path}: [commands] names no intent: {', '.join(sorted(unknown))}")
    lex.vote_word = re.compile("|".join(f"(?:{p})" for p in raw["cues"]["vote_word"]))
    lex.greeting_re = literal_union([w.lower() for w in raw["greeting"]["words"]])
    lex.filler_re = literal_union([w.lower() for w in raw["greeting"]["fillers"]])
    urgent = raw["urgent"]
    lex.danger = tuple(re.compile(cue) for cue in urgent["cues"])
    lex.blockers = re.compile(urgent["blockers"])
    lex.negators = re.compile(urgent["negators"])
    lex.urgent_window = int(urgent["window"])
    lex.slots = {k: Guarded(v) for k, v in raw["slots"].items()}
    lex.homes = {k: Guarded(v) for k, v in raw["homes"].items()}
    lex.homes_need_digit = all(pattern.digit for pattern in lex.homes.values())
    lex.estate_place_re = literal_union(raw["places"]["estate"])
    lex.building_place_re = literal_union(raw["places"]["estate"] + raw["places"]["building"])
    return lex
