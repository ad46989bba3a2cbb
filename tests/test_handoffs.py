"""Hand-offs between levels and people, and what residents say after a fix: the cases a
review found (each failed before its fix)."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.inbound import Inbound, receive
from models import InboundMessage, Ticket
from tests.conftest import Clock, cli
from tests.factories import WeChatPeer, image_xml
from tests.fakes import FakeWeChat
from tests.test_followthrough import fixed_and_looked_back, register_levels, settle, sweep, ticket
from tests.test_staff import GRID_OPENID, app_messages, register

PROPERTY = "oPropertyZhaoOnWechat"


def test_a_handler_that_raises_leaves_the_message_to_the_retry(app: Flask) -> None:
    """A handler fails mid-handling (it raises the error a dropped connection gives; the
    database itself stays up): WeChat's retry handles the message, nothing is lost."""
    services = app.extensions["linli"]
    inbound = Inbound("wechat", "oRetry", "text", "wechat:msg:4242", text="3栋电梯坏了")

    def failing_handler(*_args: object) -> str:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    try:
        receive(services, inbound, failing_handler)
    except OperationalError:
        pass  # whether it surfaces is the caller's business; what was stored is the test's
    with services.sessions() as session:
        assert session.scalar(select(InboundMessage.status)) == "failed"
    assert receive(services, inbound, lambda *_: "已登记") == "已登记"
    assert receive(services, inbound, lambda *_: "again") == "已登记"  # then the rule holds again


def test_the_next_level_takes_over_an_escalated_ticket(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    cli(app, "staff", "add", "--id", PROPERTY, "--channel", "wechat", "--name", "赵物业",
        "--role", "property")
    peer.say("5栋电梯坏了")
    peer.say("接单 #1", openid=GRID_OPENID)
    peer.say("升级 #1 需要物业", openid=GRID_OPENID)
    assert "#1" in (peer.say("待办", openid=PROPERTY) or "")
    assert "已接单 #1" in (peer.say("接单 #1", openid=PROPERTY) or "")
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, 1).assignee.name == "赵物业"
    assert "已由赵物业接单" in (peer.say("接单 #1", openid=GRID_OPENID) or "")


def test_a_removed_handlers_ticket_can_be_claimed(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    cli(app, "staff", "add", "--id", "oChen", "--channel", "wechat", "--name", "陈网格", "--role", "grid")
    peer.say("5栋电梯坏了")
    peer.say("接单 #1", openid=GRID_OPENID)
    cli(app, "staff", "remove", "--id", GRID_OPENID, "--channel", "wechat")
    assert "已接单 #1" in (peer.say("接单 #1", openid="oChen") or "")


def test_manual_escalation_gets_a_fresh_deadline(peer: WeChatPeer, app: Flask, clock: Clock) -> None:
    register_levels(app)
    peer.say("5栋电梯坏了")  # first response due in 24 h
    clock.advance(hours=23, minutes=50)
    peer.say("升级 #1 不归网格管", openid=GRID_OPENID)
    clock.advance(minutes=11)
    sweep(app)
    assert ticket(app).level == "property"  # not climbed again at the old deadline


def test_another_thing_broken_again_is_a_new_report(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    peer.say("5栋电梯坏了")
    peer.say("完成 #1 换了零件", openid=GRID_OPENID)
    assert "#2" in (peer.say("5栋路灯又坏了") or "")
    assert ticket(app).state == "resolved"


def test_a_photo_during_the_same_problem_offer_is_kept(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    peer.say("5栋电梯坏了", openid="oNeighbour")
    assert "正在处理" in (peer.say("5栋电梯坏了") or "")
    assert "照片收到" in (peer.post(image_xml("p-1")).content or "")
    assert "#2" in (peer.say("不是") or "")
    with app.extensions["linli"].sessions() as session:
        assert [p.media_id for p in session.get(Ticket, 2).photos] == ["p-1"]


def test_followers_can_look_up_what_they_follow(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    peer.say("5栋电梯坏了", openid="oNeighbour")
    peer.say("5栋电梯坏了")
    peer.say("不是")
    peer.say("合并 #1 #2", openid=GRID_OPENID)
    reply = peer.say("查一下#1") or ""
    assert "没有找到" not in reply and "#1" in reply


def test_a_late_answer_to_where_is_told_the_report_expired(peer: WeChatPeer, app: Flask,
                                                           clock: Clock) -> None:
    peer.say("电梯坏了")
    clock.advance(minutes=11)
    assert "作废" in (peer.say("3栋2单元") or "")
    with app.extensions["linli"].sessions() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_ordinary_answers_to_the_look_back(peer: WeChatPeer, app: Flask, clock: Clock) -> None:
    register(app)
    fixed_and_looked_back(peer, app, clock, "5分")
    for said in ("挺好的", "没问题", "现在好了"):
        assert "谢谢" in (peer.say(said) or ""), said
    assert ticket(app).state == "closed"


def test_escalation_history_reads_as_chinese(peer: WeChatPeer, app: Flask, clock: Clock,
                                             fake_wechat: FakeWeChat) -> None:
    register_levels(app)
    peer.say("5栋电梯坏了")
    peer.say("补充 #1 二号梯")
    clock.advance(hours=25)
    sweep(app)
    settle(app)
    [card] = [c for u, c in app_messages(fake_wechat) if "已升级到" in c and u == "zhao"]
    assert "居民：登记" in card and "系统：升级到物业（超时未受理）" in card
    assert "resident:" not in card and "escalated:" not in card


def test_a_resident_answering_a_staff_reply_adds_to_the_ticket(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    peer.say("5栋电梯坏了")
    peer.say("回复 #1 明天上午来修", openid=GRID_OPENID)
    reply = peer.say("回复 #1 好的 上午家里有人") or ""
    assert "转给" in reply and "不是登记的工作人员" not in reply


def test_staff_only_words_from_a_resident_change_nothing(peer: WeChatPeer, app: Flask) -> None:
    reply = peer.say("发起征集 小区换门禁 截止 2026-12-10 18:00")
    assert reply is not None and "不是登记的工作人员" in reply
    with app.extensions["linli"].sessions() as session:
        assert session.scalars(select(Ticket)).all() == []
