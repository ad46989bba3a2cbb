"""Abuse: one resident flooding the bot is slowed, politely and once, without slowing anyone else.

The example config allows a burst of 10 messages, then 20 a minute. The counter lives in
the database, so two apps (two web workers, each with its own memory) share it.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

import settings
from bot.replies.general import RATE_LIMITED
from models import InboundMessage, OutboxMessage, Ticket
from models.ratelimit import RateLimit, bucket_key
from tests.conftest import EXAMPLE, Clock, make_app
from tests.factories import WeChatPeer, event_xml, text_xml
from tests.fakes import FakeWeChat, Served
from tests.wecom_factories import app_peer

FLOODER, NEIGHBOUR = "oFlooder000000000000000000001", "oNeighbour0000000000000000001"
BURST = 10  # config.example.toml: [ratelimit] burst
PER_MINUTE = 20


def counts(app: Flask) -> tuple[int, int, int]:
    """Messages taken in (a refused one keeps only that it was refused, and its request's
    nonce, spent), tickets and pushes."""
    with app.extensions["linli"].sessions() as session:
        assert session.scalar(select(func.count()).where(InboundMessage.status == "refused",
                                                         InboundMessage.content.is_not(None))) == 0
        return tuple(session.scalar(select(func.count()).select_from(model).where(*where))  # type: ignore[return-value]
                     for model, where in ((InboundMessage, [InboundMessage.status != "refused"]),
                                          (Ticket, []), (OutboxMessage, [])))


def bucket(app: Flask, openid: str) -> RateLimit:
    with app.extensions["linli"].sessions() as session:
        return session.get(RateLimit, bucket_key("wechat", openid))


def test_a_flood_gets_one_polite_answer_then_silence_and_others_are_served(
        peer: WeChatPeer, app: Flask) -> None:
    answers = [peer.say("你好", openid=FLOODER) for _ in range(BURST)]
    assert all(answer and answer != RATE_LIMITED for answer in answers)
    before = counts(app)
    told = peer.post(text_xml("3栋电梯坏了", openid=FLOODER))
    assert told.content == RATE_LIMITED
    for _ in range(5):
        quiet = peer.post(text_xml("3栋电梯坏了", openid=FLOODER))
        assert (quiet.status, quiet.body) == (200, "success")
    assert counts(app) == before  # nothing stored for refused messages, no ticket, no push
    with app.extensions["linli"].sessions() as session:
        keys = session.scalars(select(RateLimit.sender)).all()
    assert len(keys) == 1 and FLOODER not in keys[0]  # the counter holds no openid
    neighbour = peer.say("5栋电梯坏了", openid=NEIGHBOUR)
    assert neighbour and "#1" in neighbour


def test_the_bucket_refills_and_the_warning_comes_at_most_once_a_minute(
        peer: WeChatPeer, app: Flask, clock: Clock) -> None:
    for _ in range(BURST):
        peer.say("你好", openid=FLOODER)
    assert peer.say("你好", openid=FLOODER) == RATE_LIMITED
    clock.advance(seconds=1)  # not yet a token back (one every 3 s)
    stamp = bucket(app, FLOODER).stamp
    assert peer.post(text_xml("你好", openid=FLOODER)).body == "success"
    assert bucket(app, FLOODER).stamp == stamp  # refused in memory: no database write
    clock.advance(seconds=60 / PER_MINUTE)
    assert peer.say("你好", openid=FLOODER) not in (None, RATE_LIMITED)
    assert peer.post(text_xml("你好", openid=FLOODER)).body == "success"  # told 4 s ago: silent
    clock.advance(seconds=61)  # a minute later: 20 tokens back, capped at the burst
    answers = [peer.say("你好", openid=FLOODER) for _ in range(BURST + 1)]
    assert RATE_LIMITED not in answers[:BURST]
    assert answers[BURST] == RATE_LIMITED  # told again, once, in the new minute


def test_the_limit_holds_across_two_workers_flooded_at_once(
        database, fake_wechat: FakeWeChat, clock: Clock) -> None:
    """Two apps on one database, like two gunicorn workers, each taking half of one sender's
    flood at the same moments, share the sender's bucket: the burst, no more, and one warning."""
    first = make_app(database, fake_wechat, clock)
    second = make_app(database, fake_wechat, clock)
    served = [Served(first), Served(second)]
    rounds = BURST // 2 + 3  # two messages a round, one to each worker
    together = threading.Barrier(2, timeout=60)
    try:
        conf = first.extensions["linli"].config.wechat
        peers = [WeChatPeer(s.url, conf.token, conf.app_id, clock=clock) for s in served]

        def flood(peer: WeChatPeer) -> list[str | None]:
            answers = []
            for _ in range(rounds):
                together.wait()  # both workers get a message of the flood at the same moment
                answers.append(peer.say("你好", openid=FLOODER))
            return answers

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = [a for got in pool.map(flood, peers) for a in got]
        assert len(answers) == 2 * rounds
        taken = [a for a in answers if a not in (RATE_LIMITED, None)]
        assert len(taken) == BURST  # the burst, shared: not a burst per worker
        assert answers.count(RATE_LIMITED) == 1  # told once; the rest get "success"
        assert answers.count(None) == 2 * rounds - BURST - 1
    finally:
        for server in served:
            server.close()
        first.extensions["linli"].close()
        second.extensions["linli"].close()


def test_wechat_retries_of_one_message_take_one_token(peer: WeChatPeer) -> None:
    xml = text_xml("3栋电梯坏了", openid=FLOODER, msg_id=7_200_000_000_000_000_001)
    first = [peer.post(xml).content for _ in range(4)]  # the message and three retries
    assert first == [first[0]] * 4 and "#1" in (first[0] or "")
    answers = [peer.say("你好", openid=FLOODER) for _ in range(BURST - 1)]
    assert RATE_LIMITED not in answers
    assert peer.say("你好", openid=FLOODER) == RATE_LIMITED


def test_events_are_never_limited(peer: WeChatPeer, app: Flask) -> None:
    for _ in range(BURST + 1):
        peer.say("你好", openid=FLOODER)
    inbound = counts(app)[0]
    assert peer.post(event_xml("unsubscribe", openid=FLOODER, create_time=1764300000)).status == 200
    assert counts(app)[0] == inbound + 1  # an unfollow is always recorded


def test_staff_on_wecom_are_never_slowed(server: str, app: Flask) -> None:
    peer = app_peer(server, app)
    answers = [peer.say("待办") for _ in range(BURST + 5)]
    assert all(answer and answer != RATE_LIMITED for answer in answers)


@pytest.mark.parametrize(("section", "named"), [
    ("[ratelimit]\nper_minute = 0\nburst = 10\n", "[ratelimit] per_minute"),
    ("[ratelimit]\nper_minute = 20\nburst = \"10\"\n", "[ratelimit] burst"),
    ("[ratelimit]\nper_minute = 20\n", "[ratelimit] burst"),
    ("[spool]\nmax_messages = -1\n", "[spool] max_messages"),
])
def test_bad_limits_stop_startup_naming_the_key(tmp_path: Path, section: str, named: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for header in ("[ratelimit]", "[spool]"):  # drop the example's own sections
        start = text.index(header)
        end = text.find("\n[", start + 1)
        text = text[:start] + (text[end + 1:] if end != -1 else "")
    path = tmp_path / "config.toml"
    path.write_text(text + "\n" + section, encoding="utf-8")
    with pytest.raises(settings.ConfigError) as raised:
        settings.load(path)
    assert named in str(raised.value)
