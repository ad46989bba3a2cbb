"""Staff take, answer and close tickets; residents hear back; routing reaches the right people."""
from __future__ import annotations

import time
from typing import Callable

from flask import Flask
from sqlalchemy import select

from models import Follower, OutboxMessage, Ticket
from tests.conftest import cli
from tests.factories import WeChatPeer, image_xml
from tests.fakes import FakeWeChat

GRID_OPENID = "oGridWorkerWang"


def register(app: Flask) -> None:
    """Grid worker Wang (on WeChat) covers buildings 1-5; Li covers 3栋2单元 only; property Zhao."""
    cli(app, "staff", "add", "--id", GRID_OPENID, "--channel", "wechat", "--name", "王网格",
        "--role", "grid", "--buildings", "1-5")
    cli(app, "staff", "add", "--id", "li", "--channel", "wecom", "--name", "李网格",
        "--role", "grid", "--homes", "3-2")
    cli(app, "staff", "add", "--id", "zhao", "--channel", "wecom", "--name", "赵师傅",
        "--role", "property", "--categories", "elevator,water")
    cli(app, "staff", "add", "--id", "qian", "--channel", "wecom", "--name", "钱保洁",
        "--role", "property", "--categories", "sanitation")
    cli(app, "staff", "add", "--id", "sun", "--channel", "wecom", "--name", "孙主任",
        "--role", "estate")


