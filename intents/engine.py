"""The intent engine: text in, intent, category, urgency and slots out.

Rules read what they are certain of (homes, ticket and vote numbers, choices, ratings); learned
linear models (`model.py`, trained by `make model`) read the intent, the report's category and
whether it is urgent. `confidence` is the intent's probability, and `ask` says whether the bot,
with no conversation before, should ask instead of acting: when the engine is unsure and the
message is not urgent.
"""
from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from intents import homes
from intents.features import Reading, features
from intents.lexicon import LEXICON_PATH
from intents.model import MODEL_PATH, Model, load
from intents.reading import Reader

log = logging.getLogger(__name__)

CONTRACT_KEYS = ("text", "intent", "category", "building", "unit", "room", "place", "urgent",
                 "ticket", "vote", "choice", "rating", "confidence", "ask")
# What the bot may just have asked, and the readings that answer it.
EXPECTS = ("rate", "place", "duplicate", "choice")
# How much more likely a reading becomes when it answers what the bot just asked (a log-odds shift).
EXPECT_SHIFT = {"rate": {"rate": 2.5}, "place": {"report": 3.0, "bind": -3.0}}
YES = re.compile(r"^(是|是的|对|对的|对头|嗯|嗯嗯|好|好的|要得|没错|就是|就是这个|是这个|同一个|一样|yes|y|ok)[了啊呀的哈嘛吧!.~ ]*$")
NO = re.compile(r"^(不是|不对|不是的|没有|没|不|否|不一样|另一个|别的|新的|no|n)[了啊呀的哈嘛吧!.~ ]*$|^不是")
CHOICE = re.compile(r"^(?:第|选|选第|我选|选择)?\s*([1-9]|[一二三四五六七八九])\s*(?:个|项|条|号)?[了啊呀的哈吧!.~ ]*$")
COMMAND_STRIP = " ,.!?~:;'\"()[]<>"
CN_DIGIT = {ch: str(i) for i, ch in enumerate("一二三四五六七八九", start=1)}


@dataclass(frozen=True)
class Parse:
    """What one message means.

    `alternatives` ranks the likeliest intents with their probabilities (the first is `intent`),
    for a question with numbered choices; `answer` is the reply to what the bot asked (`expect`):
    "yes"/"no" for a duplicate, an option number for a clarifying question.
    """

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
    ask: bool = False
    alternatives: tuple[tuple[str, float], ...] = ()
    categories: tuple[tuple[str, float], ...] = ()
    urgency: float = 0.0
    answer: str | None = None

    def as_dict(self) -> dict:
        """Return exactly the contract's JSON keys."""
        data = asdict(self)
        return {key: data[key] for key in CONTRACT_KEYS}


