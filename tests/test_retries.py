"""WeChat's retries: one MsgId, one ticket, one reply; a slow handler runs once and pushes."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from models import InboundMessage, OutboxMessage, Ticket
from models.messages import NONCE_ONLY
from tests.conftest import Clock, make_app
from tests.factories import WeChatPeer, event_xml, text_xml
from tests.fakes import FakeWeChat, Served


def count(app: Flask, model: type) -> int:
    """Rows of the model; of inbound_messages, the messages (not a retry's spent nonce)."""
    spent = [InboundMessage.status != NONCE_ONLY] if model is InboundMessage else []
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*spent))


@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_three_identical_posts_make_one_ticket_and_the_same_reply(
        mode: str, peer: WeChatPeer, safe_peer: WeChatPeer, app: Flask) -> None:
    sender = safe_peer if mode == "aes" else peer
    xml = text_xml("3栋电梯坏了，有人被困", msg_id=7_000_000_001, create_time=1764300000)
    replies = [sender.post(xml).content for _ in range(3)]
    assert replies[0] is not None and "#1" in replies[0]
    assert replies == [replies[0]] * 3
    assert count(app, Ticket) == 1
    assert count(app, InboundMessage) == 1


def test_concurrent_identical_posts_make_one_ticket(peer: WeChatPeer, app: Flask) -> None:
    xml = text_xml("5栋电梯坏了", msg_id=7_000_000_002)
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: peer.post(xml), range(3)))
    assert all(r.status == 200 for r in replies)
    assert count(app, Ticket) == 1
    numbered = [r.content for r in replies if r.content]
    assert numbered and all("#1" in c for c in numbered)


def test_different_messages_make_different_tickets(peer: WeChatPeer, app: Flask) -> None:
    peer.post(text_xml("3栋电梯坏了", msg_id=7_000_000_003))
    peer.post(text_xml("3栋电梯坏了", msg_id=7_000_000_004))
    assert count(app, Ticket) == 2


def test_events_are_keyed_on_sender_time_and_type(peer: WeChatPeer, app: Flask) -> None:
    first = peer.post(event_xml("subscribe", create_time=1764300000))
    again = peer.post(event_xml("subscribe", create_time=1764300000))
    later = peer.post(event_xml("subscribe", create_time=1764300060))
    other = peer.post(event_xml("subscribe", openid="oSomeoneElse", create_time=1764300000))
    assert first.content == again.content and first.content
    assert later.content and other.content
    assert count(app, InboundMessage) == 3


def test_slow_handling_answers_success_and_pushes_the_reply_once(
        database, fake_wechat: FakeWeChat, clock: Clock) -> None:
    """With no time to answer, the request says `success`; the reply goes out as a push."""
    app = make_app(database, fake_wechat, clock, reply_deadline=0.0)
    served = Served(app)
    try:
        conf = app.extensions["linli"].config.wechat
        peer = WeChatPeer(served.url, conf.token, conf.app_id, clock=clock)
        xml = text_xml("3栋电梯坏了，有人被困", msg_id=7_000_000_005)
        bodies = [peer.post(xml).body for _ in range(3)]
        assert bodies == ["success"] * 3
        deadline = time.monotonic() + 10
        while not fake_wechat.sent() and time.monotonic() < deadline:
            time.sleep(0.05)
        app.extensions["linli"].close()
        pushes = fake_wechat.sent()
        assert len(pushes) == 1
        assert pushes[0]["touser"] == "oResident0000000000000000001"
        assert "#1" in pushes[0]["text"]["content"]
        assert count(app, Ticket) == 1
        with app.extensions["linli"].sessions() as session:
            sent = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "wechat")).one()
        assert sent.status == "sent"
    finally:
        served.close()
        app.extensions["linli"].engine.dispose()


def test_failed_push_stays_queued(database, fake_wechat: FakeWeChat, clock: Clock) -> None:
    """WeChat refusing the push loses nothing: the reply stays in the outbox to retry."""
    fake_wechat.errcode = 45009  # API quota reached
    app = make_app(database, fake_wechat, clock, reply_deadline=0.0)
    served = Served(app)
    try:
        conf = app.extensions["linli"].config.wechat
        peer = WeChatPeer(served.url, conf.token, conf.app_id, clock=clock)
        assert peer.post(text_xml("3栋电梯坏了", msg_id=7_000_000_006)).body == "success"
        app.extensions["linli"].executor.shutdown(wait=True)
        app.extensions["linli"].sender.shutdown(wait=True)
        with app.extensions["linli"].sessions() as session:
            queued = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "wechat")).one()
        assert (queued.status, queued.attempts) == ("pending", 1)
        assert "#1" in queued.body
        from bot import outbox
        fake_wechat.errcode = 0
        clock.advance(minutes=5)
        assert outbox.deliver_due(app.extensions["linli"]) == 1
        assert outbox.deliver_due(app.extensions["linli"]) == 0
        assert len(fake_wechat.sent()) == 2  # the refused attempt and the delivery
    finally:
        served.close()
        app.extensions["linli"].engine.dispose()
