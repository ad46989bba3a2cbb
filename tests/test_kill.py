"""SIGKILL mid-request and mid-escalation: after a restart nothing is lost or doubled.

The outbox's deliver loop and the fan-out are killed in tests/test_outbox.py and
tests/test_fanout.py; here a real `flask serve` is killed while it handles a report,
`flask jobs run sla_sweep` while it escalates 150 overdue tickets, and `flask jobs run
vote_close` while it queues a vote's result to 300 voters.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot import outbox
from scheduler import runner
from scheduler.jobs import by_name
from models import (Ballot, Home, OutboxMessage, Resident, Staff, Ticket, Vote,
                    transaction)
from tests.conftest import PROJECT, Clock, free_port, libpq_url, process_env
from tests.factories import WeChatPeer, text_xml
from tests.fakes import FakeWeChat

ESCALATED = 150  # overdue tickets the sweep climbs in one go
KEY = "wechat:msg:7000001"  # the dedupe key of the report killed mid-request


# ---- processes on the test's database and fake API (shared with test_multiprocess) -----------

class Processes:
    """Child processes, each in its own group, killed at the end of the test whatever happens."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], *,
              output: Path | None = None) -> subprocess.Popen[bytes]:
        sink = open(output, "wb") if output else subprocess.DEVNULL  # noqa: SIM115
        child = subprocess.Popen(args, cwd=PROJECT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        if output:
            sink.close()  # type: ignore[union-attr]
        self.started.append(child)
        return child

    def flask(self, env: dict[str, str], *args: str, output: Path | None = None
              ) -> subprocess.Popen[bytes]:
        return self.start([sys.executable, "-m", "flask", "--app", "app", *args], env, output=output)

    @staticmethod
    def kill(child: subprocess.Popen[bytes]) -> None:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)

    def close(self) -> None:
        for child in self.started:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)


@pytest.fixture
def processes() -> Iterator[Processes]:
    running = Processes()
    yield running
    running.close()


def wait_until(check: Callable[[], object], seconds: float = 30, every: float = 0.01) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def serving(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:  # not listening yet, or still starting its workers
        return False


def count(app: Flask, column: object, *where: object) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count(column)).where(*where)) or 0  # type: ignore[arg-type]


# ---- killed while handling a report ------------------------------------------------------------

class InsertsBlocked:
    """Hold a lock that stalls a process inside its transaction, at its first insert into `table`.

    PostgreSQL: the table locked against inserts (reads go on), so the process waits there with
    its earlier changes made and uncommitted. SQLite has one lock for the whole file: there the
    process is caught while it holds the write lock, which it takes as its transaction begins.
    """

    def __init__(self, database: tuple[str, str | None], table: str) -> None:
        url, schema = database
        self.database, self.table = database, table
        self.conn: psycopg.Connection | None = None
        if schema:
            plain = libpq_url(url)
            self.conn = psycopg.connect(plain, options=f"-csearch_path={schema}")
            self.conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")

    def caught(self) -> bool:
        """Tell whether a process is inside its transaction: on PostgreSQL waiting to insert,
        having written already; on SQLite holding the write lock."""
        url, schema = self.database
        if schema:
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                return bool(conn.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND backend_xid IS NOT NULL AND query ILIKE %s",
                    (f"INSERT INTO {self.table}%",)).fetchone())
        return sqlite_write_locked(url)

    def release(self) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            self.conn = None


