"""jieba segmentation with our domain dictionary and a prefix dictionary cached by us."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import re
import tempfile
from pathlib import Path

import jieba

# Words rarer than this in jieba's main dictionary are left out: the engine needs
# plausible word boundaries, not a full vocabulary, and a smaller prefix
# dictionary loads in a fraction of the time.
MIN_FREQ = 30
CACHE_VERSION = "1"
MAIN_DICT = Path(jieba.__file__).parent / "dict.txt"


def cache_dir() -> Path:
    """Return the directory for the prefix-dictionary cache ($LINLI_CACHE_DIR or the user cache)."""
    explicit = os.environ.get("LINLI_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "linlitong"


def _cache_key(words: list[str]) -> str:
    """Hash everything the prefix dictionary depends on."""
    stat = MAIN_DICT.stat()
    digest = hashlib.sha1(f"{CACHE_VERSION}|{jieba.__version__}|{stat.st_size}|{MIN_FREQ}".encode())
    digest.update("\n".join(words).encode("utf-8"))
    return digest.hexdigest()[:16]


def _dictionary_lines(words: list[str]) -> bytes:
    """Return jieba's frequent words plus our domain words, as dictionary lines."""
    out = io.BytesIO()
    with open(MAIN_DICT, "rb") as main:
        for raw in main:
            parts = raw.split(b" ")
            if len(parts) >= 2 and int(parts[1]) >= MIN_FREQ:
                out.write(parts[0] + b" " + parts[1] + b"\n")
    for word in words:
        out.write(f"{word} {max(MIN_FREQ, 2000)}\n".encode("utf-8"))
    out.seek(0)
    return out.getvalue()


def _store(path: Path, payload: tuple[dict, int]) -> None:
    """Write the cache atomically; a read-only cache directory is not an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jieba-")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        logging.getLogger(__name__).warning("cannot write jieba cache at %s", path)


def build_tokenizer(words: list[str]) -> jieba.Tokenizer:
    """Return a ready jieba.Tokenizer over our compact dictionary, cached on disk."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    path = cache_dir() / f"jieba-{_cache_key(words)}.pickle"
    try:
        with open(path, "rb") as handle:
            freq, total = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError):
        freq, total = tokenizer.gen_pfdict(io.BytesIO(_dictionary_lines(words)))
        _store(path, (freq, total))
    tokenizer.FREQ, tokenizer.total = freq, total
    tokenizer.initialized = True
    return tokenizer


def token_spans(tokenizer: jieba.Tokenizer, text: str) -> list[tuple[str, int]]:
    """Segment text (no HMM guessing) into (token, start offset) pairs."""
    spans, pos = [], 0
    for token in tokenizer.cut(text, HMM=False):
        spans.append((token, pos))
        pos += len(token)
    return spans


def canonical(norm: str, spans: list[tuple[str, int]], variants: re.Pattern[str] | None,
              table: dict[str, str]) -> tuple[str, ...]:
    """Return the words of norm, a variant read as its canonical word where it is whole tokens.

    "物也不管" (物/也/不管) reads 物业; in "购物也方便" (购物/也) the same characters straddle a word
    and stay as they are, as 门进 does in "东门进来" (东门/进来).
    """
    if variants is None:
        return tuple(token for token, _ in spans)
    edges = {start for _, start in spans}
    edges.add(len(norm))
    swaps = {m.start(): (m.end(), table[m.group()]) for m in variants.finditer(norm)
             if m.start() in edges and m.end() in edges}
    if not swaps:
        return tuple(token for token, _ in spans)
    words: list[str] = []
    skip_to = -1
    for token, start in spans:
        if start < skip_to:
            continue
        if start in swaps:
            skip_to, word = swaps[start]
            words.append(word)
        else:
            words.append(token)
    return tuple(words)
