"""Benchmark the intent engine: start-up in a fresh process, and messages per second on one core.

Run as `.venv/bin/python bench/bench_intents.py` (or `make bench`). The baseline, measured in the
same run over the same messages, is bare `jieba.lcut` (default dictionary, HMM on).

Honest on a busy machine:
- the process is pinned to one CPU (when the OS allows it), so "one core" is literal;
- the engine and the baseline are timed in interleaved rounds over the same batches, so a burst of
  other work slows both alike, and the ratio is taken per round (same batch, back to back);
- every figure is reported as best and median of several measurements;
- start-up is measured in fresh interpreters, alternating a cold cache (a new empty directory,
  so jieba's prefix dictionary is rebuilt) with a warm one (the cache a previous run wrote).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

STARTUP = """
import time
t0 = time.perf_counter()
from intents import Engine
engine = Engine()
engine.parse("3栋门口的门关不上")  # the first message loads jieba's prefix dictionary
elapsed = time.perf_counter() - t0
print(elapsed)
"""


def messages() -> list[str]:
    """Return the distinct corpus, dev and regression-suite messages."""
    paths = sorted((PROJECT / "intents" / "data" / "corpus").glob("*.jsonl"))
    paths += [PROJECT / "intents" / "data" / "dev.jsonl", PROJECT / "tests" / "intents_regression.jsonl"]
    texts = []
    for path in paths:
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(texts))


def pin_one_core() -> str:
    """Pin this process (and the interpreters it starts) to one CPU; return which, for the report."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})
        return f"pinned to CPU {cpus[-1]}"
    except (AttributeError, OSError):
        return "not pinned"


def startup(cache_dir: str) -> float:
    """Return the in-process start-up time (import, lexicon, weights, jieba, a first message) of a fresh
    interpreter using cache_dir."""
    env = dict(os.environ, LINLI_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", STARTUP], cwd=PROJECT, env=env, capture_output=True,
                         check=True, text=True)
    return float(out.stdout.strip())


def startups(runs: int) -> tuple[list[float], list[float]]:
    """Measure cold and warm start-up alternately, runs times each."""
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as root:
        for i in range(runs):
            fresh = os.path.join(root, f"cold-{i}")
            cold.append(startup(fresh))  # empty directory: the prefix dictionary is rebuilt and stored
            warm.append(startup(fresh))  # the cache just written
    return cold, warm


def timed(func, batch: list[str]) -> float:
    """Return calls per second of func over batch."""
    t0 = time.perf_counter()
    for text in batch:
        func(text)
    return len(batch) / (time.perf_counter() - t0)


def throughput(ours, base, texts: list[str], rounds: int, size: int) -> tuple[list[float], list[float]]:
    """Time ours and base over the same batches, alternating which goes first in each round."""
    for text in texts:  # warm-up: every message once, both ways
        ours(text)
        base(text)
    rates_ours, rates_base = [], []
    for i in range(rounds):
        batch = [texts[(i * size + j) % len(texts)] for j in range(size)]
        if i % 2:
            rates_base.append(timed(base, batch))
            rates_ours.append(timed(ours, batch))
        else:
            rates_ours.append(timed(ours, batch))
            rates_base.append(timed(base, batch))
    return rates_ours, rates_base


def main() -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="interleaved throughput rounds")
    parser.add_argument("--size", type=int, default=200, help="messages per round")
    parser.add_argument("--startups", type=int, default=5, help="cold and warm start-ups each")
    args = parser.parse_args()
    pinned = pin_one_core()
    texts = messages()
    cold, warm = startups(args.startups)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["LINLI_CACHE_DIR"] = cache
        from intents import Engine
        engine = Engine()
        import jieba
        jieba.setLogLevel(60)
        jieba.initialize()
        ours, base = throughput(engine.parse, jieba.lcut, texts, args.rounds, args.size)
    ratios = [o / b for o, b in zip(ours, base)]
    med = statistics.median
    print(f"{len(texts)} distinct messages, one thread, {pinned}; {args.rounds} interleaved rounds of "
          f"{args.size} messages; start-up: {args.startups} fresh processes each")
    rows = [
        ("start-up, cold cache (s)", f"best {min(cold):.3f}", f"median {med(cold):.3f}"),
        ("start-up, warm cache (s)", f"best {min(warm):.3f}", f"median {med(warm):.3f}"),
        ("engine.parse (msg/s)", f"best {max(ours):,.0f}", f"median {med(ours):,.0f}"),
        ("baseline jieba.lcut (msg/s)", f"best {max(base):,.0f}", f"median {med(base):,.0f}"),
        ("engine / baseline", f"best {max(ours) / max(base):.2f}x", f"median {med(ratios):.2f}x (per round)"),
    ]
    for name, best, median in rows:
        print(f"  {name:32s} {best:>16s}   {median}")


if __name__ == "__main__":
    main()
