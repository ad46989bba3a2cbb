"""The intent engine: text in, intent, category and slots out."""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from intents import categories, homes, scoring, slots
from intents.lexicon import LEXICON_PATH, Lexicon, load
from intents.normalize import Normaliser

CONTRACT_KEYS = ("text", "intent", "category", "building", "unit", "room", "place", "urgent",
                 "ticket", "vote", "choice", "rating")


@dataclass(frozen=True)
class Parse:
    """What one message means."""

    text: str
    intent: str
    category: str | None
    building: str | None
    unit: str | None
    room: str | None
    place: str | None
    urgent: bool
    ticket: int | None
    vote: int | None
    choice: str | None
    rating: int | None
    confidence: float
    scores: dict[str, float] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict:
        """Return exactly the contract's JSON keys."""
        data = asdict(self)
        return {key: data[key] for key in CONTRACT_KEYS}


class Engine:
    """Parse messages with one loaded lexicon; segmentation is set up on first use."""

    def __init__(self, lexicon_path: Path = LEXICON_PATH) -> None:
        """Load and compile the lexicon."""
        self.lexicon: Lexicon = load(lexicon_path)
        self.normalise = Normaliser(self.lexicon)
        self._tokenizer = None
        self._lock = threading.Lock()

    def tokens(self, norm: str) -> list[tuple[str, int]]:
        """Segment normalised text with jieba and our domain dictionary (loaded on first need)."""
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    from intents import segment  # jieba is imported only when segmenting is needed
                    self._tokenizer = segment.build_tokenizer(self.lexicon.userdict_words)
        from intents.segment import token_spans
        return token_spans(self._tokenizer, norm)

    def evidence(self, norm: str) -> tuple[scoring.Evidence, str | None]:
        """Collect everything the scores are computed from, and the report category."""
        lex = self.lexicon
        scanned = lex.scanner.scan(norm)
        category, weight = categories.choose_category(categories.category_hits(norm, self.tokens, lex, scanned),
                                                      norm, lex)
        evidence = scoring.Evidence(
            cues=scoring.found_cues(norm, lex), ticket=slots.find_ticket(norm, lex),
            vote=slots.find_vote(norm, lex), choice=slots.find_choice(norm, lex),
            rating=slots.find_rating(norm, lex), home=homes.home_in(norm, lex), category_weight=weight,
            urgent=categories.is_urgent(norm, lex, scanned), greeting_only=scoring.greeting_only(norm, lex),
            length=len(norm))
        return evidence, category

    def parse(self, text: str) -> Parse:
        """Parse one message."""
        norm = self.normalise(text)
        evidence, category = self.evidence(norm)
        scores = scoring.score_intents(evidence, self.lexicon)
        intent, confidence = scoring.decide(scores, self.lexicon.order)
        return self._assemble(text, norm, intent, confidence, scores, evidence, category)

    def _assemble(self, text: str, norm: str, intent: str, confidence: float, scores: dict[str, float],
                  ev: scoring.Evidence, category: str | None) -> Parse:
        """Keep only the slots that the chosen intent may carry."""
        voting = intent in ("vote", "vote_list")
        report = intent == "report"
        building, unit, room = ev.home
        return Parse(
            text=text, intent=intent, category=(category or "other") if report else None,
            building=building, unit=unit, room=room,
            place=homes.place_in(norm, ev.home, self.lexicon) if report else None,
            urgent=report and ev.urgent,
            ticket=None if voting else ev.ticket, vote=ev.vote if voting else None,
            choice=ev.choice if intent == "vote" else None, rating=ev.rating if intent == "rate" else None,
            confidence=round(confidence, 3), scores=scores)


_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """Return the module-level engine, creating it on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Engine()
    return _default


def parse(text: str) -> Parse:
    """Parse text with the module-level engine."""
    return default_engine().parse(text)
