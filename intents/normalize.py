"""Normalise a resident's message before any matching.

No word is rewritten here: typos and dialect are absorbed by the model's character n-grams and by
the variants table, which segment.canonical applies only where a variant is whole jieba tokens.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from intents.lexicon import Lexicon
from intents.numerals import NumeralRewriter

# Pictographs, dingbats, variation selectors, joiners and flags.
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE00-\uFE0F\u200D\u20E3\U000E0000-\U000E007F]")
REPEATS = re.compile(r"([!?,.~、。，！？…～\-=*])\1+")
SPACES = re.compile(r"\s+")
# Only this much of a message is read (issue 18): longer texts are cut before any matching.
MAX_CHARS = 1000
# A digit run longer than any number the engine reads is cut to this length, so that no
# pattern backtracks over thousands of digits ('1' * 16000, ⑳ repeated under NFKC).
MAX_DIGITS = 12
DIGIT_RUN = re.compile(r"\d{%d,}" % (MAX_DIGITS + 1))
PUNCT_MAP = str.maketrans({"。": ".", "、": ",", "～": "~", "…": ".", "“": '"', "”": '"', "‘": "'", "’": "'",
                           "—": "-", "－": "-", "–": "-", "﹣": "-", "【": "[", "】": "]", "《": "<", "》": ">"})


@lru_cache(maxsize=1)
def _zhconv() -> ModuleType:
    """Import zhconv on first need (most messages are already simplified) and load its table."""
    import zhconv
    # An explicit path makes zhconv close the file it reads (its default leaks the handle).
    zhconv.loaddict(str(Path(zhconv.__file__).parent / "zhcdict.json"))
    return zhconv


def _simplified(text: str) -> str:
    """Convert traditional characters to simplified ones, importing zhconv only when needed."""
    try:
        text.encode("gb2312")
        return text
    except UnicodeEncodeError:
        return _zhconv().convert(text, "zh-cn")


class Normaliser:
    """Turn raw text into the canonical form that every cue is written against."""

    def __init__(self, lexicon: Lexicon) -> None:
        """Prepare the numeral rewriter from the lexicon."""
        norm = lexicon.raw["normalise"]
        self._keep = set(norm["keep_symbols"])
        self._numerals = NumeralRewriter(norm["numeral_markers"], norm["numeral_prefixes"], norm["adverb_guard"])

    def strip_emoji(self, text: str) -> str:
        """Drop emoji, keeping the star symbols that carry ratings."""
        return EMOJI.sub(lambda m: m.group() if m.group() in self._keep else " ", text)

    def __call__(self, text: str) -> str:
        """Return the normalised form of text."""
        text = unicodedata.normalize("NFKC", text[:MAX_CHARS])[:MAX_CHARS].lower().translate(PUNCT_MAP)
        text = DIGIT_RUN.sub(lambda m: m.group()[:MAX_DIGITS], text)
        text = _simplified(self.strip_emoji(text))
        text = REPEATS.sub(r"\1", text)
        text = DIGIT_RUN.sub(lambda m: m.group()[:MAX_DIGITS], self._numerals.rewrite(text))
        return SPACES.sub(" ", text).strip()
