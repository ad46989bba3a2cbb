"""What the benchmarks share: the machine-readable result line, PostgreSQL scratch databases,
CPU time of processes from /proc, and percentiles."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

# The bench's PostgreSQL server: the local test server unless BENCH_PG_URL says otherwise.
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TICKS = os.sysconf("SC_CLK_TCK")


def result(name: str, rows: list[dict[str, Any]], **extra: Any) -> None:
    """Print the last line run_all.py reads: `RESULT {"name", "rows": [...]}`.

    A row: figure, value, baseline (same run), ratio, target, verdict ("met" or "gap: ...").
    """
    print("RESULT " + json.dumps({"name": name, "rows": rows, **extra}, ensure_ascii=False), flush=True)


def row(figure: str, value: str, *, baseline: str = "", ratio: str = "", target: str = "",
        met: bool | None = None, gap: str = "") -> dict[str, Any]:
    """One line of the table."""
    verdict = "" if met is None else ("met" if met else f"gap: {gap}" if gap else "gap")
    return {"figure": figure, "value": value, "baseline": baseline, "ratio": ratio,
            "target": target, "verdict": verdict}


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the sorted values lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(share * len(ordered) + 0.5)) - 1))
    return ordered[index]


def pg_plain(url: str, database: str | None = None) -> str:
    """The libpq form of a SQLAlchemy URL, optionally for another database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def pg_url(database: str) -> str:
    """The SQLAlchemy URL of a database on the bench's server."""
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def pg_create(database: str, *, drop_first: bool = True) -> None:
    """Create a scratch database (dropping one left by a crashed run)."""
    import psycopg

    with psycopg.connect(pg_plain(PG_URL), autocommit=True) as conn:
        if drop_first:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')


def pg_drop(database: str) -> None:
    """Drop a scratch database, closing whatever still holds it."""
    import psycopg

    with psycopg.connect(pg_plain(PG_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def pg_exists(database: str) -> bool:
    """Whether a database exists on the bench's server."""
    import psycopg

    with psycopg.connect(pg_plain(PG_URL), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is not None


def children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds the processes have used so far (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / TICKS
