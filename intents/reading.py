"""Read a message: normalise it, segment it and find what the rules are certain of."""
from __future__ import annotations

import re
import threading
from pathlib import Path

from intents import homes, slots
from intents.features import Reading
from intents.lexicon import LEXICON_PATH, Lexicon, literal_union, load
from intents.normalize import Normaliser

FILLER = re.compile(r"[\s\W\d_]+")


class Reader:
    """Turn text into a Reading with one loaded lexicon; jieba is set up on first use."""

    def __init__(self, lexicon_path: Path = LEXICON_PATH) -> None:
        """Load and compile the lexicon."""
        self.lexicon: Lexicon = load(lexicon_path)
        self.normalise = Normaliser(self.lexicon)
        lex = self.lexicon
        self._variants = literal_union(list(lex.replacements)) if lex.replacements else None
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

    def words(self, norm: str) -> tuple[str, ...]:
        """Return the words of norm, variants read as their canonical word where they are whole tokens."""
        from intents.segment import canonical
        return canonical(norm, self.tokens(norm), self._variants, self.lexicon.replacements)

    def danger(self, text: str) -> tuple[str, ...]:
        """Return the danger lexicon's evidence in text (its words read canonically): `d` and `d<n>` for a
        danger found, `dx` for one voided by a worry or a past, `dn` by a negation just before it."""
        lex = self.lexicon
        found = []
        for number, cue in enumerate(lex.danger):
            for match in cue.finditer(text):
                before = text[max(0, match.start() - lex.urgent_window):match.start()]
                if lex.blockers.search(before):
                    found.append("dx")
                elif lex.negators.search(before):
                    found.append("dn")
                else:
                    found.append(f"d{number}")
                    found.append("d")
                    break
        return tuple(sorted(set(found)))

    def greeting_only(self, norm: str) -> bool:
        """Tell whether the text is greeting words (and fillers) alone."""
        lex = self.lexicon
        if not norm or not lex.greeting_re.search(norm):
            return False
        rest = lex.filler_re.sub("", lex.greeting_re.sub("", norm))
        return not FILLER.sub("", rest)

    def read(self, text: str) -> Reading:
        """Read one message."""
        norm = self.normalise(text)
        lex = self.lexicon
        words = self.words(norm)
        return Reading(
            norm=norm, words=words, home=homes.home_in(norm, lex),
            ticket=slots.find_ticket(norm, lex), vote=slots.find_vote(norm, lex),
            choice=slots.find_choice(norm, lex), rating=slots.find_rating(norm, lex),
            greeting_only=self.greeting_only(norm), danger=self.danger("".join(words)),
            vote_word=bool(lex.vote_word.search(norm)))
