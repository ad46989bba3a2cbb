"""bot/inbound.py: the rules every channel's messages go through, checked once for all of them."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from bot.inbound import MAX_TEXT, Inbound, receive
from bot.replies.general import TOO_LONG
from models import InboundMessage
from tests.conftest import cli
from tests.wecom_factories import app_peer, bot_peer


def stored(app: Flask) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage))


def never(*_args: object) -> str:
    raise AssertionError("a message over the limit reached the dialogue")


@pytest.mark.parametrize("channel", ["wechat", "wecom", "wecom_bot", "sim"])
def test_a_text_over_the_limit_is_answered_and_not_kept(app: Flask, channel: str) -> None:
    services = app.extensions["linli"]
    long = Inbound(channel, "oLong", "text", f"{channel}:msg:1", text="电" * (MAX_TEXT + 1))
    assert receive(services, long, never) == TOO_LONG.format(limit=MAX_TEXT)
    assert stored(app) == 0
    just = Inbound(channel, "oLong", "text", f"{channel}:msg:2", text="电" * MAX_TEXT)
    assert receive(services, just, lambda *_: "收到") == "收到"
    assert stored(app) == 1


def test_staff_channels_get_the_same_answer(app: Flask, server: str) -> None:
    cli(app, "staff", "add", "--id", "li", "--channel", "wecom", "--name", "李网格", "--role", "grid")
    long = "回复 #1 " + "好" * MAX_TEXT
    assert app_peer(server, app).say(long, userid="li") == TOO_LONG.format(limit=MAX_TEXT)
    assert bot_peer(server, app).say(long, userid="li") == TOO_LONG.format(limit=MAX_TEXT)
    assert stored(app) == 0


def test_a_failing_handler_leaves_nothing_but_its_apology(app: Flask, server: str) -> None:
    """An unexpected error rolls back all the handler wrote; the apology is the stored reply,
    so WeChat's retry gets the same apology and nothing is handled twice."""
    from bot import outbox
    from bot.commands import STAFF_COMMANDS, staff_command
    from bot.replies.general import SORRY
    from models import OutboxMessage
    from tests.factories import stamp, xml_fields
    from tests.wecom_factories import app_text_xml

    @staff_command("试坏", usage="试坏", staff_only=True)
    def break_down(turn, rest: str) -> str:  # type: ignore[no-untyped-def]
        outbox.enqueue(turn.session, key="half-done", channel="wecom_app", recipient="li",
                       body="不该发出", now=turn.now)
        turn.session.flush()
        raise RuntimeError("a bug")

    try:
        cli(app, "staff", "add", "--id", "li", "--channel", "wecom", "--name", "李网格",
            "--role", "grid")
        peer = app_peer(server, app)
        xml = app_text_xml("试坏", userid="li", msg_id=77_000_001, corp_id=peer.corp_id)
        signed, nonce = stamp(peer.clock), "n-broken"
        sealed = xml_fields(peer.crypto.encrypt_message(xml, nonce, signed))["Encrypt"]
        first = peer.post(xml, timestamp=signed, nonce=nonce, encrypted=sealed)
        again = peer.post(xml, timestamp=signed, nonce=nonce, encrypted=sealed)
    finally:
        STAFF_COMMANDS.remove("试坏")
    assert (first.content, again.content) == (SORRY, SORRY)
    with app.extensions["linli"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.dedupe_key == "half-done")) == 0
        row = session.scalar(select(InboundMessage).where(InboundMessage.content == "试坏"))
        assert (row.status, row.reply) == ("done", SORRY)
