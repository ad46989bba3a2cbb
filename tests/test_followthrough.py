"""Deadlines, the five-level climb, duplicates, the look back and the digest, on a moved clock."""
from __future__ import annotations


from flask import Flask
from sqlalchemy import select

from bot import followthrough, outbox
from models import Follower, Ticket
from tests.conftest import Clock
from tests.factories import WeChatPeer
from tests.fakes import FakeWeChat
from tests.test_staff import GRID_OPENID, app_messages, register, resident_messages


def register_levels(app: Flask) -> None:
    """Everyone of test_staff.register, plus a community and a street officer."""
    register(app)
    runner = app.test_cli_runner()
    for user, name, role in (("zhou", "周书记", "community"), ("wu", "吴主任", "street")):
        result = runner.invoke(args=["staff", "add", "--id", user, "--channel", "wecom",
                                     "--name", name, "--role", role])
        assert result.exit_code == 0, result.output


def sweep(app: Flask) -> None:
    """Run the SLA job as the scheduler would (`flask jobs run`), then deliver what it queued."""
    result = app.test_cli_runner().invoke(args=["jobs", "run", "sla_sweep"])
    assert result.exit_code == 0 and "ticket(s)" in result.output, result.output
    settle(app)  # the web process's sender may hold a message: let it finish first


def ticket(app: Flask, number: int = 1) -> Ticket:
    with app.extensions["linli"].sessions() as session:
        found = session.get(Ticket, number)
        found.events  # load them  # noqa: B018
        return found


def fixed_and_looked_back(peer: WeChatPeer, app: Flask, clock: Clock, rating: str) -> None:
    """A report of the resident's, fixed by the grid worker, rated, and a week later looked back on."""
    peer.say("5栋电梯坏了")
    peer.say("完成 #1", openid=GRID_OPENID)
    peer.say(rating)
    clock.advance(days=8)
    followthrough.look_back(app.extensions["linli"])


def settle(app: Flask) -> None:
    """Let the deliveries queued by the last webhook call finish."""
    app.extensions["linli"].sender.submit(lambda: None).result(10)
    outbox.deliver_due(app.extensions["linli"])


def test_unclaimed_urgent_ticket_climbs_to_street_each_level_told_once(
        peer: WeChatPeer, app: Flask, clock: Clock, fake_wechat: FakeWeChat) -> None:
    register_levels(app)
    peer.say("3栋2单元电梯坏了，有人被困")  # urgent: first response due in 30 minutes
    settle(app)
    steps = []
    for minutes in (29, 2, 30, 30, 30):  # just before, then each deadline in turn
        clock.advance(minutes=minutes)
        sweep(app)
        steps.append(ticket(app).level)
    assert steps == ["grid", "property", "estate", "community", "street"]
    told = [u for u, c in app_messages(fake_wechat) if "已升级到" in c]
    assert sorted(told) == ["sun", "wu", "zhao", "zhou"]  # each level once; zhao is the lift team
    groups = [b["markdown"]["content"] for b in fake_wechat.sent("webhook/send")]
    for level in ("物业", "小区", "社区", "街道"):
        assert sum(f"已升级到{level}" in g for g in groups) == 1
    clock.advance(minutes=30)
    sweep(app)  # at street: no further climb, one reminder a day
    sweep(app)
    assert ticket(app).level == "street"
    clock.advance(hours=25)
    sweep(app)
    actions = [e.action for e in ticket(app).events]
    assert actions.count("reminded") == 2
    assert [a for a in actions if a.startswith("escalated")] == [
        "escalated:property", "escalated:estate", "escalated:community", "escalated:street"]
    assert any("督办" in m for m in resident_messages(fake_wechat, "oResident0000000000000000001"))


def test_claimed_ticket_warns_its_handler_then_climbs(peer: WeChatPeer, app: Flask, clock: Clock,
                                                      fake_wechat: FakeWeChat) -> None:
    register_levels(app)
    peer.say("5栋电梯坏了")  # ordinary: fixed within 3 days
    peer.say("接单 #1", openid=GRID_OPENID)
    clock.advance(hours=2 * 24 + 10)  # less than a fifth of the time left
    sweep(app)
    sweep(app)
    assert [e.action for e in ticket(app).events].count("warned") == 1
    assert any("将于" in m and "#1" in m for m in resident_messages(fake_wechat, GRID_OPENID))
    clock.advance(hours=15)
    sweep(app)
    assert ticket(app).level == "property"


