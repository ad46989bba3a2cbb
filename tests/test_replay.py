"""A signature copied from a log signs nothing new (issue 18, item 1).

In plaintext mode WeChat's `signature` covers token, timestamp and nonce, not the message. A
triple from an access log let anyone post 删除我的信息 / 确认删除 as another resident. Here the
attacker holds such a triple and tries: another message, another sender, later, and in safe
mode a plaintext post; WeChat's own retries still get through. And the app's logs never carry
a query string, `flask serve`'s access log included.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from bot.channels.replay import WINDOW
from models import InboundMessage, Resident, Ticket
from tests.conftest import Clock, make_app
from tests.factories import WeChatPeer, sign, text_xml
from tests.fakes import FakeWeChat, Served
from tests.test_kill import Processes, processes, server_setup, serving, wait_until  # noqa: F401
from tests.wecom_factories import app_peer, app_text_xml, bot_peer, bot_text

VICTIM = "oVictimResident0001"


def count(app: Flask, column: object, *where: object) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count(column)).where(*where)) or 0  # type: ignore[arg-type]


def now_stamp(clock: Clock) -> str:
    return str(int(clock().timestamp()))


def captured(peer: WeChatPeer, clock: Clock, nonce: str = "918273645") -> dict[str, str]:
    """The victim writes; the attacker copies that request's query string from a log."""
    timestamp = now_stamp(clock)
    assert "#1" in (peer.post(text_xml("3栋电梯坏了，有人被困", openid=VICTIM),
                              timestamp=timestamp, nonce=nonce).content or "")
    return {"timestamp": timestamp, "nonce": nonce, "signature": sign(peer.token, timestamp, nonce)}


def test_a_copied_signature_cannot_erase_the_resident(peer: WeChatPeer, app: Flask,
                                                      clock: Clock) -> None:
    triple = captured(peer, clock)
    messages = count(app, InboundMessage.id)
    for text in ("删除我的信息", "确认删除"):
        forged = peer.post(text_xml(text, openid=VICTIM), **triple)
        assert forged.status == 403 and forged.content is None
    for stranger in ("oSomeoneElse", VICTIM):  # as anyone, and with any other words
        assert peer.post(text_xml("5栋2单元电梯坏了", openid=stranger), **triple).status == 403
    assert count(app, InboundMessage.id) == messages  # nothing was taken in
    assert count(app, Resident.id, Resident.openid == VICTIM) == 1  # not erased
    assert count(app, Ticket.id) == 1


def test_wechats_own_retry_with_the_same_nonce_is_answered(peer: WeChatPeer, app: Flask,
                                                           clock: Clock) -> None:
    timestamp = now_stamp(clock)
    message = text_xml("3栋电梯坏了，有人被困", openid=VICTIM, msg_id=6_500_000_000_000_000_001)
    first = peer.post(message, timestamp=timestamp, nonce="55501")
    again = peer.post(message, timestamp=timestamp, nonce="55501")  # the same request, resent
    assert first.status == again.status == 200
    assert first.content == again.content and "#1" in (again.content or "")
    assert count(app, Ticket.id) == 1 and count(app, InboundMessage.id) == 1


def test_a_timestamp_more_than_five_minutes_off_is_refused(peer: WeChatPeer, app: Flask,
                                                           clock: Clock) -> None:
    now = int(clock().timestamp())
    for off in (-WINDOW - 1, WINDOW + 1, -10**9):
        stale = peer.post(text_xml("3栋电梯坏了", openid=VICTIM), timestamp=str(now + off))
        assert stale.status == 403, off
    assert count(app, InboundMessage.id) == 0
    assert peer.post(text_xml("3栋电梯坏了", openid=VICTIM), timestamp=str(now - WINDOW + 5)).status == 200


def test_a_copied_signature_is_refused_later_by_its_time(peer: WeChatPeer, app: Flask,
                                                         clock: Clock) -> None:
    triple = captured(peer, clock)
    clock.advance(seconds=WINDOW + 1)
    message = text_xml("3栋电梯坏了，有人被困", openid=VICTIM, msg_id=6_500_000_000_000_000_002)
    assert peer.post(message, **triple).status == 403  # even the very same message
    assert count(app, InboundMessage.id) == 1


def test_a_retry_under_a_new_nonce_spends_that_nonce_too(peer: WeChatPeer, app: Flask,
                                                          clock: Clock) -> None:
    timestamp = now_stamp(clock)
    message = text_xml("3栋电梯坏了，有人被困", openid=VICTIM, msg_id=6_500_000_000_000_000_003)
    first = peer.post(message, timestamp=timestamp, nonce="66601")
    again = peer.post(message, timestamp=timestamp, nonce="66602")  # resent under another nonce
    assert first.status == again.status == 200 and first.content == again.content
    # the retry's signature, copied from a log, signs nothing else
    forged = peer.post(text_xml("删除我的信息", openid=VICTIM), timestamp=timestamp, nonce="66602")
    assert forged.status == 403
    assert count(app, Ticket.id) == 1
    assert count(app, InboundMessage.id, InboundMessage.status == "done") == 1