class Engine:
    """Parse messages with one loaded lexicon and model; segmentation is set up on first use."""

    def __init__(self, lexicon_path: Path = LEXICON_PATH, model: Model | Path = MODEL_PATH,
                 reader: Reader | None = None) -> None:
        """Load the lexicon and the weights (a Model object is used as given: cross-validation)."""
        self.reader = reader or Reader(lexicon_path)
        self.lexicon = self.reader.lexicon
        self.normalise = self.reader.normalise
        self.model = model if isinstance(model, Model) else load(model)

    def using(self, model: Model) -> Engine:
        """Return an engine that reads like this one and decides with another model."""
        return Engine(model=model, reader=self.reader)

    def parse(self, text: str, expect: str | None = None) -> Parse:
        """Parse one message; expect is what the bot just asked ("rate", "place", "duplicate", "choice")."""
        if expect is not None and expect not in EXPECTS:
            raise ValueError(f"expect must be one of {EXPECTS} or None, not {expect!r}")
        return self.interpret(text, self.reader.read(text), expect)

    def parse_as(self, text: str, intent: str) -> Parse:
        """Read a message as `intent`, which someone said it is: that intent's slots, never a question.

        For the dialogue: a resident's answer to a clarifying question, or staff saying what a
        message was (a report read for its category, place and urgency; a vote for its number)."""
        reading = self.reader.read(text)
        probs, cat_probs, urgency = self.model.read(features(reading))
        if intent not in probs:
            raise ValueError(f"unknown intent {intent!r}")
        ranked = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))
        cats = tuple(sorted(cat_probs.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        urgent = intent == "report" and urgency >= self.model.thresholds["urgent"]
        return self._assemble(text, reading, intent, probs[intent], probs, ranked, cats, urgent, urgency,
                              False, None)

    def interpret(self, text: str, reading: Reading, expect: str | None = None) -> Parse:
        """Decide what a read message means."""
        model = self.model
        probs, cat_probs, urgency = model.read(features(reading))
        command = self.lexicon.commands.get(reading.norm.strip(COMMAND_STRIP))
        if command is not None:  # one of the bot's own commands: certain
            probs = {name: float(name == command) for name in probs}
        elif expect in EXPECT_SHIFT:
            probs = _shifted(probs, EXPECT_SHIFT[expect])
        ranked = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))
        intent, confidence = ranked[0]
        urgent = intent == "report" and urgency >= model.thresholds["urgent"]
        cats = tuple(sorted(cat_probs.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        answer = _answer(reading.norm, expect)
        ask = not urgent and confidence < model.thresholds["ask"] and answer is None
        return self._assemble(text, reading, intent, confidence, probs, ranked, cats, urgent, urgency, ask, answer)

    def _assemble(self, text: str, r: Reading, intent: str, confidence: float, probs: dict[str, float],
                  ranked: list[tuple[str, float]], cats: tuple[tuple[str, float], ...], urgent: bool,
                  urgency: float, ask: bool, answer: str | None) -> Parse:
        """Keep only the slots that the chosen intent may carry."""
        voting = intent in ("vote", "vote_list")
        report = intent == "report"
        building, unit, room = r.home
        return Parse(
            text=text, intent=intent, category=cats[0][0] if report else None,
            building=building, unit=unit, room=room,
            place=homes.place_in(r.norm, r.home, self.lexicon) if report else None,
            urgent=urgent, ticket=None if voting else r.ticket, vote=r.vote if voting else None,
            choice=r.choice if intent == "vote" else None, rating=r.rating if intent == "rate" else None,
            confidence=round(confidence, 3), scores={k: round(v, 4) for k, v in probs.items()}, ask=ask,
            alternatives=tuple((name, round(p, 3)) for name, p in ranked[:3]),
            categories=tuple((name, round(p, 3)) for name, p in cats), urgency=round(urgency, 3),
            answer=answer)


def _shifted(probs: dict[str, float], shift: dict[str, float]) -> dict[str, float]:
    """Return probabilities with some readings made more or less likely (a shift in log-odds)."""
    import math
    weighted = {name: p * math.exp(shift.get(name, 0.0)) for name, p in probs.items()}
    total = sum(weighted.values())
    return {name: w / total for name, w in weighted.items()}


def _answer(norm: str, expect: str | None) -> str | None:
    """Read the reply to a yes/no or a numbered question, or None."""
    said = norm.strip(" ,.!?~")
    if expect == "duplicate":
        if NO.match(said):
            return "no"
        if YES.match(said):
            return "yes"
    elif expect == "choice":
        match = CHOICE.match(said)
        if match:
            return CN_DIGIT.get(match.group(1), match.group(1))
    return None


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


def parse(text: str, expect: str | None = None) -> Parse:
    """Parse text with the module-level engine (this thread's reading ahead of it, if any)."""
    ahead: Parse | None = getattr(_ahead, "parse", None)
    if ahead is not None and expect is None and ahead.text == text:
        return ahead
    return default_engine().parse(text, expect)


_ahead = threading.local()


@contextmanager
def read_ahead(text: str | None) -> Iterator[None]:
    """Parse `text` now, with nothing expected, for this thread's `parse(text)` to take as read
    until the block ends.

    The webhook reads a resident's message before the message's transaction begins: on SQLite
    a transaction holds the database's one write lock from its first statement, and reading
    is work that needs no database (about a fifth of a status question's time under the lock).
    A reading that fails is left to the handler, which fails the same way and apologises.

    Nothing is read ahead until the engine is loaded: the first message a process reads loads it
    (a second or more on a busy machine), and the webhook's request waits only a few seconds for
    its message to be claimed before keeping it in the spool, so that load comes after the claim,
    where the reply's deadline covers it."""
    try:
        _ahead.parse = parse(text) if text and _default is not None else None
    except Exception:  # noqa: BLE001 - the handler reads again, and answers the failure
        log.exception("reading ahead failed")
        _ahead.parse = None
    try:
        yield
    finally:
        _ahead.parse = None


def parse_as(text: str, intent: str) -> Parse:
    """Read text as `intent` with the module-level engine."""
    return default_engine().parse_as(text, intent)
