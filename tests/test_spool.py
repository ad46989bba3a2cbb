"""The database stops during traffic: /healthz says 503, WeChat still hears back within 5 s,
and every message is handled once the database is back, with one ticket however often
WeChat retried it.

PostgreSQL is taken away for real: the app reaches it through a TCP forwarder that the
test stops (refused and reset connections, as when the server stops) or turns into a
black hole (connections accepted and never answered). SQLite has no server to stop; its
outage is another process holding the file's write lock (a VACUUM, a stuck writer),
which would otherwise hold every request for the 15 s busy timeout.

The answers come from the app's own deadlines (two seconds for /healthz, three for a
message), never from the database: while it is away the app still answers. How long the
answers take is measured, not asserted here (README, "When the database stops").
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.inbound import Inbound
from bot.spool import Spool
from models import InboundMessage, Ticket
from tests.conftest import Clock, _postgres_schema, make_app
from tests.factories import WeChatPeer, text_xml
from tests.fakes import FakeWeChat, Served
from tests.tcp_proxy import TcpProxy
from tests.wecom_factories import STAFF, app_peer, app_text_xml, bot_peer, bot_text

RESIDENT_B, RESIDENT_C = "oResidentSpoolB00000000000001", "oResidentSpoolC00000000000001"


def rows(app: Flask, model: type) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def health(url: str) -> int:
    """The /healthz status; the generous timeout only catches an app that never answers."""
    return requests.get(f"{url}/healthz", timeout=30).status_code


def pushed_to(fake: FakeWeChat, openid: str) -> list[str]:
    return [body["text"]["content"] for body in fake.sent() if body.get("touser") == openid]


def spooled(app: Flask) -> list[Path]:
    return app.extensions["linli"].spool.spool.pending()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (CI sets it)")
    parsed = make_url(url)
    forwarder = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    yield forwarder
    forwarder.close()


@pytest.fixture
def proxied(proxy: TcpProxy, fake_wechat: FakeWeChat, clock: Clock,
            tmp_path: Path) -> Iterator[tuple[Flask, str, TcpProxy]]:
    """The app on PostgreSQL through the forwarder, served over HTTP."""
    url = make_url(os.environ["TEST_DATABASE_URL"]).set(host="127.0.0.1", port=proxy.port)
    for schema in _postgres_schema(os.environ["TEST_DATABASE_URL"]):
        app = make_app((url.render_as_string(hide_password=False), schema), fake_wechat, clock,
                       settings={"spool.dir": str(tmp_path / "spool")})
        served = Served(app)
        try:
            yield app, served.url, proxy
        finally:
            served.close()
            app.extensions["linli"].close()


def peer_of(app: Flask, url: str) -> WeChatPeer:
    conf = app.extensions["linli"].config.wechat
    return WeChatPeer(url, conf.token, conf.app_id, clock=app.extensions["linli"].clock)


def test_postgres_stops_messages_wait_in_the_spool_and_are_answered_once(
        proxied: tuple[Flask, str, TcpProxy], fake_wechat: FakeWeChat) -> None:
    app, url, proxy = proxied
    peer = peer_of(app, url)
    assert "#1" in (peer.say("3栋电梯坏了") or "")
    assert health(url) == 200

    proxy.stop()
    assert health(url) == 503
    b = text_xml("5栋电梯坏了，门打不开", openid=RESIDENT_B, msg_id=7_100_000_000_000_000_001)
    c = text_xml("7栋2单元楼道灯坏了", openid=RESIDENT_C, msg_id=7_100_000_000_000_000_002)
    for xml in (b, c, b, b):  # B is retried twice while the database is away
        reply = peer.post(xml)
        assert (reply.status, reply.body) == (200, "success")
    staff = app_peer(url, app).post(app_text_xml("待办", msg_id=7_100_000_000_000_000_010))
    group = bot_peer(url, app).post(dict(bot_text("待办", msgid="CAIQspool="),
                                         response_url=fake_wechat.url + "aibot/response?c=spool"))
    assert [(staff.status, staff.body), (group.status, group.body)] == [(200, ""), (200, "")]
    assert len(spooled(app)) == 4  # one file per message, however often it came

    proxy.start()
    assert wait_for(lambda: health(url) == 200)
    again = peer.post(b)  # WeChat's third retry of B, after the database is back
    assert again.status == 200
    assert wait_for(lambda: not spooled(app) and pushed_to(fake_wechat, RESIDENT_C)
                    and fake_wechat.sent("message/send") and fake_wechat.sent("aibot/response"))
    app.extensions["linli"].executor.shutdown(wait=True)
    app.extensions["linli"].sender.shutdown(wait=True)

    assert rows(app, Ticket) == 3
    with app.extensions["linli"].sessions() as session:
        keys = session.scalars(select(InboundMessage.dedupe_key)).all()
    assert sorted(keys).count("wechat:msg:7100000000000000001") == 1
    to_c = pushed_to(fake_wechat, RESIDENT_C)
    assert len(to_c) == 1 and "#" in to_c[0]
    assert [m["touser"] for m in fake_wechat.sent("message/send")] == [STAFF]  # WeCom app
    assert len(fake_wechat.sent("aibot/response")) == 1  # the group's answer via response_url
    answers_to_b = pushed_to(fake_wechat, RESIDENT_B) + ([again.content] if again.content else [])
    assert len(answers_to_b) == 1 and "#" in answers_to_b[0]  # one reply, passive or pushed


def test_a_database_host_that_never_answers_costs_one_connect_timeout(
        proxied: tuple[Flask, str, TcpProxy], fake_wechat: FakeWeChat) -> None:
    app, url, proxy = proxied
    peer = peer_of(app, url)
    assert "#1" in (peer.say("3栋电梯坏了") or "")
    proxy.blackhole()  # from now on the database never answers: every answer is the app's own
    assert health(url) == 503
    xml = text_xml("9栋门禁坏了", openid=RESIDENT_B, msg_id=7_100_000_000_000_000_003)
    reply = peer.post(xml)
    assert (reply.status, reply.body) == (200, "success")
    assert len(spooled(app)) == 1

    proxy.stop()
    proxy.start()
    assert wait_for(lambda: health(url) == 200)
    assert "#" in (peer.say("10栋路灯坏了", openid=RESIDENT_C) or "")  # also wakes the drainer
    assert wait_for(lambda: not spooled(app) and pushed_to(fake_wechat, RESIDENT_B))
    assert rows(app, Ticket) == 3
    assert "9栋" in pushed_to(fake_wechat, RESIDENT_B)[0]


def test_sqlite_locked_by_another_writer_spools_and_answers_in_time(
        fake_wechat: FakeWeChat, clock: Clock, tmp_path: Path) -> None:
    database = tmp_path / "linli.db"
    app = make_app((f"sqlite:///{database}", None), fake_wechat, clock,
                   settings={"spool.dir": str(tmp_path / "spool")})
    served = Served(app)
    try:
        peer = peer_of(app, served.url)
        assert "#1" in (peer.say("3栋电梯坏了") or "")
        other = sqlite3.connect(database, isolation_level=None, timeout=1)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        assert health(served.url) == 503
        b = text_xml("5栋电梯坏了，门打不开", openid=RESIDENT_B, msg_id=7_100_000_000_000_000_004)
        for _ in range(2):  # the message and WeChat's first retry, both while locked
            reply = peer.post(b)
            assert (reply.status, reply.body) == (200, "success")
        assert len(spooled(app)) == 1
        other.execute("COMMIT")
        other.close()

        assert wait_for(lambda: health(served.url) == 200)
        again = peer.post(b)  # the last retry, after the lock is gone
        assert again.status == 200
        # The retry may be handled before the spool's next pass (seen under load): then its
        # answer is the reply itself, and the spooled copy is found handled and dropped.
        passive = [again.content] if again.content else []
        assert wait_for(lambda: not spooled(app) and (passive or pushed_to(fake_wechat, RESIDENT_B)))
        app.extensions["linli"].executor.shutdown(wait=True)
        app.extensions["linli"].sender.shutdown(wait=True)
        assert rows(app, Ticket) == 2
        answers = passive + pushed_to(fake_wechat, RESIDENT_B)
        assert len(answers) == 1 and "#2" in answers[0]  # one answer, however it went
    finally:
        served.close()
        app.extensions["linli"].close()


# --- the spool itself ------------------------------------------------------------------------

def test_a_retry_overwrites_its_own_file_and_the_spool_has_a_bound(tmp_path: Path, caplog) -> None:
    spool = Spool(tmp_path / "spool", max_messages=2)
    spool.keep("wechat:msg:1", {"text": "一"})
    spool.keep("wechat:msg:1", {"text": "一"})
    spool.keep("wechat:msg:2", {"text": "二"})
    assert spool.count() == 2
    with pytest.raises(Exception, match="spool"):
        spool.keep("wechat:msg:3", {"text": "三"})
    assert "is full" in caplog.text
    spool.keep("wechat:msg:2", {"text": "二"})  # a retry of a kept message still fits
    assert not [p for p in (tmp_path / "spool").iterdir() if p.name.startswith(".")]  # no temp files
    loaded = [spool.load(path) for path in spool.pending()]
    assert sorted(key for key, _ in loaded) == ["wechat:msg:1", "wechat:msg:2"]


def test_an_unreadable_spool_file_is_set_aside_not_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_messages=10)
    spool.keep("wechat:msg:1", {"text": "一"})
    path = spool.pending()[0]
    path.write_text("{not json")
    assert spool.load(path) is None
    assert spool.count() == 0
    assert (tmp_path / "spool" / "failed" / path.name).exists()


def test_a_file_drained_while_the_spool_is_listed_is_left_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another thread or process may handle a message between the folder's listing and the
    look at its file's age: the list leaves it out instead of failing (seen in CI)."""
    spool = Spool(tmp_path / "spool", max_messages=10)
    spool.keep("wechat:msg:1", {"text": "一"})
    spool.keep("wechat:msg:2", {"text": "二"})
    listed = os.scandir

    def listing_then_drained(folder):
        entries = list(listed(folder))
        gone = next(entry for entry in entries if entry.is_file())
        spool.discard(Path(gone.path))  # the drain wins the race
        return iter(entries)

    monkeypatch.setattr(os, "scandir", listing_then_drained)
    left = spool.pending()
    monkeypatch.undo()
    assert len(left) == 1 and left[0].exists()
    assert spool.count() == 1


