"""Fan-out: notices and reminders to thousands, several senders side by side, none lost."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

from flask import Flask
from sqlalchemy import func, select

from bot import outbox
from bot.services import Services
from models import MarketOverride, OutboxMessage, Resident, Staff, transaction
from tests.conftest import Clock, PROJECT, cli
from tests.factories import WeChatPeer
from tests.fakes import FakeWeChat
from tests.test_outbox import killable, wait_until, worker_env  # noqa: F401 - fixtures

SENDERS = 8


def services(app: Flask) -> Services:
    return app.extensions["linli"]


def subscribers(app: Flask, count: int, clock: Clock) -> None:
    with transaction(services(app).sessions) as session:
        session.add_all(Resident(openid=f"oFan{n:05d}", created_at=clock(), subscribed=True,
                                 following=True, last_inbound_at=clock() - timedelta(hours=1),
                                 pushes_since_inbound=0) for n in range(count))


def test_parallel_senders_send_each_once_with_one_in_flight_each(
        app: Flask, fake_wechat: FakeWeChat, clock: Clock) -> None:
    subscribers(app, 400, clock)
    with transaction(services(app).sessions) as session:
        from bot.notices import send_notice
        send_notice(services(app), session, "停水通知", key="water", now=clock())
    # The first sends wait at WeChat until all the senders have one there at once: only
    # senders that really run side by side get past it (a broken barrier answers 500).
    fake_wechat.gather = threading.Barrier(SENDERS, timeout=60)
    assert outbox.deliver_due(services(app), senders=SENDERS) == 406  # 400 residents, 6 groups
    assert fake_wechat.peak_in_flight == SENDERS  # all at once, and never more than one each
    received = Counter(b["touser"] for b in fake_wechat.sent())
    assert len(received) == 400 and set(received.values()) == {1}


def test_notice_goes_once_per_key(app: Flask, fake_wechat: FakeWeChat, clock: Clock) -> None:
    subscribers(app, 3, clock)
    assert "3 resident(s) and 6 group(s) queued, 9 sent" in cli(app, "notice", "send", "周六停水")
    assert "0 resident(s) and 0 group(s) queued" in cli(app, "notice", "send", "周六停水")
    assert "3 resident(s)" in cli(app, "notice", "send", "周六停水", "--key", "again")
    assert all("【社区通知】周六停水" == b["text"]["content"] for b in fake_wechat.sent())


def test_staff_notice_command(peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat,
                              clock: Clock) -> None:
    subscribers(app, 2, clock)
    with transaction(services(app).sessions) as session:
        session.add(Staff(user_id="oStaff", channel="wechat", name="王经理", role="property"))
    assert "通知 全体" in (peer.say("通知 大家", openid="oStaff") or "")
    assert "2位订阅居民，6个群" in (peer.say("通知 全体 明早9点电梯检修", openid="oStaff") or "")
    assert "0位订阅居民" in (peer.say("通知 全体 明早9点电梯检修", openid="oStaff") or "")
    # a staff command without its ticket number gets the staff help, which names the notice too
    staff_help = peer.say("接单", openid="oStaff") or ""
    assert "可用指令" in staff_help and "通知 全体" in staff_help


def test_market_set_moves_and_cancels(app: Flask) -> None:
    assert "next market 2026-12-20" in cli(app, "market", "set", "2026-12", "--date", "2026-12-20")
    assert "next market 2027-01-15" in cli(app, "market", "set", "2026-12", "--cancel")
    with services(app).sessions() as session:
        row = session.get(MarketOverride, "2026-12")
        assert (row.cancelled, row.moved_to) == (True, None)
    bad = app.test_cli_runner().invoke(args=["market", "set", "2026-13", "--cancel"])
    assert bad.exit_code != 0
    both = app.test_cli_runner().invoke(args=["market", "set", "2026-12"])
    assert both.exit_code != 0


def test_killed_fan_out_worker_resumes_with_at_most_one_repeat_per_sender(
        app: Flask, fake_wechat: FakeWeChat, clock: Clock, worker_env: dict[str, str],
        killable: list) -> None:
    from bot.outbox import FAN_OUT_SENDERS

    total = 300
    clock.now = datetime.now(timezone.utc)  # the worker process runs on the real clock
    subscribers(app, total, clock)
    # After 60 sends WeChat takes each send but holds its answer: every sender still at work
    # is caught with one message sent and not yet recorded, the worst moment to die.
    fake_wechat.hold_after, fake_wechat.hold_taken = 60, True
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "notice", "send",
                               "今晚停电检修", "--key", "power"], cwd=PROJECT, env=worker_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    killable.append(worker)
    wait_until(lambda: fake_wechat.held >= 1, seconds=120)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    fake_wechat.release.set()
    in_flight = fake_wechat.held  # taken by WeChat, never recorded as sent
    with services(app).sessions() as session:
        recorded = session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status == "sent"))
    assert recorded <= 60  # killed mid-way: only the 60 answered sends can be recorded sent
    clock.now = datetime.now(timezone.utc) + outbox.LEASE + timedelta(seconds=1)  # leases ran out
    outbox.deliver_due(services(app), senders=SENDERS)
    received = Counter(b["touser"] for b in fake_wechat.sent())
    assert set(received) == {f"oFan{n:05d}" for n in range(total)}  # nothing lost
    assert 1 <= in_flight <= FAN_OUT_SENDERS  # at most one in flight per sender
    # what WeChat took while the worker died goes again (held sends, and answers the worker
    # got but had not recorded): at most one message per sender, none more than twice
    held = {c.body["touser"] for c in fake_wechat.calls if c.held and c.path.endswith("custom/send")}
    repeated = {who for who, times in received.items() if times > 1}
    assert held <= repeated and len(repeated) <= FAN_OUT_SENDERS
    assert max(received.values()) <= 2
    with services(app).sessions() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}


def test_fan_out_survives_api_faults_and_delivers_each_once(app: Flask, fake_wechat: FakeWeChat,
                                                             clock: Clock) -> None:
    total = 120
    subscribers(app, total, clock)
    with transaction(services(app).sessions) as session:
        from bot.notices import send_notice
        send_notice(services(app), session, "明早停水", key="faults", now=clock())
    fake_wechat.expire_tokens()  # the first send finds its token expired
    fake_wechat.fail_next = [500, 45009, -1, 500, 45009, 45009, 500, 45011]  # 500s, quota, busy
    fake_wechat.hang_next = 1  # and one send times out without reaching WeChat
    for _round in range(12):  # the API recovers; backoff reaches 30 s, 1 min, ...
        outbox.deliver_due(services(app), senders=SENDERS)
        with services(app).sessions() as session:
            if not session.scalar(select(OutboxMessage.id).where(OutboxMessage.status != "sent")
                                  .limit(1)):
                break
        clock.advance(minutes=5)
    delivered = Counter(b["touser"] for b in fake_wechat.delivered())
    assert set(delivered) == {f"oFan{n:05d}" for n in range(total)}  # nothing lost
    assert max(delivered.values()) == 1  # nothing twice
    with services(app).sessions() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}
        retried = session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.attempts > 1))
    assert retried == 9  # each failed send, and only those, went again
