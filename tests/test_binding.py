"""Binding a home: phone digits verify at once, staff confirm the rest, guesses are capped per sender and per estate."""
from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import func, select

from models import Home, OutboxMessage, Resident, Vote, find_home
from models.binding import BINDINGS_PER_DAY, ESTATE_FAILURES
from tests.conftest import Clock, cli
from tests.factories import WeChatPeer
from tests.fakes import FakeWeChat
from tests.test_staff import GRID_OPENID, app_messages, register, wait_for


def phone_of(app: Flask, building: str, unit: str, room: str) -> str:
    with app.extensions["linli"].sessions() as session:
        return find_home(session, building, unit, room).owner.phone_tail  # all that is stored


def resident(app: Flask, openid: str) -> Resident:
    with app.extensions["linli"].sessions() as session:
        return session.scalars(select(Resident).where(Resident.openid == openid)).one()


def wrong(digits: str, n: int) -> str:
    return f"{(int(digits) + n) % 10000:04d}"


def labels(app: Flask, count: int) -> list[tuple[str, str]]:
    """(home as written, its owner's last four digits) for the first homes with an owner."""
    with app.extensions["linli"].sessions() as session:
        homes = session.scalars(select(Home).where(Home.owner_id.is_not(None), Home.unsold.is_(False))
                                .order_by(Home.id).limit(count)).all()
        return [(h.label, h.owner.phone_tail) for h in homes]


def test_wrong_guesses_never_lock_the_owner_out_nor_count_down(peer: WeChatPeer, app: Flask) -> None:
    """Issue 18, item 4: five strangers' wrong guesses locked the real owner out for a day."""
    digits = phone_of(app, "5", "2", "1203")[-4:]
    for n in range(1, 6):
        reply = peer.say(f"绑定 5栋2单元1203 {wrong(digits, n)}", openid=f"oGuess{n}") or ""
        assert "不符" in reply and "再错" not in reply and "次" not in reply  # no countdown
        assert not resident(app, f"oGuess{n}").verified
    assert "绑定成功" in (peer.say(f"绑定 5栋2单元1203 {digits}", openid="oOwner") or "")


def test_a_sender_gets_three_wrong_guesses_a_day_then_no_answer_either_way(
        peer: WeChatPeer, app: Flask, clock: Clock) -> None:
    (*guessed, (label, digits)) = labels(app, 4)
    for home, right in guessed:
        assert "不符" in (peer.say(f"绑定 {home} {wrong(right, 1)}", openid="oGuesser") or "")
    reply = peer.say(f"绑定 {label} {digits}", openid="oGuesser") or ""  # right, but not checked
    assert "人工核实" in reply and "不符" not in reply and not resident(app, "oGuesser").verified
    clock.advance(hours=24, seconds=1)
    assert "绑定成功" in (peer.say(f"绑定 {label} {digits}", openid="oGuesser") or "")


def test_after_a_wrong_guess_that_home_waits_for_staff(peer: WeChatPeer, app: Flask) -> None:
    register(app)  # 王网格 covers buildings 1-5 and may confirm
    digits = phone_of(app, "5", "2", "1203")[-4:]
    assert "不符" in (peer.say(f"绑定 5栋2单元1203 {wrong(digits, 1)}", openid="oSlip") or "")
    reply = peer.say(f"绑定 5栋2单元1203 {digits}", openid="oSlip") or ""
    assert "人工核实" in reply and not resident(app, "oSlip").verified  # handed to staff
    assert "已确认" in (peer.say("确认绑定 5栋2单元1203", openid=GRID_OPENID) or "")
    assert resident(app, "oSlip").verified


def test_a_spike_of_wrong_guesses_alerts_staff_and_stops_the_checks(
        peer: WeChatPeer, app: Flask, clock: Clock, fake_wechat: FakeWeChat) -> None:
    cli(app, "staff", "add", "--id", "zhao", "--channel", "wecom", "--name", "赵经理",
        "--role", "property")
    homes = labels(app, ESTATE_FAILURES + 1)
    for n, (home, right) in enumerate(homes[:ESTATE_FAILURES]):  # one guess each, many senders
        assert "不符" in (peer.say(f"绑定 {home} {wrong(right, 1)}", openid=f"oSpike{n}") or "")
    # the alert goes to the property desk's app and to its group, one after the other
    wait_for(lambda: any("绑定核对异常" in text for _, text in app_messages(fake_wechat))
             and any("绑定核对异常" in b["markdown"]["content"] for b in fake_wechat.sent("webhook/send")))
    label, digits = homes[-1]
    reply = peer.say(f"绑定 {label} {digits}", openid="oRealOwner") or ""
    assert "人工核实" in reply and not resident(app, "oRealOwner").verified  # no more checks today
    assert [u for u, text in app_messages(fake_wechat) if "绑定核对异常" in text] == ["zhao"]  # once
    assert sum("绑定核对异常" in b["markdown"]["content"] for b in fake_wechat.sent("webhook/send")) == 1
    clock.advance(hours=24, seconds=1)
    assert "绑定成功" in (peer.say(f"绑定 {label} {digits}", openid="oRealOwner") or "")


