"""Load the keyword data (lexicon.toml) and compile it for matching."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from intents.firstchars import Alternation, CueIndex, Guarded, Scanner

DATA_DIR = Path(__file__).parent / "data"
LEXICON_PATH = DATA_DIR / "lexicon.toml"
USERDICT_PATH = DATA_DIR / "userdict.txt"
TIERS = {"decisive": 6.0, "dominant": 5.0, "override": 4.0, "strong": 3.0, "weak": 2.0, "place": 1.0}
TOKEN_WEIGHT = 2.0
INTENTS = ("report", "suggest", "query_status", "rate", "vote", "vote_list", "market",
           "subscribe", "unsubscribe", "bind", "help", "greeting", "unknown")
LITERAL_GROUP = "words"


def union(patterns: list[str]) -> Guarded | None:
    """Compile a list of regexes into one guarded alternation (None when empty)."""
    return Guarded("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@dataclass(frozen=True)
class Tier:
    """All categories' cues of one weight, compiled as one pattern with a named group per category."""

    weight: float
    alternation: Alternation
    groups: tuple[str, ...]
    literals: dict[str, str]

    def category(self, match: re.Match[str], names: tuple[str, ...]) -> str:
        """Return the category of a match (names: the groups of the pattern that matched, words first)."""
        group = next(g for g in names if match.group(g) is not None)
        return self.literals[match.group()] if group == LITERAL_GROUP else group


@dataclass
class Lexicon:
    """Everything the engine reads from the data files, compiled."""

    raw: dict
    replacements: dict[str, str] = field(default_factory=dict)
    replace_re: re.Pattern[str] | None = None
    cues: dict[str, Guarded] = field(default_factory=dict)
    cue_index: CueIndex | None = None
    weights: dict[str, float] = field(default_factory=dict)
    order: tuple[str, ...] = ()
    tiers: tuple[Tier, ...] = ()
    token_categories: dict[str, str] = field(default_factory=dict)
    locative: re.Pattern[str] | None = None
    denied_after: re.Pattern[str] | None = None
    denied_before: re.Pattern[str] | None = None
    denied_tail: re.Pattern[str] | None = None
    other_source: re.Pattern[str] | None = None
    agent: re.Pattern[str] | None = None
    token_chars: re.Pattern[str] | None = None
    greeting_re: re.Pattern[str] | None = None
    filler_re: re.Pattern[str] | None = None
    urgent_re: Guarded | None = None
    scanner: Scanner | None = None  # every tier, then the urgent cues, found in one pass
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
        """Words of the jieba user dictionary and of the category token tables."""
        words = [line.split()[0] for line in USERDICT_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
        return words + sorted(self.token_categories)


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


def trie_pattern(words: list[str]) -> str:
    """Return a regex source matching any of words, shaped as a trie so that scanning stays fast."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True
    return _trie_source(trie)


def _trie_source(node: dict) -> str:
    """Render one trie node; longer continuations are tried before stopping here."""
    branches = [re.escape(ch) + _trie_source(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def _is_literal(pattern: str) -> bool:
    """Tell whether a cue is a plain word rather than a regex."""
    return re.escape(pattern) == pattern


def _tiers(raw: dict) -> tuple[Tier, ...]:
    """Compile the category cues into one pattern per tier, strongest first; plain words share a trie."""
    tiers = []
    for tier, weight in TIERS.items():
        literals: dict[str, str] = {}
        groups = []
        for name, spec in raw["category"].items():
            regexes = [p for p in spec.get(tier, []) if not _is_literal(p)]
            for word in spec.get(tier, []):
                if _is_literal(word):
                    literals.setdefault(word, name)
            if regexes:
                groups.append((name, regexes))
        if literals or groups:
            alternation = Alternation(groups, list(literals), LITERAL_GROUP)
            tiers.append(Tier(weight, alternation, tuple(n for n, _ in groups), literals))
    return tuple(tiers)


def load(path: Path = LEXICON_PATH) -> Lexicon:
    """Read and compile the lexicon file."""
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    lex = Lexicon(raw=raw)
    lex.replacements = _replacements(raw)
    lex.replace_re = literal_union(list(lex.replacements)) if lex.replacements else None
    lex.cues = {name: union(patterns) for name, patterns in raw["cues"].items() if patterns}
    lex.cue_index = CueIndex({name: cue.pattern.pattern for name, cue in lex.cues.items()},
                             {name: cue.starts for name, cue in lex.cues.items()})
    weights = dict(raw["weights"])
    lex.order = tuple(weights.pop("order"))
    if sorted(lex.order) != sorted(INTENTS):
        raise ValueError(f"{path}: [weights].order must list each intent once: {', '.join(INTENTS)}")
    lex.weights = {k: float(v) for k, v in weights.items()}
    lex.tiers = _tiers(raw)
    lex.token_categories = {t: name for name, spec in raw["category"].items() for t in spec.get("tokens", [])}
    lex.token_chars = literal_union(sorted(lex.token_categories)) if lex.token_categories else None
    lex.locative = re.compile(raw["locative"]["suffix"])
    negated = raw["negated"]
    lex.denied_after = re.compile(negated["after"])
    lex.denied_before = re.compile(negated["before"])
    lex.denied_tail = re.compile(negated["tail"])
    lex.other_source = re.compile(negated["other_source"])
    lex.agent = re.compile(negated["agent"])
    lex.greeting_re = literal_union([w.lower() for w in raw["greeting"]["words"]])
    lex.filler_re = literal_union([w.lower() for w in raw["greeting"]["fillers"]])
    urgent = raw["urgent"]
    lex.urgent_re = union(urgent["cues"])
    lex.blockers = re.compile(urgent["blockers"])
    lex.negators = re.compile(urgent["negators"])
    lex.urgent_window = int(urgent["window"])
    lex.scanner = Scanner([tier.alternation for tier in lex.tiers] + [Alternation([(None, urgent["cues"])])])
    lex.slots = {k: Guarded(v) for k, v in raw["slots"].items()}
    lex.homes = {k: Guarded(v) for k, v in raw["homes"].items()}
    lex.homes_need_digit = all(pattern.digit for pattern in lex.homes.values())
    lex.estate_place_re = literal_union(raw["places"]["estate"])
    lex.building_place_re = literal_union(raw["places"]["estate"] + raw["places"]["building"])
    return lex
