"""The outbox: every outbound message delivered once, whatever WeChat's API does."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, select

from bot import outbox
from bot.services import Services
from models import AccessToken, OutboxMessage, Resident, transaction
from tests.conftest import PROJECT, Clock, process_env
from tests.factories import WeChatPeer
from tests.fakes import FakeWeChat


def services(app: Flask) -> Services:
    return app.extensions["linli"]


def queue(app: Flask, count: int, *, channel: str = "wechat", kind: str = "text",
          recipient: str | None = None) -> None:
    s = services(app)
    with transaction(s.sessions) as session:
        for n in range(count):
            outbox.enqueue(session, key=f"test:{channel}:{recipient}:{n}", channel=channel,
                           recipient=recipient or f"oUser{n:04d}", body=f"消息 {n}",
                           now=s.clock(), kind=kind)


def make_residents(app: Flask, count: int, *, wrote_hours_ago: float = 1) -> None:
    s = services(app)
    with transaction(s.sessions) as session:
        for n in range(count):
            session.add(Resident(openid=f"oUser{n:04d}", created_at=s.clock(), following=True,
                                 last_inbound_at=s.clock() - timedelta(hours=wrote_hours_ago),
                                 pushes_since_inbound=0))


@contextmanager
def counted_commits(app: Flask) -> Iterator[list[object]]:
    """The commits the app's engine makes inside the block (one item each)."""
    commits: list[object] = []
    engine, record = services(app).engine, commits.append  # one bound method, to remove it again
    event.listen(engine, "commit", record)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", record)


def states(app: Flask) -> list[str]:
    with services(app).sessions() as session:
        return [m.status for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_each_message_goes_once(app: Flask, fake_wechat: FakeWeChat) -> None:
    make_residents(app, 5)
    queue(app, 5)
    assert outbox.deliver_due(services(app)) == 5
    assert outbox.deliver_due(services(app)) == 0
    assert sorted(b["touser"] for b in fake_wechat.sent()) == [f"oUser{n:04d}" for n in range(5)]


def test_several_messages_queue_in_one_statement_in_order_each_key_once(app: Flask,
                                                                       fake_wechat: FakeWeChat) -> None:
    """A ticket's cards to its staff go in one insert: in the order given, and a key queued
    before (a card already sent to that person) is skipped, as enqueue skips it."""
    make_residents(app, 3)
    s = services(app)
    with transaction(s.sessions) as session:
        outbox.enqueue(session, key="card:1", channel="wechat", recipient="oUser0001", body="早",
                       now=s.clock())
    cards = [outbox.Message(f"card:{n}", "wechat", f"oUser{n:04d}", f"卡片 {n}") for n in (2, 1, 0)]
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(s.engine, "before_cursor_execute", note)
    try:
        with transaction(s.sessions) as session:
            assert outbox.enqueue_all(session, cards, s.clock()) == 2
            assert outbox.queued(session) == 2
    finally:
        event.remove(s.engine, "before_cursor_execute", note)
    with s.sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.dedupe_key, m.body) for m in rows] == [("card:1", "早"), ("card:2", "卡片 2"),
                                                       ("card:0", "卡片 0")]
    assert sum(text.lstrip().upper().startswith("INSERT INTO OUTBOX") for text in statements) == 1
    assert outbox.deliver_due(services(app)) == 3


def test_the_sender_commits_once_a_message(app: Flask, fake_wechat: FakeWeChat) -> None:
    """Each message's outcome is recorded with the next claim: on SQLite every commit takes the
    one write lock that the webhook's handling needs too, so a commit saved is time it waits less."""
    make_residents(app, 11)
    queue(app, 1, recipient="oUser0010")
    assert outbox.deliver_due(services(app)) == 1  # the access token is fetched and kept
    queue(app, 10)
    with counted_commits(app) as commits:
        assert outbox.deliver_due(services(app), recover=False) == 10
    assert len(commits) == 11  # the first claim, nine outcomes each with the next claim, the last outcome
    assert set(states(app)) == {"sent"}
    assert sorted(b["touser"] for b in fake_wechat.sent()) == [f"oUser{n:04d}" for n in range(11)]


def test_expired_token_is_renewed_once_and_shared(app: Flask, fake_wechat: FakeWeChat) -> None:
    make_residents(app, 2)
    queue(app, 1)
    outbox.deliver_due(services(app))
    fetches = fake_wechat.token_fetches()
    fake_wechat.expire_tokens()
    queue(app, 2)
    assert outbox.deliver_due(services(app)) == 1
    assert fake_wechat.token_fetches() == fetches + 1
    stable = [c for c in fake_wechat.calls if c.path.endswith("stable_token")]
    assert stable[-1].body["force_refresh"] is True  # the old one was refused
    from bot.wxapi import DbTokenStorage
    other_process = DbTokenStorage(services(app).sessions, services(app).clock)
    assert other_process.get("wx0000000000demo_access_token", "").startswith("FAKE-TOKEN-")


