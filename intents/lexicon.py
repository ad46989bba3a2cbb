"""Load the keyword data (lexicon.toml) and compile it for matching."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
LEXICON_PATH = DATA_DIR / "lexicon.toml"
USERDICT_PATH = DATA_DIR / "userdict.txt"
TIERS = {"dominant": 5.0, "override": 4.0, "strong": 3.0, "weak": 2.0, "place": 1.0}
TOKEN_WEIGHT = 2.0


def union(patterns: list[str]) -> re.Pattern[str] | None:
    """Compile a list of regexes into one alternation (None when empty)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@dataclass(frozen=True)
class CategoryRules:
    """Compiled cues of one report category."""

    name: str
    tiers: tuple[tuple[float, re.Pattern[str]], ...]
    tokens: frozenset[str]


@dataclass
class Lexicon:
    """Everything the engine reads from the data files, compiled."""

    raw: dict
    replacements: dict[str, str] = field(default_factory=dict)
    replace_re: re.Pattern[str] | None = None
    cues: dict[str, re.Pattern[str]] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    categories: tuple[CategoryRules, ...] = ()
    locative: re.Pattern[str] | None = None
    greeting_re: re.Pattern[str] | None = None
    filler_re: re.Pattern[str] | None = None
    urgent_re: re.Pattern[str] | None = None
    blockers: re.Pattern[str] | None = None
    negators: re.Pattern[str] | None = None
    slots: dict[str, re.Pattern[str]] = field(default_factory=dict)
    homes: dict[str, re.Pattern[str]] = field(default_factory=dict)
    place_re: re.Pattern[str] | None = None

    @property
    def userdict_words(self) -> list[str]:
        """Words of the jieba user dictionary and of the category token tables."""
        words = [line.split()[0] for line in USERDICT_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
        return words + sorted({t for c in self.categories for t in c.tokens})


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


def _categories(raw: dict) -> tuple[CategoryRules, ...]:
    """Compile each category's tiers, strongest first."""
    rules = []
    for name, spec in raw["category"].items():
        tiers = tuple((weight, union(spec[tier])) for tier, weight in TIERS.items() if spec.get(tier))
        rules.append(CategoryRules(name, tiers, frozenset(spec.get("tokens", []))))
    return tuple(rules)


def load(path: Path = LEXICON_PATH) -> Lexicon:
    """Read and compile the lexicon file."""
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    lex = Lexicon(raw=raw)
    lex.replacements = _replacements(raw)
    lex.replace_re = literal_union(list(lex.replacements)) if lex.replacements else None
    lex.cues = {name: union(patterns) for name, patterns in raw["cues"].items() if patterns}
    weights = dict(raw["weights"])
    lex.order = tuple(weights.pop("order"))
    lex.weights = {k: float(v) for k, v in weights.items()}
    lex.categories = _categories(raw)
    lex.locative = re.compile(raw["locative"]["suffix"])
    lex.greeting_re = literal_union([w.lower() for w in raw["greeting"]["words"]])
    lex.filler_re = literal_union([w.lower() for w in raw["greeting"]["fillers"]])
    urgent = raw["urgent"]
    lex.urgent_re = union(urgent["cues"])
    lex.blockers = re.compile(urgent["blockers"])
    lex.negators = re.compile(urgent["negators"])
    lex.slots = {k: re.compile(v) for k, v in raw["slots"].items()}
    lex.homes = {k: re.compile(v) for k, v in raw["homes"].items()}
    lex.place_re = literal_union(raw["places"]["nouns"])
    return lex