def wait_for(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def app_messages(fake: FakeWeChat) -> list[tuple[str, str]]:
    return [(b["touser"], b["markdown"]["content"]) for b in fake.sent("message/send")]


def resident_messages(fake: FakeWeChat, openid: str) -> list[str]:
    """What one WeChat user received, by customer-service or template message."""
    custom = [b["text"]["content"] for b in fake.sent() if b["touser"] == openid]
    template = [b["data"]["content"]["value"] for b in fake.sent("message/template/send")
                if b["touser"] == openid]
    return custom + template


def test_staff_cli_add_list_remove(app: Flask) -> None:
    register(app)
    listing = cli(app, "staff", "list")
    assert "王网格" in listing and "grid" in listing and "1-5" in listing and "3-2" in listing
    result = app.test_cli_runner().invoke(args=["staff", "add", "--id", "x", "--channel", "wecom",
                                                "--name", "x", "--role", "mayor"])
    assert result.exit_code != 0
    result = app.test_cli_runner().invoke(args=["staff", "add", "--id", "x", "--channel", "wecom",
                                                "--name", "x", "--role", "grid", "--buildings", "5-1"])
    assert result.exit_code != 0 and "low to high" in result.output
    cli(app, "staff", "remove", "--id", "qian")
    assert "钱保洁" not in cli(app, "staff", "list")


def test_new_ticket_reaches_grid_worker_and_property_team(peer: WeChatPeer, app: Flask,
                                                          fake_wechat: FakeWeChat) -> None:
    register(app)
    assert "#1" in (peer.say("3栋2单元电梯坏了，有人被困") or "")
    wait_for(lambda: len(app_messages(fake_wechat)) >= 2 and fake_wechat.sent("webhook/send"))
    recipients = {user for user, _ in app_messages(fake_wechat)}
    assert recipients == {"li", "zhao"}  # 3-2's own grid worker, the elevator team; not 钱保洁
    card = dict(app_messages(fake_wechat))["zhao"]
    for part in ("#1", "紧急", "电梯", "3栋2单元", "有人被困", "首次响应截止", "接单 #1"):
        assert part in card
    assert resident_messages(fake_wechat, GRID_OPENID) == []  # 李网格 covers 3-2 more exactly
    [group] = fake_wechat.sent("webhook/send")
    assert "#1" in group["markdown"]["content"]


def test_ordinary_ticket_is_not_posted_to_the_group(peer: WeChatPeer, app: Flask,
                                                    fake_wechat: FakeWeChat) -> None:
    register(app)
    peer.say("5栋楼道垃圾没人收")
    wait_for(lambda: len(resident_messages(fake_wechat, GRID_OPENID)) >= 1)  # building 5: 王网格
    wait_for(lambda: any(u == "qian" for u, _ in app_messages(fake_wechat)))  # the cleaning team
    assert fake_wechat.sent("webhook/send") == []
    assert {u for u, _ in app_messages(fake_wechat)} == {"qian"}


def test_whole_ticket_life_on_the_residents_account(peer: WeChatPeer, app: Flask,
                                                    fake_wechat: FakeWeChat) -> None:
    """Claim, reply, resolve, a bad rating reopens, resolve again, a good rating closes."""
    register(app)
    resident = "oResidentLife"
    staff = WeChatPeer(peer.base_url, peer.token, peer.app_id, clock=peer.clock)
    assert "#1" in (peer.say("5栋电梯坏了", openid=resident) or "")
    assert "已接单 #1" in (staff.say("接单 #1", openid=GRID_OPENID) or "")
    wait_for(lambda: any("王网格" in m for m in resident_messages(fake_wechat, resident)))
    assert "转给" in (staff.say("回复 #1 师傅下午两点到", openid=GRID_OPENID) or "")
    wait_for(lambda: any("下午两点" in m for m in resident_messages(fake_wechat, resident)))
    assert "办结" in (staff.say("完成 #1 换了门机板", openid=GRID_OPENID) or "")
    wait_for(lambda: any("打分" in m for m in resident_messages(fake_wechat, resident)))
    assert "重新打开" in (peer.say("没修好，还是坏的", openid=resident) or "")
    with app.extensions["linli"].sessions() as session:
        ticket = session.get(Ticket, 1)
        assert (ticket.state, ticket.reopen_count) == ("reopened", 1)
    wait_for(lambda: any("退回重办" in m for m in resident_messages(fake_wechat, GRID_OPENID)))
    staff.say("完成 #1 重新换了", openid=GRID_OPENID)
    assert "办结" in (peer.say("5分", openid=resident) or "")
    with app.extensions["linli"].sessions() as session:
        ticket = session.get(Ticket, 1)
        assert (ticket.state, ticket.rating) == ("closed", 5)
        actions = [e.action for e in ticket.events]
    assert actions == ["opened", "claimed", "replied", "resolved", "reopened", "claimed"][:2] + \
        actions[2:] and actions[-1] == "closed"


def test_strangers_cannot_use_staff_commands(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    peer.say("5栋电梯坏了")
    reply = peer.say("接单 #1", openid="oNotStaff")
    assert reply is not None and "不是登记的工作人员" in reply
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, 1).state == "open"


def test_unknown_ticket_and_wrong_state_get_clear_answers(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    peer.say("5栋电梯坏了")
    staff = dict(openid=GRID_OPENID)
    assert "没有找到工单 #99" in (peer.say("接单 #99", **staff) or "")
    peer.say("退回 #1 不是公共区域", **staff)
    reply = peer.say("完成 #1", **staff) or ""
    assert "已退回" in reply and "不能" in reply
    assert "退回原因" in (peer.say("退回 #1", **staff) or "")


def test_escalate_tells_the_next_level_once_with_history(peer: WeChatPeer, app: Flask,
                                                         fake_wechat: FakeWeChat) -> None:
    register(app)
    peer.say("5栋电梯坏了")
    peer.say("接单 #1", openid=GRID_OPENID)  # its handler may take it up level after level
    reply = peer.say("升级 #1 需要业委会定维修方案", openid=GRID_OPENID) or ""
    assert "物业" in reply
    peer.say("升级 #1 维修资金要表决", openid=GRID_OPENID)
    wait_for(lambda: any(u == "sun" for u, _ in app_messages(fake_wechat)))
    to_sun = [c for u, c in app_messages(fake_wechat) if u == "sun"]
    assert len(to_sun) == 1 and "升级到小区" in to_sun[0] and "处理经过" in to_sun[0]
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, 1).level == "estate"


def test_merge_moves_followers(peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat) -> None:
    register(app)
    peer.say("5栋电梯坏了", openid="oFirst")
    assert "正在处理" in (peer.say("5栋的电梯又停了", openid="oSecond") or "")
    assert "#2" in (peer.say("不是", openid="oSecond") or "")  # files its own; staff merge it
    reply = peer.say("合并 #1 #2", openid=GRID_OPENID) or ""
    assert "#2" in reply and "#1" in reply
    with app.extensions["linli"].sessions() as session:
        followers = session.scalars(select(Follower.resident_id).where(Follower.ticket_id == 1)).all()
        assert len(followers) == 2
        assert session.get(Ticket, 2).state == "merged"
    peer.say("完成 #1", openid=GRID_OPENID)
    wait_for(lambda: any("打分" in m for m in resident_messages(fake_wechat, "oSecond")))


def test_todo_lists_overdue_first(peer: WeChatPeer, app: Flask, clock) -> None:
    register(app)
    peer.say("5栋电梯坏了")
    clock.advance(hours=30)  # #1's first response was due after 24 h
    peer.say("4栋楼道垃圾没人收")
    reply = peer.say("待办", openid=GRID_OPENID) or ""
    lines = reply.splitlines()
    assert "2件" in lines[0] and lines[1].startswith("#1") and "超时" in lines[1]
    assert lines[2].startswith("#2") and "超时" not in lines[2]


def test_resident_additions_and_photos_reach_the_handler(peer: WeChatPeer, app: Flask,
                                                         fake_wechat: FakeWeChat) -> None:
    register(app)
    peer.say("5栋电梯坏了")
    peer.say("接单 #1", openid=GRID_OPENID)
    assert "转给" in (peer.say("补充 #1 按钮也不亮") or "")
    peer.post(image_xml("more-1"))
    wait_for(lambda: sum("补充" in m for m in resident_messages(fake_wechat, GRID_OPENID)) >= 2)
    texts = resident_messages(fake_wechat, GRID_OPENID)
    assert any("按钮也不亮" in t for t in texts) and any("照片" in t for t in texts)


def test_outbox_list_and_retry(peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat) -> None:
    register(app)
    fake_wechat.errcode = 40003  # invalid openid: permanent
    peer.say("5栋电梯坏了")

    def all_failed() -> bool:  # the sender thread has tried every card
        with app.extensions["linli"].sessions() as session:
            states = session.scalars(select(OutboxMessage.status)).all()
        return bool(states) and set(states) == {"failed"}

    wait_for(all_failed)
    fake_wechat.errcode = 0
    out = cli(app, "outbox", "retry")
    assert "queued again" in out
    assert cli(app, "outbox", "list", "--failed").strip().endswith("0 message(s)")
    with app.extensions["linli"].sessions() as session:
        assert all(m.status == "sent" for m in session.scalars(select(OutboxMessage)))


def test_whole_ticket_life_through_wecom(peer: WeChatPeer, app: Flask, server: str,
                                         fake_wechat: FakeWeChat) -> None:
    """The issue's whole life: report on /wechat; the grid worker's WeCom and the property
    group get cards; 接单 from WeCom reaches the resident; 完成 asks for a rating;
    不满意 reopens; 合并 from the group chat moves followers."""
    from tests.wecom_factories import app_peer, bot_peer
    register(app)
    wecom, group = app_peer(server, app), bot_peer(server, app)
    assert "#1" in (peer.say("3栋2单元电梯坏了，有人被困", openid="oAlice") or "")
    wait_for(lambda: {"li", "zhao"} <= {u for u, _ in app_messages(fake_wechat)}
             and len(fake_wechat.sent("webhook/send")) == 1)
    assert "已接单 #1" in (wecom.say("接单 #1", userid="li") or "")
    wait_for(lambda: any("李网格" in m for m in resident_messages(fake_wechat, "oAlice")))
    assert "办结" in (wecom.say("完成 #1 已放人，电梯已修好", userid="li") or "")
    wait_for(lambda: any("打分" in m for m in resident_messages(fake_wechat, "oAlice")))
    assert "重新打开" in (peer.say("不满意，电梯还是在抖", openid="oAlice") or "")
    wait_for(lambda: any("退回重办" in c for u, c in app_messages(fake_wechat) if u == "li"))
    assert "#1" in (peer.say("3栋2单元电梯又坏了", openid="oBob") or "")  # offered to follow #1
    assert "#2" in (peer.say("不是", openid="oBob") or "")
    merged = group.say("合并 #1 #2", userid="zhao") or ""
    assert "#2" in merged and "#1" in merged
    wecom.say("完成 #1 换了主板", userid="li")
    wait_for(lambda: sum("打分" in m for m in resident_messages(fake_wechat, "oBob")) == 1)
    assert "不是登记的工作人员" in (group.say("完成 #1", userid="stranger") or "")
    assert "不是登记的工作人员" in (wecom.say("接单 #2", userid="stranger") or "")
    assert "接单 #N" in (wecom.say("你好", userid="li") or "")  # staff get their commands listed


def test_a_new_tickets_two_levels_asked_together_are_each_levels_staff(app: Flask) -> None:
    """Routing asks for a new ticket's grid and property staff in one statement (two when a
    level falls back on its staff without coverage): each level's people are who that level
    gives alone, the most specific coverage first, else those who cover nothing."""
    from sqlalchemy import event

    from models import covering
    from models.staff import covering_levels

    register(app)
    cli(app, "staff", "add", "--id", "zhou", "--channel", "wecom", "--name", "周师傅",
        "--role", "property", "--buildings", "7")
    expected = {  # place -> (grid, property), by user id
        (None, None, None): ([GRID_OPENID, "li"], ["zhao", "qian"]),  # no place: every grid worker
        ("3", "2", "301"): (["li"], ["zhao", "qian"]),  # Li's unit beats Wang's building
        ("3", "1", None): ([GRID_OPENID], ["zhao", "qian"]),
        ("7", "1", "101"): ([], ["zhou"]),  # nobody's grid; Zhou's building
        ("9", None, None): ([], ["zhao", "qian"]),
    }
    services = app.extensions["linli"]
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    with services.sessions() as session:
        for (building, unit, room), (grid, firm) in expected.items():
            alone = {role: covering(session, role, building, unit, room) for role in ("grid", "property")}
            event.listen(services.engine, "before_cursor_execute", note)
            try:
                statements.clear()
                both = covering_levels(session, ("grid", "property"), building, unit, room)
            finally:
                event.remove(services.engine, "before_cursor_execute", note)
            assert both == alone, (building, unit, room)
            assert [m.user_id for m in both["grid"]] == grid and [m.user_id for m in both["property"]] == firm
            assert len(statements) <= (2 if building else 3), statements