def sqlite_write_locked(url: str) -> bool:
    """Tell whether another connection holds the SQLite file's write lock."""
    with closing(sqlite3.connect(make_url(url).database, timeout=0, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # "database is locked"
            return True


def kill_inside(processes: Processes, child: subprocess.Popen[bytes], stall: InsertsBlocked) -> None:
    """Kill the process once it is inside its transaction; fail if it got out first."""
    try:
        wait_until(stall.caught, seconds=120, every=0.002)
        processes.kill(child)
    finally:
        stall.release()
    assert child.returncode == -signal.SIGKILL, f"it finished (exit {child.returncode}) before the kill"


def server_setup(app: Flask, database: tuple[str, str | None], fake_wechat: FakeWeChat,
                 tmp_path: Path) -> tuple[dict[str, str], str, WeChatPeer]:
    """A `flask serve` environment on a free port, its address, and a WeChat peer for it."""
    conf = app.extensions["linli"].config.wechat
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return (process_env(database, fake_wechat, tmp_path, port=port), base,
            WeChatPeer(base, conf.token, conf.app_id))


def test_killed_mid_request_the_retry_makes_one_ticket_and_one_reply(
        app: Flask, database, fake_wechat: FakeWeChat, tmp_path: Path,
        processes: Processes) -> None:
    env, base, peer = server_setup(app, database, fake_wechat, tmp_path)
    message = text_xml("3栋2单元电梯坏了，有人被困", openid="oKilledMidRequest", msg_id=7_000_001)

    cold = dict(env, LINLI_CACHE_DIR=str(tmp_path / "cold-cache"))  # the engine loads slowly
    server = processes.flask(cold, "serve")
    wait_until(lambda: serving(base))
    stall = InsertsBlocked(database, "tickets")
    threading.Thread(target=lambda: _post_ignoring_death(peer, message), daemon=True).start()
    kill_inside(processes, server, stall)  # mid-request: the message's transaction is open
    assert inbound_status(database, KEY) is None  # nothing of it was committed ...
    assert count(app, Ticket.id) == 0

    processes.flask(env, "serve")  # restarted
    wait_until(lambda: serving(base))
    replies = [peer.post(message).content for _ in range(2)]  # WeChat's retry, and one more
    with app.extensions["linli"].sessions() as session:
        numbers = session.scalars(select(Ticket.id)).all()
    assert len(numbers) == 1, numbers  # one ticket
    assert all(f"#{numbers[0]}" in (reply or "") for reply in replies), replies


def inbound_status(database: tuple[str, str | None], key: str) -> str | None:
    """Read a message's status without waiting for any lock (the app's sessions write-lock SQLite)."""
    url, schema = database
    query = "SELECT status FROM inbound_messages WHERE dedupe_key = "
    if schema:
        plain = libpq_url(url)
        with psycopg.connect(plain, options=f"-csearch_path={schema}", autocommit=True) as conn:
            row = conn.execute(query + "%s", (key,)).fetchone()
    else:
        with closing(sqlite3.connect(make_url(url).database, timeout=0)) as conn:
            row = conn.execute(query + "?", (key,)).fetchone()
    return row[0] if row else None


def _post_ignoring_death(peer: WeChatPeer, message: str) -> None:
    try:
        peer.post(message)
    except requests.ConnectionError:
        pass  # the server was killed under it, as intended


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # no database-specific path
def test_killed_after_answering_the_retry_gets_the_stored_reply(
        app: Flask, database, fake_wechat: FakeWeChat, tmp_path: Path,
        processes: Processes) -> None:
    env, base, peer = server_setup(app, database, fake_wechat, tmp_path)
    message = text_xml("5栋楼道垃圾没人收", openid="oKilledAfter", msg_id=7_000_002)
    server = processes.flask(env, "serve")
    wait_until(lambda: serving(base))
    first = peer.post(message).content or ""
    processes.kill(server)  # before WeChat saw the answer, say: it retries to a new process
    processes.flask(env, "serve")
    wait_until(lambda: serving(base))
    again = peer.post(message).content or ""
    assert "#1" in first and again == first
    assert count(app, Ticket.id) == 1


# ---- killed while escalating ----------------------------------------------------------------

def overdue_tickets(app: Flask, count_: int) -> None:
    """Open tickets in buildings 1-16, their response time over an hour ago (real clock)."""
    services = app.extensions["linli"]
    now = datetime.now(timezone.utc)
    with transaction(services.sessions) as session:
        reporter = Resident(openid="oOverdueReporter", created_at=now, verified=False, following=True,
                            subscribed=False, pushes_since_inbound=0)
        session.add(reporter)
        for level, user in (("grid", "g"), ("property", "p"), ("estate", "e")):
            session.add(Staff(user_id=f"{user}-staff", channel="wecom", name=f"{level}-staff",
                              role=level))
        session.flush()
        for n in range(count_):
            created = now - timedelta(days=2)
            session.add(Ticket(kind="problem", category="lighting", reporter_id=reporter.id,
                               building=str(n % 16 + 1), place=f"{n % 16 + 1}栋", urgent=False,
                               text=f"路灯不亮 {n}", state="open", level="grid",
                               created_at=created, updated_at=created,
                               response_due_at=now - timedelta(hours=1),
                               resolve_due_at=now + timedelta(days=1)))


def test_killed_mid_escalation_each_ticket_climbs_once_and_each_level_hears_once(
        app: Flask, database, fake_wechat: FakeWeChat, clock: Clock, tmp_path: Path,
        processes: Processes) -> None:
    overdue_tickets(app, ESCALATED)
    env = process_env(database, fake_wechat, tmp_path)
    stall = InsertsBlocked(database, "outbox")  # the sweep stops at its first queued card
    sweep = processes.flask(env, "jobs", "run", "sla_sweep")
    kill_inside(processes, sweep, stall)
    levels = Counter(t for t in _levels(app))
    assert levels == {"grid": ESCALATED}  # one transaction: nothing half-done survives
    assert count(app, OutboxMessage.id) == 0

    clock.now = datetime.now(timezone.utc)  # restarted: the same job, run here
    sweep_job = by_name("sla_sweep")
    assert runner.run(sweep_job, app.extensions["linli"]).startswith(f"{ESCALATED} ticket(s)")
    assert runner.run(sweep_job, app.extensions["linli"]).startswith("0 ticket(s)")  # fresh deadlines
    assert Counter(_levels(app)) == {"property": ESCALATED}

    outbox.deliver_due(app.extensions["linli"], senders=8)
    told = Counter(_ticket_of(body["markdown"]["content"]) for body in fake_wechat.sent("message/send")
                   if body["touser"] == "p-staff")
    assert told == {number: 1 for number in range(1, ESCALATED + 1)}  # the new level, once each
    grouped = Counter(_ticket_of(c.body["markdown"]["content"]) for c in fake_wechat.calls
                      if c.path.endswith("webhook/send") and c.params.get("key") == "property")
    assert set(grouped.values()) <= {1}  # the group robot: once per ticket, at most 20 a minute


def _levels(app: Flask) -> list[str]:
    with app.extensions["linli"].sessions() as session:
        return list(session.scalars(select(Ticket.level)))


def _ticket_of(card: str) -> int:
    return int(card.split("#", 1)[1].split(" ", 1)[0].split("*", 1)[0])


# ---- killed while closing a vote ---------------------------------------------------------------

VOTERS = 300


def a_vote_due_to_close(app: Flask) -> int:
    """A consultation that closed a minute ago (real clock), with a ballot from each of 300 homes."""
    now = datetime.now(timezone.utc)
    with transaction(app.extensions["linli"].sessions) as session:
        vote = Vote(title="中心花园改造方案", kind="consultation", opens_at=now - timedelta(days=3),
                    closes_at=now - timedelta(minutes=1), announced_at=now - timedelta(days=3),
                    reminded_at=now - timedelta(days=1), created_at=now - timedelta(days=3),
                    created_by="staff:test")
        session.add(vote)
        session.flush()
        homes = session.scalars(select(Home.id).order_by(Home.id).limit(VOTERS)).all()
        for n, home in enumerate(homes):
            voter = Resident(openid=f"oVoter{n:04d}", home_id=home, role="owner", verified=True,
                             created_at=now, last_inbound_at=now, following=True, subscribed=False,
                             pushes_since_inbound=0)
            session.add(voter)
            session.flush()
            session.add(Ballot(vote_id=vote.id, household=f"home:{home}", resident_id=voter.id,
                               choice=("agree", "oppose")[n % 2], cast_at=now, changes=0))
        return vote.id


def test_killed_mid_closing_a_vote_each_voter_hears_the_result_once(
        app: Flask, database, fake_wechat: FakeWeChat, clock: Clock, tmp_path: Path,
        processes: Processes) -> None:
    number = a_vote_due_to_close(app)
    stall = InsertsBlocked(database, "outbox")  # the closing stops at its first queued result
    closing = processes.flask(process_env(database, fake_wechat, tmp_path), "jobs", "run", "vote_close")
    kill_inside(processes, closing, stall)
    with app.extensions["linli"].sessions() as session:
        assert session.get(Vote, number).closed_at is None  # nothing half-done survives
    assert count(app, OutboxMessage.id) == 0

    clock.now = datetime.now(timezone.utc)  # restarted: the job runs again, then once more
    vote_close = by_name("vote_close")
    assert "1 closed" in runner.run(vote_close, app.extensions["linli"])
    assert "0 closed" in runner.run(vote_close, app.extensions["linli"])
    outbox.deliver_due(app.extensions["linli"], senders=8)
    told = Counter(b["touser"] for b in fake_wechat.sent() if "已截止" in b["text"]["content"])
    assert told == {f"oVoter{n:04d}": 1 for n in range(VOTERS)}
    with app.extensions["linli"].sessions() as session:
        assert session.get(Vote, number).closed_at is not None
