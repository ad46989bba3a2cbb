"""`make bench` first: the webhook bench with the table, and the scale bench, run end to end on
a tiny load, and the table carries the labels and targets the README quotes. Not part of
`make test`: the benchmarks' baselines (WeRoBot) are installed by `make bench` only."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

from bench.common import PROJECT


def test_run_all_prints_the_webhook_table_against_both_baselines() -> None:
    args = "--duration 1 --rounds 1 --warmup 0.5 --mix-duration 1 --connections 4 --processes 2 --no-postgres"
    out = subprocess.run([sys.executable, "bench/run_all.py", "--only", "webhook", "--webhook-args", args],
                         cwd=PROJECT, capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    table = out.stdout[out.stdout.rindex("figure"):]
    assert "webhook sqlite: msg/s" in table and "echo " in table and "WeRoBot " in table
    assert ">= 0.3x echo" in table and "status" in table and ">= 2x WeRoBot" in table and "p99 < 100 ms" in table
    assert "failed requests" not in table and "the bench failed" not in table
    assert "webhook sqlite: ticket numbers twice / missing" in table
    # the bot answered real replies: tickets opened (or offered) and status lists
    summary = out.stdout[out.stdout.index("bot-sqlite      median"):]
    assert "'status'" in summary.splitlines()[0]


def test_scale_bench_runs_on_a_tiny_street() -> None:
    """On the bench's PostgreSQL (BENCH_PG_URL, as bench_scale.py uses it), in a scratch database."""
    database = f"linli_bench_smoke_{uuid.uuid4().hex[:8]}"
    out = subprocess.run([sys.executable, "bench/bench_scale.py", "--database", database, "--drop",
                          "--estates", "1", "--homes", "300", "--tickets", "3000", "--ballots", "50",
                          "--repeat", "1"], cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    rows = {r["figure"]: r for r in json.loads(last.removeprefix("RESULT "))["rows"]}
    assert any(name.startswith("scale 待办 (property") for name in rows)
    assert any(name.startswith("scale vote show") for name in rows)
    for figure in rows.values():
        assert figure["verdict"] == "met" or figure["verdict"].startswith("gap"), figure