def test_no_token_row_is_named_after_a_secret(app: Flask, fake_wechat: FakeWeChat) -> None:
    """Issue 18, item 10: wechatpy names a WeCom token row after the start of the app's secret."""
    queue(app, 1, channel="wecom_app", kind="markdown", recipient="zhangwei")
    assert outbox.deliver_due(services(app)) == 1 and fake_wechat.token_fetches() == 1
    conf = services(app).config.wecom
    with services(app).sessions() as session:
        keys = list(session.scalars(select(AccessToken.key)))
    assert keys == [f"wecom:{conf.corp_id}:{conf.agent_id}:access_token"]
    assert not any(conf.secret[:10] in key for key in keys)


def test_server_errors_and_timeouts_are_retried_with_backoff(app: Flask, fake_wechat: FakeWeChat,
                                                             clock: Clock) -> None:
    make_residents(app, 1)
    fake_wechat.fail_next = [500, 45009]
    queue(app, 1)
    assert outbox.deliver_due(services(app)) == 0
    assert states(app) == ["pending"]
    assert outbox.deliver_due(services(app)) == 0  # not due yet: backing off
    clock.advance(seconds=31)
    assert outbox.deliver_due(services(app)) == 0  # the quota error
    clock.advance(seconds=61)
    assert outbox.deliver_due(services(app)) == 1
    assert len([b for b in fake_wechat.sent()]) == 3


def test_gives_up_after_bounded_tries_and_lists_them(app: Flask, fake_wechat: FakeWeChat,
                                                     clock: Clock) -> None:
    make_residents(app, 1)
    fake_wechat.errcode = 45009
    queue(app, 1)
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.deliver_due(services(app))
        clock.advance(hours=2)
    assert states(app) == ["failed"]
    listing = app.test_cli_runner().invoke(args=["outbox", "list", "--failed"]).output
    assert "oUser0000" in listing and "errcode 45009" in listing


def test_blocked_resident_is_skipped_and_recorded(app: Flask, fake_wechat: FakeWeChat) -> None:
    make_residents(app, 1)
    fake_wechat.errcode = 43004  # the user unfollowed / blocked us
    queue(app, 1)
    outbox.deliver_due(services(app))
    with services(app).sessions() as session:
        message = session.scalars(select(OutboxMessage)).one()
    assert (message.status, message.attempts, message.last_error) == ("failed", 1, "errcode 43004")


def test_closed_window_falls_back_to_template_else_waits(app: Flask, fake_wechat: FakeWeChat,
                                                         clock: Clock) -> None:
    make_residents(app, 2, wrote_hours_ago=50)  # WeChat's 48-hour window has closed
    queue(app, 1, kind="ticket_update", recipient="oUser0000")
    queue(app, 1, kind="text", recipient="oUser0001")
    outbox.deliver_due(services(app))
    assert [b["touser"] for b in fake_wechat.sent("message/template/send")] == ["oUser0000"]
    assert fake_wechat.sent() == []
    assert states(app) == ["sent", "held"]
    with transaction(services(app).sessions) as session:  # oUser0001 writes again
        outbox.release_held(session, "oUser0001", clock())
        session.execute(Resident.__table__.update().where(Resident.openid == "oUser0001")
                        .values(last_inbound_at=clock()))
    assert outbox.deliver_due(services(app)) == 1
    assert [b["touser"] for b in fake_wechat.sent()] == ["oUser0001"]


def test_five_pushes_per_window_then_template(app: Flask, fake_wechat: FakeWeChat) -> None:
    make_residents(app, 1)
    for n in range(7):
        with transaction(services(app).sessions) as session:
            outbox.enqueue(session, key=f"update:{n}", channel="wechat", recipient="oUser0000",
                           body=f"进展 {n}", now=services(app).clock(), kind="ticket_update")
    outbox.deliver_due(services(app))
    assert len(fake_wechat.sent()) == 5
    assert len(fake_wechat.sent("message/template/send")) == 2


def test_quota_error_45047_switches_to_template(app: Flask, fake_wechat: FakeWeChat) -> None:
    make_residents(app, 1)
    fake_wechat.fail_next = [45047]
    queue(app, 1, kind="ticket_update", recipient="oUser0000")
    assert outbox.deliver_due(services(app)) == 1
    assert len(fake_wechat.sent("message/template/send")) == 1


def test_group_robot_sends_at_most_20_a_minute(app: Flask, fake_wechat: FakeWeChat,
                                               clock: Clock) -> None:
    queue(app, 25, channel="wecom_group", kind="markdown", recipient="property")
    outbox.deliver_due(services(app))
    assert len(fake_wechat.sent("webhook/send")) == 20
    clock.advance(seconds=61)
    outbox.deliver_due(services(app))
    assert len(fake_wechat.sent("webhook/send")) == 25
    with services(app).sessions() as session:
        assert {m.attempts for m in session.scalars(select(OutboxMessage))} == {1}


