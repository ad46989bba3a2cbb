"""The governance figures, counted by the database, on SQLite and PostgreSQL.

The reference below is the figures as they were first written: every ticket read into
Python and counted there. The SQL figures must say exactly the same, on the demo
data, on a small hand-made set and on random sets with ties, gaps and tickets opened
just before midnight on a month's last day (Asia/Shanghai).
"""
from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from models import figures, transaction
from models.demo_history import load as load_history
from models.estate import Resident
from models.staff import Staff
from models.tickets import OPEN_STATES, Ticket
from tests.conftest import START, make_app
from tests.fakes import FakeWeChat

TZ = ZoneInfo("Asia/Shanghai")


# --- the reference: the figures as first written, one ticket at a time in Python -----------

def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def reference_rows(session: Any, now: datetime) -> list[dict[str, Any]]:
    """Every problem ticket as the original code saw it."""
    out = []
    for t in session.scalars(select(Ticket).where(Ticket.kind == "problem").order_by(Ticket.id)):
        due = t.response_due_at if t.assignee_id is None else t.resolve_due_at
        out.append({
            "category": t.category or "other", "building": t.building or "—",
            "month": t.created_at.astimezone(TZ).strftime("%Y-%m"), "handler": t.assignee_id,
            "state": t.state, "level": t.level,
            "overdue": t.state in OPEN_STATES and due is not None and due < now,
            "response": (t.first_response_at - t.created_at).total_seconds() / 60
            if t.first_response_at else None,
            "fix": (t.resolved_at - t.created_at).total_seconds() / 3600 if t.resolved_at else None,
            "rating": t.rating, "reopened": (t.reopen_count or 0) > 0})
    return out


