"""Binding a home: phone digits verify at once, staff confirm the rest, guessing locks a home."""
from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import select

from models import Resident, Vote, find_home
from tests.conftest import Clock, cli
from tests.factories import WeChatPeer
from tests.test_staff import GRID_OPENID, register


def phone_of(app: Flask, building: str, unit: str, room: str) -> str:
    with app.extensions["linli"].sessions() as session:
        return find_home(session, building, unit, room).owner.phone


def resident(app: Flask, openid: str) -> Resident:
    with app.extensions["linli"].sessions() as session:
        return session.scalars(select(Resident).where(Resident.openid == openid)).one()


def wrong(digits: str, n: int) -> str:
    return f"{(int(digits) + n) % 10000:04d}"


def test_five_wrong_guesses_lock_the_home_for_a_day(peer: WeChatPeer, app: Flask,
                                                     clock: Clock) -> None:
    digits = phone_of(app, "5", "2", "1203")[-4:]
    for n in range(1, 5):
        reply = peer.say(f"绑定 5栋2单元1203 {wrong(digits, n)}", openid=f"oGuess{n}") or ""
        assert "不符" in reply and f"再错{5 - n}次" in reply
    assert "锁定" in (peer.say(f"绑定 5栋2单元1203 {wrong(digits, 5)}", openid="oGuess5") or "")
    reply = peer.say(f"绑定 5栋2单元1203 {digits}", openid="oOwner") or ""  # right, but locked
    assert "锁定" in reply and not resident(app, "oOwner").verified
    digits_other = phone_of(app, "5", "2", "1204")[-4:]  # other homes are not affected
    assert "绑定成功" in (peer.say(f"绑定 5栋2单元1204 {digits_other}", openid="oNeighbour") or "")
    clock.advance(hours=24, seconds=1)
    assert "绑定成功" in (peer.say(f"绑定 5栋2单元1203 {digits}", openid="oOwner") or "")


def test_a_right_answer_resets_the_count(peer: WeChatPeer, app: Flask) -> None:
    digits = phone_of(app, "7", "1", "302")[-4:]
    for n in range(1, 5):
        peer.say(f"绑定 7栋1单元302 {wrong(digits, n)}", openid="oSlip")
    assert "绑定成功" in (peer.say(f"绑定 7栋1单元302 {digits}", openid="oSlip") or "")
    assert "再错4次" in (peer.say(f"绑定 7栋1单元302 {wrong(digits, 1)}", openid="oOther") or "")


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