def test_one_sender_asks_staff_a_few_times_a_day(peer: WeChatPeer, app: Flask,
                                                 clock: Clock) -> None:
    register(app)
    homes = labels(app, BINDINGS_PER_DAY + 1)
    for home, _ in homes[:BINDINGS_PER_DAY]:
        assert "等待" in (peer.say(f"绑定 {home}", openid="oSpammer") or "")
    assert "较多" in (peer.say(f"绑定 {homes[-1][0]}", openid="oSpammer") or "")
    with app.extensions["linli"].sessions() as session:
        cards = session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.dedupe_key.like(f"bind:{resident(app, 'oSpammer').id}:%")))
    assert cards == BINDINGS_PER_DAY
    clock.advance(hours=24, seconds=1)
    assert "等待" in (peer.say(f"绑定 {homes[-1][0]}", openid="oSpammer") or "")


def test_staff_confirm_a_tenant_and_reject_a_claim(peer: WeChatPeer, app: Flask) -> None:
    register(app)  # 王网格 (WeChat) covers buildings 1-5
    staff = dict(openid=GRID_OPENID)
    assert "租户" in (peer.say("绑定 5栋2单元1203 租户", openid="oTenant") or "")
    assert "等待" in (peer.say("绑定 5栋2单元1203", openid="oClaim") or "")
    reply = peer.say("确认绑定 5栋2单元1203", **staff) or ""
    assert "多个" in reply  # two wait for this home: the staff member must say which
    number = resident(app, "oTenant").id
    assert "已确认" in (peer.say(f"确认绑定 5-2-1203 #{number}", **staff) or "")
    assert (resident(app, "oTenant").role, resident(app, "oTenant").verified) == ("tenant", True)
    assert "已拒绝" in (peer.say("拒绝绑定 5栋2单元1203 不是本户", **staff) or "")
    assert resident(app, "oClaim").home_id is None
    assert "没有待核实" in (peer.say("确认绑定 5栋2单元1203", **staff) or "")


def test_only_staff_may_confirm(peer: WeChatPeer, app: Flask) -> None:
    peer.say("绑定 5栋2单元1203", openid="oClaim")
    assert "工作人员" in (peer.say("确认绑定 5栋2单元1203", openid="oStranger") or "")
    assert not resident(app, "oClaim").verified


def test_staff_open_a_consultation_from_chat(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    cli(app, "staff", "add", "--id", "oCommittee", "--channel", "wechat", "--name", "周主任",
        "--role", "estate")
    assert "未做任何改动" in (peer.say("发起征集 花园改造 截止 2026-12-10 18:00",
                                       openid=GRID_OPENID) or "")  # a grid worker may not
    staff = dict(openid="oCommittee")
    assert "发起征集 标题" in (peer.say("发起征集 花园改造", **staff) or "")
    assert "已经过了" in (peer.say("发起征集 花园改造 截止 2026-01-01 18:00", **staff) or "")
    reply = peer.say("发起征集 中心花园改造方案 截止 2026-12-10 18:00 方案一,方案二", **staff) or ""
    assert "已发起意见征集 #1" in reply
    with app.extensions["linli"].sessions() as session:
        vote = session.get(Vote, 1)
        assert (vote.kind, vote.labels) == ("consultation", ["方案一", "方案二"])
    peer.say("绑定 5栋2单元1203 租户", openid="oTenant")  # any verified resident may answer
    assert "核实" in (peer.say("投票 选2", openid="oTenant") or "")  # not before staff confirm
    assert "已确认" in (peer.say("确认绑定 5栋2单元1203", openid=GRID_OPENID) or "")
    assert "方案二" in (peer.say("投票 选2", openid="oTenant") or "")
    data = json.loads(cli(app, "vote", "show", "1", "--json"))
    assert [o["heads"] for o in data["options"]] == [0, 1, 0]