def reference_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The original summarise()."""
    done = [r for r in rows if r["state"] in ("resolved", "closed")]
    rated = [r["rating"] for r in rows if r["rating"] is not None]
    responses = [r["response"] for r in rows if r["response"] is not None]
    fixes = [r["fix"] for r in rows if r["fix"] is not None]
    ever_done = [r for r in rows if r["fix"] is not None]
    return {
        "tickets": {"total": len(rows), "open": sum(r["state"] in OPEN_STATES for r in rows),
                    "overdue": sum(r["overdue"] for r in rows), "resolved": len(done)},
        "grid_resolved_share": _share(sum(r["level"] == "grid" for r in done), len(done)),
        "first_response_minutes": {"median": _round(_percentile(responses, 0.5)),
                                   "p90": _round(_percentile(responses, 0.9))},
        "resolve_hours": {"median": _round(_percentile(fixes, 0.5)),
                          "p90": _round(_percentile(fixes, 0.9))},
        "satisfaction_rate": _share(sum(r >= 3 for r in rated), len(rated)),
        "reopen_rate": _share(sum(r["reopened"] for r in ever_done), len(ever_done)),
    }


def reference_breakdown(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return {name: reference_summary(group) for name, group in groups.items()}


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def bare(database: tuple[str, str | None], fake_wechat: FakeWeChat) -> Iterator[Flask]:
    """The app on the demo estate with no tickets; its clock stands still at START."""
    app = make_app(database, fake_wechat, lambda: START)
    yield app
    app.extensions["linli"].close()


def add_tickets(app: Flask, specs: list[dict[str, Any]], openid: str = "oFigures") -> None:
    """Add problem tickets (fields as given, the rest plain) reported by one resident."""
    sessions = app.extensions["linli"].sessions
    with transaction(sessions) as session:
        reporter = session.scalar(select(Resident).where(Resident.openid == openid))
        if reporter is None:
            reporter = Resident(openid=openid, created_at=START, pushes_since_inbound=0)
            session.add(reporter)
            session.flush()
        for spec in specs:
            created = spec.get("created_at", START - timedelta(days=3))
            session.add(Ticket(**{
                "kind": "problem", "category": "elevator", "reporter_id": reporter.id,
                "building": "3", "text": "住户写的话", "state": "open", "level": "grid",
                "created_at": created, "updated_at": created, "reopen_count": 0, **spec}))


def staff_member(app: Flask, user_id: str, name: str, role: str = "grid") -> int:
    with transaction(app.extensions["linli"].sessions) as session:
        member = Staff(user_id=user_id, channel="wecom", name=name, role=role)
        session.add(member)
        session.flush()
        return member.id


def sql_figures(app: Flask, portable: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    services = app.extensions["linli"]
    with services.sessions() as session:
        overall = figures.summary(session, START, TZ, portable=portable)
        parts = {d: figures.breakdown(session, d, START, TZ, portable=portable)
                 for d in figures.DIMENSIONS}
    for values in parts["handler"].values():
        del values["name"], values["role"]
    return overall, parts


def reference_figures(app: Flask) -> tuple[dict[str, Any], dict[str, Any]]:
    with app.extensions["linli"].sessions() as session:
        rows = reference_rows(session, START)
    parts = {d: reference_breakdown(rows, d) for d in figures.DIMENSIONS}
    parts["handler"].pop(None, None)
    return reference_summary(rows), parts


def assert_same_as_reference(app: Flask) -> None:
    overall, parts = sql_figures(app)
    expected_overall, expected_parts = reference_figures(app)
    assert overall == expected_overall
    for dimension in figures.DIMENSIONS:
        assert parts[dimension] == expected_parts[dimension], dimension
    with app.extensions["linli"].sessions() as session:  # all at once (GROUPING SETS on PostgreSQL)
        every = figures.everything(session, START, TZ)
    for values in every["handler"].values():
        del values["name"], values["role"]
    assert every == {"overall": overall, **parts}
    assert all(list(every[d]) == list(parts[d]) for d in figures.DIMENSIONS)  # same order


# --- tests ------------------------------------------------------------------------------------

def test_a_known_set_gives_known_figures(bare: Flask) -> None:
    day = START - timedelta(days=10)
    handler = staff_member(bare, "fig-grid-1", "网格员甲")
    # first responses after 10, 20, 30 and 40 minutes; fixes after 2, 4 and 6 hours
    add_tickets(bare, [
        {"created_at": day, "first_response_at": day + timedelta(minutes=10), "assignee_id": handler,
         "resolved_at": day + timedelta(hours=2), "state": "closed", "rating": 5},
        {"created_at": day, "first_response_at": day + timedelta(minutes=20), "assignee_id": handler,
         "resolved_at": day + timedelta(hours=4), "state": "closed", "rating": 2, "reopen_count": 1},
        {"created_at": day, "first_response_at": day + timedelta(minutes=30), "assignee_id": handler,
         "resolved_at": day + timedelta(hours=6), "state": "resolved", "level": "property"},
        {"created_at": day, "first_response_at": day + timedelta(minutes=40), "assignee_id": handler,
         "state": "claimed", "resolve_due_at": START - timedelta(hours=1)},   # overdue
        {"created_at": START - timedelta(hours=1), "response_due_at": START + timedelta(hours=23)},
        {"created_at": day, "state": "rejected", "category": None, "building": None},
    ])
    overall, parts = sql_figures(bare)
    assert overall == {
        "tickets": {"total": 6, "open": 2, "overdue": 1, "resolved": 3},
        "grid_resolved_share": round(2 / 3, 4),
        # nearest rank: the 2nd of 4 and the 4th of 4; the 2nd of 3 and the 3rd of 3
        "first_response_minutes": {"median": 20.0, "p90": 40.0},
        "resolve_hours": {"median": 4.0, "p90": 6.0},
        "satisfaction_rate": 0.5, "reopen_rate": round(1 / 3, 4)}
    assert list(parts["category"]) == ["elevator", "other"]
    assert parts["category"]["other"]["tickets"]["total"] == 1
    assert list(parts["building"]) == ["3", "—"]
    assert list(parts["handler"]) == [handler]
    assert parts["handler"][handler]["tickets"] == {"total": 4, "open": 1, "overdue": 1, "resolved": 3}


def test_a_ticket_opened_after_midnight_shanghai_counts_in_the_new_month(bare: Flask) -> None:
    # 2026-10-31 16:30 UTC is 2026-11-01 00:30 in Shanghai; 15:30 UTC is still October there
    add_tickets(bare, [{"created_at": datetime(2026, 10, 31, 16, 30, tzinfo=timezone.utc)},
                       {"created_at": datetime(2026, 10, 31, 15, 30, tzinfo=timezone.utc)},
                       {"created_at": datetime(2026, 10, 31, 15, 59, 59, 999999, tzinfo=timezone.utc)}])
    _overall, parts = sql_figures(bare)
    assert {m: v["tickets"]["total"] for m, v in parts["month"].items()} == {"2026-10": 2, "2026-11": 1}


def test_no_tickets_gives_zero_counts_and_no_rates(bare: Flask) -> None:
    overall, parts = sql_figures(bare)
    assert overall == {"tickets": {"total": 0, "open": 0, "overdue": 0, "resolved": 0},
                       "grid_resolved_share": None,
                       "first_response_minutes": {"median": None, "p90": None},
                       "resolve_hours": {"median": None, "p90": None},
                       "satisfaction_rate": None, "reopen_rate": None}
    assert all(part == {} for part in parts.values())


def random_tickets(rng: random.Random, handlers: list[int], n: int) -> list[dict[str, Any]]:
    """Tickets in every state, with equal durations, missing fields and month edges."""
    out = []
    for _ in range(n):
        if rng.random() < 0.2:  # just either side of midnight Shanghai at a month's end
            created = datetime(2026, rng.choice((7, 8, 9)), 1, tzinfo=TZ) \
                + timedelta(seconds=rng.choice((-1, 0, 1, 59)))
        else:
            created = START - timedelta(days=rng.uniform(0, 120))
        response = timedelta(minutes=rng.choice((5, 30, 30, 30, 90)) if rng.random() < 0.3
                             else rng.uniform(1, 2000))
        fix = response + timedelta(hours=rng.choice((3, 3, 24)) if rng.random() < 0.3
                                   else rng.uniform(0.01, 200))
        state = rng.choice(("open", "claimed", "reopened", "resolved", "closed", "closed",
                            "rejected", "merged"))
        spec: dict[str, Any] = {
            "created_at": created, "state": state,
            "category": rng.choice(("elevator", "water", "noise", None)),
            "building": rng.choice(("1", "2", "10", "3", None)),
            "level": rng.choice(("grid", "grid", "property", "street")),
            "response_due_at": created + timedelta(hours=rng.choice((1, 24, 24 * 200))),
            "resolve_due_at": created + timedelta(hours=rng.choice((24, 72, 24 * 200))),
            "reopen_count": rng.choice((0, 0, 0, 1, 2))}
        if state != "open" and rng.random() < 0.9:
            spec["first_response_at"] = created + response
            spec["assignee_id"] = rng.choice(handlers)
        if state in ("resolved", "closed") or (state == "reopened" and rng.random() < 0.5):
            spec["resolved_at"] = created + fix
        if state == "closed" and rng.random() < 0.8:
            spec["rating"] = rng.randint(1, 5)
        out.append(spec)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_figures_equal_the_python_reference_on_random_tickets(bare: Flask, seed: int) -> None:
    rng = random.Random(seed)
    handlers = [staff_member(bare, f"fig-{n}", f"经办人{n}") for n in range(3)]
    add_tickets(bare, random_tickets(rng, handlers, rng.randint(1, 160)))
    assert_same_as_reference(bare)
    _overall, parts = sql_figures(bare)
    buildings = list(parts["building"])  # numbers in their order, then the tickets without one
    assert buildings == sorted(buildings, key=lambda b: (len(b), b) if b.isdigit() else (99, b))


def test_window_ranks_and_percentile_disc_agree(bare: Flask) -> None:
    # On SQLite both are the window functions; on PostgreSQL the page uses percentile_disc.
    rng = random.Random(7)
    handlers = [staff_member(bare, f"fig-{n}", f"经办人{n}") for n in range(2)]
    add_tickets(bare, random_tickets(rng, handlers, 120))
    assert sql_figures(bare, portable=True) == sql_figures(bare)


@pytest.fixture
def demo(database: tuple[str, str | None], fake_wechat: FakeWeChat) -> Iterator[Flask]:
    """The demo estate with its half year of tickets (`make run`'s data)."""
    app = make_app(database, fake_wechat, lambda: START)
    with transaction(app.extensions["linli"].sessions) as session:
        load_history(session)
    yield app
    app.extensions["linli"].close()


def test_flask_stats_on_the_demo_data_prints_the_figures_published_before(demo: Flask) -> None:
    with demo.app_context():
        result = demo.test_cli_runner().invoke(args=["stats", "--json"])
    assert result.exit_code == 0, result.output
    # as the follow-through issue's closing note showed them, counted in Python
    assert json.loads(result.output) == {
        "tickets": {"total": 360, "open": 10, "overdue": 10, "resolved": 341},
        "grid_resolved_share": 0.7273, "first_response_minutes": {"median": 958.0, "p90": 1558.4},
        "resolve_hours": {"median": 62.2, "p90": 97.5}, "satisfaction_rate": 0.8936,
        "reopen_rate": 0.0381}
    assert_same_as_reference(demo)


def test_flask_stats_table_matches_the_reference_per_group(demo: Flask) -> None:
    with demo.app_context():
        result = demo.test_cli_runner().invoke(args=["stats"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    _overall, parts = reference_figures(demo)
    for title, dimension in (("按类别", "category"), ("按楼栋", "building"), ("按月份", "month")):
        start = next(i for i, line in enumerate(lines) if line.startswith(title))
        names = [line.split()[0] for line in lines[start + 1:start + 1 + len(parts[dimension])]]
        assert sorted(names) == sorted(parts[dimension]), dimension
        for line in lines[start + 1:start + 1 + len(names)]:
            cells = line.split()
            expected = parts[dimension][cells[0]]
            assert int(cells[1]) == expected["tickets"]["total"]
            assert cells[5] == _whole(expected["first_response_minutes"]["median"])
            assert cells[6] == _whole(expected["resolve_hours"]["median"])


def _whole(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def test_figures_of_one_estate_count_only_its_tickets(bare: Flask) -> None:
    from models.estate import Estate
    with transaction(bare.extensions["linli"].sessions) as session:
        other = Estate(name="翠竹苑", community="和顺社区", street="龙溪街道")
        session.add(other)
        session.flush()
        first, second = session.scalar(select(Estate.id).order_by(Estate.id)), other.id
    rng = random.Random(11)
    handlers = [staff_member(bare, f"fig-{n}", f"经办人{n}") for n in range(2)]
    specs = random_tickets(rng, handlers, 90)
    for n, spec in enumerate(specs):
        spec["estate_id"] = first if n % 3 else second
    add_tickets(bare, specs)
    with bare.extensions["linli"].sessions() as session:
        rows = reference_rows(session, START)
        ids = session.scalars(select(Ticket.estate_id).where(Ticket.kind == "problem")
                              .order_by(Ticket.id)).all()
        mine = [row for row, estate in zip(rows, ids) if estate == second]
        overall = figures.summary(session, START, TZ, estates=[second])
        months = figures.breakdown(session, "month", START, TZ, estates=[second])
        both = figures.everything(session, START, TZ, estates=[first, second])["overall"]
    assert overall == reference_summary(mine)
    assert months == {m: v for m, v in reference_breakdown(mine, "month").items()}
    assert both == reference_summary(rows)  # the two estates together: every ticket
    assert overall["tickets"]["total"] == len(mine) < len(rows)
