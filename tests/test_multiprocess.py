"""Two web servers and two schedulers on one PostgreSQL: the retry rule, the outbox and the
jobs stay exactly-once across processes (counted in the database and at the fake API)."""
from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from models import OutboxMessage, Resident, Ticket, transaction
from tests.conftest import Clock, free_port, process_env
from tests.factories import WeChatPeer, text_xml
from tests.fakes import FakeWeChat
from tests.test_kill import Processes, count, overdue_tickets, processes, serving, wait_until

MESSAGES = 12  # distinct messages, each posted four times at once: twice to each server
COPIES = 4
QUEUED = 40
SWEPT = 60  # overdue tickets two sweeps race for


@pytest.fixture
def database(database: tuple[str, str | None]) -> tuple[str, str | None]:
    """Only PostgreSQL: several hosts' processes cannot share a SQLite file."""
    if database[1] is None:
        pytest.skip("several processes on one database is the PostgreSQL deployment")
    return database


def cards(fake: FakeWeChat) -> Counter[int]:
    """How often each ticket's card reached the grid worker."""
    return Counter(int(b["markdown"]["content"].split("#", 1)[1].split("*", 1)[0].strip())
                   for b in fake.sent("message/send") if b["touser"] == "grid-all")


def test_two_web_servers_make_one_ticket_per_message_and_send_each_card_once(
        app: Flask, database, fake_wechat: FakeWeChat, tmp_path: Path,
        processes: Processes) -> None:
    result = app.test_cli_runner().invoke(args=["staff", "add", "--id", "grid-all", "--channel",
                                                "wecom", "--name", "全区网格员", "--role", "grid"])
    assert result.exit_code == 0, result.output
    conf = app.extensions["linli"].config.wechat
    peers = []
    for _ in range(2):
        port = free_port()
        env = process_env(database, fake_wechat, tmp_path, port=port)
        processes.start([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind",
                         f"127.0.0.1:{port}", "app:create_app()"], env)
        peers.append(WeChatPeer(f"http://127.0.0.1:{port}", conf.token, conf.app_id))
    for peer in peers:
        wait_until(lambda: serving(peer.base_url))

    messages = [text_xml(f"建议在{n % 16 + 1}号楼门口加装扶手，第{n}处", openid=f"oTwin{n:03d}",
                         msg_id=8_000_000 + n) for n in range(MESSAGES)]
    with ThreadPoolExecutor(max_workers=MESSAGES * COPIES) as pool:
        answers = list(pool.map(lambda job: peers[job[0] % 2].post(messages[job[1]]).content,
                                [(copy, n) for n in range(MESSAGES) for copy in range(COPIES)]))
    assert count(app, Ticket.id) == MESSAGES  # one ticket per message, however often it came
    with app.extensions["linli"].sessions() as session:
        owners = dict(session.execute(select(Ticket.id, Resident.openid).join(
            Resident, Resident.id == Ticket.reporter_id)).all())
    for n in range(MESSAGES):
        said = {a for a in answers[n * COPIES:(n + 1) * COPIES] if a}
        assert len(said) == 1, said  # every copy answered alike (or "success" while in hand)
        number = int(said.pop().split("#", 1)[1].split("，", 1)[0].split("（", 1)[0])
        assert owners[number] == f"oTwin{n:03d}"

    wait_until(lambda: sum(cards(fake_wechat).values()) >= MESSAGES)
    time.sleep(1.0)  # both servers' senders had their chance to send one twice
    assert cards(fake_wechat) == {number: 1 for number in owners}


def test_two_schedulers_fire_each_job_once_and_send_each_message_once(
        app: Flask, database, fake_wechat: FakeWeChat, clock: Clock, tmp_path: Path,
        processes: Processes) -> None:
    now = datetime.now(timezone.utc)  # the schedulers run on the real clock
    with transaction(app.extensions["linli"].sessions) as session:
        for n in range(QUEUED):
            session.add(OutboxMessage(dedupe_key=f"twin-scheduler:{n}", channel="wecom_app",
                                      recipient=f"staff{n:03d}", kind="markdown", body=f"第{n}条",
                                      status="pending", attempts=0, due_at=now, created_at=now))
    env = process_env(database, fake_wechat, tmp_path, scheduler=True)
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    twins = [processes.flask(env, "scheduler", output=log) for log in logs]
    started = time.monotonic()
    wait_until(lambda: len(fake_wechat.sent("message/send")) >= QUEUED, seconds=45)
    time.sleep(max(0.0, started + 17 - time.monotonic()))  # past the first 15 s occurrence only
    for twin in twins:
        twin.send_signal(signal.SIGTERM)  # stops, releases the lease
        assert twin.wait(20) == 0
    said = [log.read_text(encoding="utf-8") for log in logs]
    assert sorted("firing (" in s for s in said) == [False, True], said  # one fires, one stands by
    fired = [s.count("job outbox:") for s in said]
    assert sorted(fired) == [0, 1], said  # the 15-second job's first occurrence, once in all
    received = Counter(b["touser"] for b in fake_wechat.sent("message/send"))
    assert received == {f"staff{n:03d}": 1 for n in range(QUEUED)}
    with app.extensions["linli"].sessions() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}


def test_two_sweeps_at_once_climb_each_ticket_one_level(
        app: Flask, database, fake_wechat: FakeWeChat, tmp_path: Path,
        processes: Processes) -> None:
    overdue_tickets(app, SWEPT)
    env = process_env(database, fake_wechat, tmp_path)
    logs = [tmp_path / "sweep-a.log", tmp_path / "sweep-b.log"]
    sweeps = [processes.flask(env, "jobs", "run", "sla_sweep", output=log) for log in logs]
    assert [s.wait(60) for s in sweeps] == [0, 0]
    moved = sorted(int(log.read_text(encoding="utf-8").rsplit(" ticket(s)", 1)[0].split()[-1])
                   for log in logs)
    assert sum(moved) == SWEPT, moved  # the second skips what the first holds, or finds it done
    with app.extensions["linli"].sessions() as session:
        assert dict(session.execute(select(Ticket.level, func.count()).group_by(Ticket.level)).all()) \
            == {"property": SWEPT}
        keys = session.scalars(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.recipient == "p-staff")).all()
    assert len(keys) == SWEPT and len({k.split(":")[1] for k in keys}) == SWEPT  # each ticket, once