def test_a_group_robots_queue_waits_for_its_minute_in_one_go(app: Flask, fake_wechat: FakeWeChat,
                                                             clock: Clock) -> None:
    """A flood of urgent reports queues hundreds of group messages; those over the 20 a
    minute wait together until the minute frees a place, instead of each being claimed and put
    back every few seconds (each a commit under SQLite's one write lock)."""
    queue(app, 60, channel="wecom_group", kind="markdown", recipient="property")
    start = clock()
    with counted_commits(app) as commits:
        outbox.deliver_due(services(app))
    assert len(fake_wechat.sent("webhook/send")) == 20
    assert len(commits) <= 25  # one a send, and the other 40 wait in one (62 when each waited alone)
    with services(app).sessions() as session:
        waiting = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    assert len(waiting) == 40
    assert {m.due_at for m in waiting} == {start + timedelta(minutes=1)}  # when the first send leaves the minute
    for sent in (40, 60):
        clock.advance(seconds=60)
        outbox.deliver_due(services(app))
        assert len(fake_wechat.sent("webhook/send")) == sent
    assert set(states(app)) == {"sent"}
    with services(app).sessions() as session:
        assert {m.attempts for m in session.scalars(select(OutboxMessage))} == {1}


def test_response_url_elsewhere_is_refused(app: Flask, fake_wechat: FakeWeChat) -> None:
    queue(app, 1, channel="wecom_response", kind="markdown",
          recipient="https://evil.example/aibot/response?code=1")
    outbox.deliver_due(services(app))
    assert states(app) == ["failed"]
    assert fake_wechat.calls == []


# ---- killing the worker ------------------------------------------------------------------

@pytest.fixture
def worker_env(database, fake_wechat: FakeWeChat, tmp_path: Path) -> dict[str, str]:
    """Environment for a `flask` process on the test's database, every API on the fake."""
    return process_env(database, fake_wechat, tmp_path)


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "outbox", "deliver",
                             "--loop"], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def wait_until(check, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def killable(worker_env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    workers: list[subprocess.Popen[bytes]] = []
    yield workers
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)


# Where the worker is when it dies, as the fake API holds it: after how many sends, whether
# WeChat took the held send, and how many messages then go twice.
KILL_POINTS = {
    "before a send": (0, False, 0),  # its first message claimed, the send not taken
    "during a batch": (10, False, 0),  # ten sent and recorded, the eleventh claimed, not taken
    "between send and commit": (10, True, 1),  # WeChat took the eleventh; the worker never heard
}


@pytest.mark.parametrize("moment", list(KILL_POINTS))
def test_killed_worker_loses_nothing_and_repeats_at_most_one(
        moment: str, app: Flask, fake_wechat: FakeWeChat, clock: Clock,
        worker_env: dict[str, str], killable: list) -> None:
    total = 30
    after, taken, expected_repeats = KILL_POINTS[moment]
    clock.now = datetime.now(timezone.utc)  # the worker process runs on the real clock
    make_residents(app, total)
    queue(app, total)
    fake_wechat.hold_after, fake_wechat.hold_taken = after, taken
    worker = start_worker(worker_env)
    killable.append(worker)
    wait_until(lambda: fake_wechat.held == 1, seconds=120)  # the worker is at its send
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    fake_wechat.release.set()
    assert states(app).count("sending") == 1  # it died holding one claimed message
    assert states(app).count("sent") == after
    clock.now = datetime.now(timezone.utc) + outbox.LEASE + timedelta(seconds=1)  # its lease ran out
    assert outbox.deliver_due(services(app)) == total - after  # the rest, the claimed one included
    received = [b["touser"] for b in fake_wechat.sent()]
    assert set(received) == {f"oUser{n:04d}" for n in range(total)}  # nothing lost
    assert len(received) - total == expected_repeats  # only a send WeChat took goes twice
    assert set(states(app)) == {"sent"}


def test_vote_notices_fall_back_to_their_own_template(app: Flask, fake_wechat: FakeWeChat) -> None:
    make_residents(app, 1, wrote_hours_ago=50)
    queue(app, 1, kind="vote_notice", recipient="oUser0000")
    outbox.deliver_due(services(app))
    [sent] = fake_wechat.sent("message/template/send")
    assert sent["template_id"] == "demo-vote-notice"


def test_a_message_held_for_a_resident_goes_when_they_write(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat, clock: Clock) -> None:
    """Writing opens the window: the webhook releases what was held, in the message's own
    transaction (the turn reads whether anything is held as it stamps the resident)."""
    make_residents(app, 1, wrote_hours_ago=50)  # the window has closed
    queue(app, 1, kind="text", recipient="oUser0000")
    outbox.deliver_due(services(app))
    assert states(app) == ["held"] and fake_wechat.sent() == []
    assert peer.say("你好", openid="oUser0000")
    services(app).sender.submit(lambda: None).result(10)  # the send the commit started
    outbox.deliver_due(services(app))
    assert states(app) == ["sent"]
    assert [b["touser"] for b in fake_wechat.sent()] == ["oUser0000"]