def test_resolved_ticket_is_looked_back_on_and_reopened(peer: WeChatPeer, app: Flask, clock: Clock,
                                                        fake_wechat: FakeWeChat) -> None:
    register_levels(app)
    resident = "oLookBack"
    peer.say("5栋电梯坏了", openid=resident)
    peer.say("接单 #1", openid=GRID_OPENID)
    peer.say("完成 #1", openid=GRID_OPENID)
    peer.say("满意", openid=resident)
    assert ticket(app).state == "closed"
    clock.advance(days=6)
    followthrough.look_back(app.extensions["linli"])
    assert ticket(app).looked_back_at is None
    clock.advance(days=1, minutes=1)
    followthrough.look_back(app.extensions["linli"])
    followthrough.look_back(app.extensions["linli"])  # asked once
    settle(app)
    assert sum("回头看" in m for m in resident_messages(fake_wechat, resident)) == 1
    reply = peer.say("又坏了", openid=resident) or ""
    assert "重新打开" in reply
    reopened = ticket(app)
    assert (reopened.state, reopened.level, reopened.reopen_count) == ("reopened", "grid", 1)


def test_look_back_answered_no_reopens(peer: WeChatPeer, app: Flask, clock: Clock) -> None:
    """A bare "没有" to "现在还好吗？" means it is not fixed."""
    register_levels(app)
    fixed_and_looked_back(peer, app, clock, "满意")
    assert "重新打开" in (peer.say("没有") or "")
    assert ticket(app).state == "reopened"


def test_look_back_answered_well_closes_the_question(peer: WeChatPeer, app: Flask, clock: Clock) -> None:
    register_levels(app)
    fixed_and_looked_back(peer, app, clock, "5分")
    assert "谢谢" in (peer.say("修好了 一直没坏") or "")
    assert ticket(app).state == "closed"


def test_same_problem_is_offered_to_follow(peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat) -> None:
    register_levels(app)
    peer.say("5栋电梯坏了", openid="oFirst")
    offer = peer.say("5栋的电梯又不动了", openid="oSecond") or ""
    assert "#1" in offer and "正在处理" in offer
    assert "跟进 #1" in (peer.say("是", openid="oSecond") or "")
    with app.extensions["linli"].sessions() as session:
        assert session.scalars(select(Follower.how).where(Follower.ticket_id == 1)).all() == \
            ["reported", "me_too"]
        assert session.get(Ticket, 2) is None
    peer.say("接单 #1", openid=GRID_OPENID)
    settle(app)
    assert any("受理" in m for m in resident_messages(fake_wechat, "oSecond"))
    offer = peer.say("5栋电梯按钮坏了", openid="oThird") or ""
    assert "#1" in offer
    assert "#2" in (peer.say("不是", openid="oThird") or "")


def test_other_buildings_and_old_tickets_are_not_duplicates(peer: WeChatPeer, app: Flask,
                                                             clock: Clock) -> None:
    peer.say("5栋电梯坏了", openid="oFirst")
    assert "#2" in (peer.say("6栋电梯坏了", openid="oSecond") or "")
    clock.advance(hours=25)
    assert "#3" in (peer.say("5栋电梯坏了", openid="oThird") or "")


def test_daily_digest_lists_the_oldest_overdue_first(peer: WeChatPeer, app: Flask, clock: Clock,
                                                     fake_wechat: FakeWeChat) -> None:
    peer.say("5栋电梯坏了")
    clock.advance(hours=10)
    peer.say("4栋楼道灯不亮了")
    clock.advance(days=2)
    result = followthrough.daily_digest(app.extensions["linli"])
    followthrough.daily_digest(app.extensions["linli"])  # once a day per group
    outbox.deliver_due(app.extensions["linli"])
    app.extensions["linli"].sender.submit(lambda: None).result(10)  # a kicked sender may hold some
    posts = [b["markdown"]["content"] for b in fake_wechat.sent("webhook/send")]
    digests = [p for p in posts if "每日工单简报" in p]
    assert len(digests) == 5 and "2 open" in result  # one per level group
    body = digests[0]
    assert "超时：2" in body and body.index("#1") < body.index("#2")