def test_a_new_process_drains_what_an_earlier_one_left(
        fake_wechat: FakeWeChat, clock: Clock, tmp_path: Path) -> None:
    """Messages spooled by a process that then died are handled by the next one to start."""
    folder = tmp_path / "spool"
    database = (f"sqlite:///{tmp_path / 'linli.db'}", None)
    earlier = make_app(database, fake_wechat, clock, settings={"spool.dir": str(folder)})
    left = Inbound("wechat", RESIDENT_B, "text", "wechat:msg:7100000000000000020",
                   text="5栋电梯坏了，门打不开")
    earlier.extensions["linli"].spool.spool.keep(left.key, asdict(left))
    earlier.extensions["linli"].close()

    later = make_app(database, fake_wechat, clock, settings={"spool.dir": str(folder)})
    served = Served(later)
    try:
        assert peer_of(later, served.url).say("你好", openid=RESIDENT_C)  # its first message
        assert wait_for(lambda: not spooled(later) and pushed_to(fake_wechat, RESIDENT_B))
        assert rows(later, Ticket) == 1
        assert "#1" in pushed_to(fake_wechat, RESIDENT_B)[0]
    finally:
        served.close()
        later.extensions["linli"].close()


def test_a_connection_lost_under_a_prepared_statement_is_an_outage(proxy: TcpProxy) -> None:
    """The statements every message runs go to the driver's cursor (models.db.Prepared); a
    connection lost under one is SQLAlchemy's own outage all the same: its error class, the
    connection invalidated (so the pool makes a new one), and the inbound path's is_outage."""
    from sqlalchemy import Integer, literal_column
    from sqlalchemy.exc import DBAPIError

    from bot.inbound import is_outage
    from models.db import Prepared, make_engine

    url = make_url(os.environ["TEST_DATABASE_URL"]).set(host="127.0.0.1", port=proxy.port)
    engine = make_engine(url.render_as_string(hide_password=False))
    one = Prepared(select(literal_column("1", Integer())))
    try:
        with engine.connect() as connection:
            assert one.first(connection, {})[0] == 1
            proxy.stop()
            with pytest.raises(DBAPIError) as lost:
                one.first(connection, {})
            assert lost.value.connection_invalidated and is_outage(lost.value)
        proxy.start()
        with engine.connect() as connection:  # the pool's next connection works
            assert one.first(connection, {})[0] == 1
    finally:
        engine.dispose()
