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
