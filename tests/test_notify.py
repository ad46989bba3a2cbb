"""What staff read: a resident's words reach cards and group chats as words, never as markup
(issue 18, item 6: a bold fake header, a link, <@all> or <font> in a report or a place)."""
from __future__ import annotations

import pytest

import re

from flask import Flask

from tests.conftest import cli
from tests.factories import WeChatPeer, location_xml
from tests.fakes import FakeWeChat
from tests.test_staff import wait_for


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about what staff read, the same on either database."""
    return sqlite_database

INJECTED = ("\n# 紧急通知\n**全体业主速来** [点此登记](http://evil.example/x) <@all> "
            '<font color="warning">物业已跑路</font> `code` &lt;@all&gt;')
# what the engine still reads as an urgent report (a link alone would make it unsure)
REPORT = ('3栋2单元电梯坏了，有人被困\n# 紧急通知\n<font color="warning">**全体业主速来**</font> '
          '<@all> `code` &lt;@all&gt;')


def register(app: Flask) -> None:
    cli(app, "staff", "add", "--id", "li", "--channel", "wecom", "--name", "李网格", "--role", "grid",
        "--buildings", "3")
    cli(app, "staff", "add", "--id", "zhao", "--channel", "wecom", "--name", "赵师傅",
        "--role", "property", "--categories", "elevator")


def staff_markdown(fake: FakeWeChat) -> list[str]:
    """Every markdown message staff received: app messages and group robots."""
    return [b["markdown"]["content"] for path in ("message/send", "webhook/send")
            for b in fake.sent(path)]


def assert_inert(message: str) -> None:
    """No markup a resident could have written survives in a message to staff."""
    for markup in ("<@", "<font", "](", "http://", "`", "&lt;", "速来**", "**全体"):
        assert markup not in message, (markup, message)
    assert not [line for line in message.splitlines() if line.lstrip().startswith("#")], message


def test_a_report_carries_no_markup_into_cards_or_group_chats(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat) -> None:
    register(app)
    reply = peer.say(REPORT) or ""
    assert "#1" in reply
    wait_for(lambda: len(staff_markdown(fake_wechat)) >= 3)  # 李网格, 赵师傅, the property group
    for message in staff_markdown(fake_wechat):
        assert_inert(message)
        assert "> ＃ 紧急通知" in message and "＜＠all＞" in message  # shown, as a quote, as text


def test_a_place_from_a_location_stays_on_one_line(peer: WeChatPeer, app: Flask,
                                                  fake_wechat: FakeWeChat) -> None:
    register(app)
    assert "哪里" in (peer.say("电梯坏了") or "")
    reply = peer.post(location_xml("3栋门口\n# 假通知\n<@all> [领奖](http://evil.example)")).content
    assert reply is not None and "#1" in reply
    wait_for(lambda: len(staff_markdown(fake_wechat)) >= 1)
    for message in staff_markdown(fake_wechat):
        assert_inert(message)
        [place] = [line for line in message.splitlines() if "地点" in line]
        assert "假通知" in place and "领奖" in place  # the whole place, on its one line


def test_an_addition_is_quoted_and_inert(peer: WeChatPeer, app: Flask,
                                         fake_wechat: FakeWeChat) -> None:
    register(app)
    assert "#1" in (peer.say("3栋2单元电梯坏了") or "")
    wait_for(lambda: len(staff_markdown(fake_wechat)) >= 2)
    before = len(staff_markdown(fake_wechat))
    assert "转给" in (peer.say("补充 #1 门口" + INJECTED) or "")
    wait_for(lambda: len(staff_markdown(fake_wechat)) > before)
    added = staff_markdown(fake_wechat)[before:]
    for message in added:
        assert_inert(message)
        words = message.split("补充", 1)[1].splitlines()[1:]
        assert words and all(re.match(r"^> ", line) for line in words)  # every line of it quoted