def test_racing_requests_with_one_nonce_take_one_message(peer: WeChatPeer, app: Flask,
                                                         clock: Clock) -> None:
    timestamp, together = now_stamp(clock), threading.Barrier(6, timeout=30)

    def post(n: int) -> int:
        together.wait()
        return peer.post(text_xml(f"{n + 1}栋电梯坏了", openid=f"oRacer{n}"), timestamp=timestamp,
                         nonce="777000777").status

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(post, range(6)))
    assert statuses == [200] + [403] * 5
    assert count(app, InboundMessage.id) == 1


@pytest.fixture
def safe_app(database, fake_wechat: FakeWeChat, clock: Clock):  # type: ignore[no-untyped-def]
    app = make_app(database, fake_wechat, clock, settings={"wechat.mode": "safe"})
    served = Served(app)
    yield served.url, app
    served.close()
    app.extensions["linli"].close()


def test_safe_mode_refuses_plaintext_posts(safe_app, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    url, app = safe_app
    conf = app.extensions["linli"].config.wechat
    plain = WeChatPeer(url, conf.token, conf.app_id, clock=clock)
    assert plain.post(text_xml("删除我的信息", openid=VICTIM)).status == 403
    assert count(app, InboundMessage.id) == 0
    safe = WeChatPeer(url, conf.token, conf.app_id, conf.encoding_aes_key, clock=clock)
    assert "#1" in (safe.post(text_xml("3栋电梯坏了，有人被困", openid=VICTIM)).content or "")


def test_wecom_app_and_robot_refuse_a_nonce_reused_for_another_message(
        server: str, app: Flask, clock: Clock) -> None:
    timestamp = now_stamp(clock)
    wecom, robot = app_peer(server, app), bot_peer(server, app)
    assert wecom.post(app_text_xml("待办"), timestamp=timestamp, nonce="31337").status == 200
    assert wecom.post(app_text_xml("待办 "), timestamp=timestamp, nonce="31337").status == 403
    assert robot.post(bot_text("待办"), timestamp=timestamp, nonce="31338").status == 200
    assert robot.post(bot_text("待办"), timestamp=timestamp, nonce="31338").status == 403
    stale = str(int(clock().timestamp()) - WINDOW - 1)
    assert wecom.post(app_text_xml("待办"), timestamp=stale).status == 403
    assert robot.post(bot_text("待办"), timestamp=stale).status == 403
    assert count(app, InboundMessage.id) == 2


def test_no_log_carries_a_query_string(app: Flask, database, fake_wechat: FakeWeChat,
                                       tmp_path: Path, processes: Processes) -> None:
    """`flask serve` (werkzeug's access log included) logs paths, never the openid or signature."""
    env, base, peer = server_setup(app, database, fake_wechat, tmp_path)
    output = tmp_path / "serve.log"
    processes.flask(env, "serve", output=output)
    wait_until(lambda: serving(base))
    assert "#" in (peer.say("3栋电梯坏了，有人被困", openid=VICTIM) or "")
    requests.get(f"{base}/wechat", params={"signature": "0" * 40, "timestamp": "1", "nonce": "2",
                                           "echostr": "x", "openid": VICTIM}, timeout=10)
    requests.get(f"{base}/board?building=3&openid={VICTIM}", timeout=10)
    wait_until(lambda: output.read_text(encoding="utf-8").count("/board") >= 1)
    logged = output.read_text(encoding="utf-8")
    assert "POST /wechat HTTP" in logged and "GET /wechat HTTP" in logged  # paths are logged
    for secret in ("signature=", "nonce=", "openid", VICTIM, "/board?", "/wechat?"):
        assert secret not in logged, secret


def test_a_gunicorn_access_record_loses_its_query_string(app: Flask, caplog) -> None:  # type: ignore[no-untyped-def]
    """gunicorn logs its access line through Python's logging, with its atoms as a dict."""
    caplog.set_level("INFO", logger="gunicorn.access")
    atoms = {"h": "127.0.0.1", "r": f"POST /wechat?signature=0a1b&openid={VICTIM} HTTP/1.1", "s": "200"}
    logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s', atoms)
    assert '127.0.0.1 "POST /wechat HTTP/1.1" 200' in caplog.text
    assert VICTIM not in caplog.text and "signature" not in caplog.text
