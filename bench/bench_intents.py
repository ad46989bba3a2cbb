"""Benchmark the intent engine: start-up in a fresh process, and messages per second on one core.

Run as `.venv/bin/python bench/bench_intents.py`. The baseline, measured in the same run over
the same messages, is bare `jieba.lcut` (default dictionary, HMM on).
"""
from __future__ import annotations

import ast
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
engine.parse("3栋2单元楼道的灯坏了")  # needs segmentation: loads the jieba cache
print(time.perf_counter() - t0)
"""


def messages() -> list[str]:
    """Return the held-out test messages (read, not imported), plus the shared dev set when present."""
    tree = ast.parse((PROJECT / "tests" / "test_intents_heldout.py").read_text(encoding="utf-8"))
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and isinstance(node.value, ast.List):
            texts += [case[0] for case in ast.literal_eval(node.value)]
    dev = PROJECT.parent / "shared" / "intents" / "dev.jsonl"
    if dev.exists():
        texts += [json.loads(line)["text"] for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


def startup(cache_dir: str) -> tuple[float, float]:
    """Return (in-process start-up, whole process wall time) of a fresh interpreter."""
    env = dict(os.environ, LINLI_CACHE_DIR=cache_dir)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", STARTUP], cwd=PROJECT, env=env, capture_output=True,
                         check=True, text=True)
    return float(out.stdout.strip()), time.perf_counter() - t0


def throughput(func, texts: list[str], rounds: int = 40, size: int = 100) -> tuple[float, float]:
    """Return (best, median) calls per second over short rounds of `size` texts (robust to a busy box)."""
    for text in texts:
        func(text)
    rates = []
    for i in range(rounds):
        batch = [texts[(i * size + j) % len(texts)] for j in range(size)]
        t0 = time.perf_counter()
        for text in batch:
            func(text)
        rates.append(size / (time.perf_counter() - t0))
    return max(rates), statistics.median(rates)


def main() -> None:
    """Print the benchmark table."""
    texts = messages()
    with tempfile.TemporaryDirectory() as cache:
        cold, cold_wall = startup(cache)
        warm, warm_wall = min(startup(cache) for _ in range(3))
        os.environ["LINLI_CACHE_DIR"] = cache
        from intents import Engine
        engine = Engine()
        ours, ours_median = throughput(engine.parse, texts)
    import jieba
    jieba.setLogLevel(60)
    jieba.initialize()
    base, base_median = throughput(jieba.lcut, texts)
    rows = [
        ("start-up, cold cache (s)", f"{cold:.3f}", f"process {cold_wall:.3f}"),
        ("start-up, warm cache (s)", f"{warm:.3f}", f"process {warm_wall:.3f}"),
        ("engine.parse (msg/s)", f"{ours:,.0f}", f"median {ours_median:,.0f}; {ours / base:.2f}x baseline"),
        ("baseline jieba.lcut (msg/s)", f"{base:,.0f}", f"median {base_median:,.0f}; 1.00x"),
    ]
    print(f"{len(texts)} distinct messages, one thread; rounds of 100 messages, best and median of 40")
    for name, value, note in rows:
        print(f"  {name:30s} {value:>10s}   {note}")


if __name__ == "__main__":
    main()
