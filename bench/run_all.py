"""`make bench`: run every benchmark as its own process, then print one table of all their figures.

Each bench also runs alone (`python bench/bench_<name>.py --help`). A bench that ends with a line
`RESULT {"name": ..., "rows": [...]}` gives its rows directly (bench/common.py `result`); the
fan-out's flat `RESULT {...}` and the intents' printed table are read by their own parsers here. A bench that fails is named in the
table with its exit status; the others still run. Targets are issue 9's and the feature issues'.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT, row  # noqa: E402

FIGURE_WIDTH = 44


def intents_rows(out: str) -> list[dict[str, Any]]:
    """Rows from bench_intents.py's printed table (best and median of interleaved rounds)."""
    def pick(name: str) -> tuple[str, str]:
        found = re.search(rf"{re.escape(name)}\s+best ([\d.,]+)x?\s+median ([\d.,]+)", out)
        if not found:
            raise ValueError(f"no line {name!r}")
        return found.group(1), found.group(2)

    cold, warm = pick("start-up, cold cache (s)"), pick("start-up, warm cache (s)")
    ours, base = pick("engine.parse (msg/s)"), pick("baseline jieba.lcut (msg/s)")
    ratio = pick("engine / baseline")
    rate = float(ours[1].replace(",", ""))
    return [
        row("intents: start-up cold / warm (s, median)", f"{cold[1]} / {warm[1]}", target="< 1.5 s",
            met=float(cold[1]) < 1.5, gap=f"cold {float(cold[1]) - 1.5:.2f} s over"),
        row("intents: engine.parse msg/s (median)", ours[1], baseline=f"jieba.lcut {base[1]}",
            ratio=f"{ratio[1]}x", target=">= 5,000 msg/s, one core", met=rate >= 5000,
            gap=f"{5000 - rate:,.0f} msg/s short"),
    ]


def fanout_rows(out: str) -> list[dict[str, Any]]:
    """Rows from bench_fanout.py: its flat RESULT object, or else its two printed lines."""
    result = _last_result(out)
    if result is not None and "seconds" in result:
        return _fanout(result["count"], result["seconds"], result["duplicates"], result["misses"],
                       result.get("naive_seconds_extrapolated"), result.get("target_seconds", 30),
                       result.get("latency_ms", 20))
    fan = re.search(r"fan-out, (\d+) senders: (\d+) messages in ([\d.]+) s \((\d+)/s\), (\d+) duplicates, "
                    r"(\d+) misses", out)
    naive = re.search(r"naive one-by-one: (\d+) messages in ([\d.]+) s; extrapolated to (\d+): ([\d.]+) s", out)
    if not fan:
        raise ValueError("no 'fan-out, N senders: ...' line")
    return _fanout(int(fan.group(2)), float(fan.group(3)), int(fan.group(5)), int(fan.group(6)),
                   float(naive.group(4)) if naive else None, 30, 20)


def _fanout(count: int, seconds: float, dups: int, misses: int, naive: float | None, target: float,
            latency_ms: float) -> list[dict[str, Any]]:
    return [row(f"fan-out: {count:,} subscribers, {latency_ms:g} ms/call (s)", f"{seconds:.1f}",
                baseline=f"naive loop ~{naive:.0f} s (extrapolated)" if naive else "",
                ratio=f"{naive / seconds:.1f}x faster" if naive else "",
                target=f"<= {target:g} s", met=seconds <= target, gap=f"{seconds - target:.1f} s over"),
            row("fan-out: duplicates / misses", f"{dups} / {misses}", target="0 / 0",
                met=dups == 0 and misses == 0, gap=f"{dups} duplicates, {misses} misses")]


def _last_result(out: str) -> dict[str, Any] | None:
    for line in reversed(out.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    return None


BENCHES: list[tuple[str, list[str], Callable[[str], list[dict[str, Any]]] | None]] = [
    ("intents", ["bench/bench_intents.py"], intents_rows),
    ("fan-out", ["bench/bench_fanout.py"], fanout_rows),
    ("webhook", ["bench/bench_webhook.py"], None),
    ("scale", ["bench/bench_scale.py"], None),
]


def rows_of(name: str, out: str, parse: Callable[[str], list[dict[str, Any]]] | None) -> list[dict[str, Any]]:
    """The bench's own parser if it has one, else the rows of its RESULT line."""
    if parse is not None:
        return parse(out)
    result = _last_result(out)
    if result is None or "rows" not in result:
        raise ValueError("no RESULT line with rows")
    return result["rows"]


def run(name: str, command: list[str], extra: list[str], parse: Any) -> tuple[list[dict[str, Any]], float]:
    """Run one bench, echoing its output (without the RESULT line) as it comes."""
    print(f"\n=== {name}: {' '.join(command + extra)}", flush=True)
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, *command, *extra], cwd=PROJECT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1,
                               env=dict(os.environ, PYTHONUNBUFFERED="1"))  # its lines as they come
    lines = []
    for line in process.stdout:
        lines.append(line)
        if not line.startswith("RESULT ") and " INFO " not in line:
            print("  " + line, end="", flush=True)
    status = process.wait()
    took = time.monotonic() - began
    out = "".join(lines)
    if status != 0:
        return [row(f"{name}: the bench failed", f"exit {status}", met=False,
                    gap="see its output above")], took
    try:
        return rows_of(name, out, parse), took
    except (ValueError, KeyError, AttributeError) as err:
        return [row(f"{name}: output not understood", str(err)[:60], met=False, gap="see its output above")], took


def table(results: list[tuple[str, list[dict[str, Any]], float]]) -> str:
    """One table: figure, value, same-run baseline, ratio, target, met or the gap."""
    head = ("figure", "value", "baseline (same run)", "ratio", "target", "verdict")
    lines = [row_ for _name, rows, _t in results for row_ in rows]
    cells = [head] + [tuple(str(r[k]) for k in ("figure", "value", "baseline", "ratio", "target", "verdict"))
                      for r in lines]
    widths = [max(_width(c[i]) for c in cells) for i in range(len(head))]
    out = []
    for n, cell in enumerate(cells):
        out.append("  ".join(_pad(text, widths[i]) for i, text in enumerate(cell)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    met = sum(1 for r in lines if r["verdict"] == "met")
    gaps = sum(1 for r in lines if r["verdict"].startswith("gap"))
    times = ", ".join(f"{name} {took:.0f} s" for name, _rows, took in results)
    out.append(f"\n{met} targets met, {gaps} with a gap. Time: {times}.")
    return "\n".join(out)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def main() -> None:
    """Run the benches named (all by default) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=[b[0] for b in BENCHES], help="run just these")
    parser.add_argument("--webhook-args", default="", help="extra arguments for bench_webhook.py")
    parser.add_argument("--scale-args", default="", help="extra arguments for bench_scale.py")
    args = parser.parse_args()
    extras = {"webhook": args.webhook_args.split(), "scale": args.scale_args.split()}
    results = []
    for name, command, parse in BENCHES:
        if args.only and name not in args.only:
            continue
        rows, took = run(name, command, extras.get(name, []), parse)
        results.append((name, rows, took))
    print("\n" + table(results))


if __name__ == "__main__":
    main()
