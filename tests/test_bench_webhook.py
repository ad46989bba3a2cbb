"""The webhook benchmark and `make bench`'s table run end to end on a tiny load."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT


def test_run_all_prints_the_webhook_table_against_both_baselines() -> None:
    args = "--duration 1 --rounds 1 --warmup 0.5 --connections 4 --processes 2 --no-postgres"
    out = subprocess.run([sys.executable, "bench/run_all.py", "--only", "webhook", "--webhook-args", args],
                         cwd=PROJECT, capture_output=True, text=True, timeout=150)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    table = out.stdout[out.stdout.rindex("figure"):]
    assert "webhook sqlite: msg/s" in table and "echo " in table and "WeRoBot " in table
    assert ">= 0.5x echo" in table and ">= 2x WeRoBot" in table and "p99 < 100 ms" in table
    assert "failed requests" not in table and "the bench failed" not in table
    # the bot answered real replies: tickets opened (or offered) and status lists
    summary = out.stdout[out.stdout.index("bot-sqlite      median"):]
    assert "'status'" in summary.splitlines()[0]
