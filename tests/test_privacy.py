"""Personal information (PIPL): a resident sees what the bot holds and has it erased by chat;
tickets and decided ballots stay pseudonymised; phones and rooms reach only the staff who need them."""
from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import select, text

from bot import outbox
from models.ratelimit import RateLimit, bucket_key
from models import Ballot, Base, Conversation, Follower, InboundMessage, OutboxMessage, Resident, Ticket
from models.privacy import Erasure, mask_phones, scrub
from tests.conftest import Clock, cli
from tests.factories import WeChatPeer
from tests.fakes import FakeWeChat
from tests.test_staff import GRID_OPENID, app_messages, register, resident_messages, wait_for
from tests.test_votes import bind, create_vote, owners, show

OPENID = "oPrivacyResident0001"
PHONE = "13812345678"


def sessions(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["linli"].sessions


def an_owner(app: Flask, index: int = 0) -> tuple[str, str, str]:
    """(phone, label like 3栋2单元501, room) of a demo owner with one home."""
    single = [(p, label, homes) for p, label, homes in owners(app) if len(homes) == 1]
    phone, label, homes = single[index]
    return phone, label, homes[0].room


def resident(app: Flask, openid: str) -> Resident | None:
    with sessions(app)() as session:
        return session.scalar(select(Resident).where(Resident.openid == openid))


def everything_stored(app: Flask) -> str:
    """Every row of every table, as one text to search in."""
    with sessions(app)() as session:
        return "\n".join(str(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in session.execute(text(f"SELECT * FROM {table.name}")))


# ---- seeing what is held ---------------------------------------------------------------------

@pytest.mark.parametrize("asked", ["我的信息", "查看我的信息", "你们存了我哪些信息？"])
def test_a_resident_sees_what_is_held_about_them(asked: str, peer: WeChatPeer, app: Flask) -> None:
    phone, label, _ = an_owner(app)
    bind(peer, OPENID, label, phone)
    peer.say("订阅", openid=OPENID)
    assert "#1" in (peer.say("5栋楼道垃圾没人收", openid=OPENID) or "")
    summary = peer.say(asked, openid=OPENID) or ""
    for part in (label, "业主", "已核验", "已订阅", "报了1件", "0张选票", "4条消息", "2026-11-28",
                 "删除我的信息"):
        assert part in summary, (part, summary)
    stranger = peer.say("我的信息", openid="oSomeoneElse") or ""
    assert "绑定房屋：没有" in stranger and "报了0件" in stranger and label not in stranger


# ---- erasing -----------------------------------------------------------------------------------

def test_erasure_asks_first_then_erases_and_keeps_tickets_under_a_pseudonym(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat, clock: Clock) -> None:
    register(app)
    phone, label, room = an_owner(app)
    bind(peer, OPENID, label, phone)
    peer.say("订阅", openid=OPENID)
    opened = peer.say(f"{label}门口的楼道灯坏了，联系我{PHONE}", openid=OPENID) or ""
    assert "#1" in opened
    outbox.deliver_due(app.extensions["linli"])
    cli(app, "board", "publish", "1")  # staff put their words on the public board
    peer.say("电梯也坏了", openid=OPENID)  # waits for a place: a conversation is pending
    ask = peer.say("删除我的信息", openid=OPENID) or ""
    assert "确认删除" in ask and "保留" in ask and "10分钟" in ask
    assert resident(app, OPENID).home_id is not None  # asking changes nothing yet
    with sessions(app).begin() as session:  # a message that waits for them to write again
        held = outbox.enqueue(session, key="held-for-them", channel="wechat", recipient=OPENID,
                              body="工单 #1 有新进展", now=clock())
        session.get(OutboxMessage, held).status = "held"

    done = peer.say("确认删除", openid=OPENID) or ""
    assert "已删除" in done and "1件工单" in done

    stored = everything_stored(app)
    assert OPENID not in stored  # no row still names them
    assert PHONE not in stored  # neither the ticket, its log nor the cards kept in the outbox
    with sessions(app)() as session:
        ticket = session.get(Ticket, 1)
        pseudonymised = session.get(Resident, ticket.reporter_id)
        erasure = session.get(Erasure, pseudonymised.id)
        assert erasure is not None and pseudonymised.openid == erasure.pseudonym
        assert (pseudonymised.home_id, pseudonymised.subscribed, pseudonymised.following) == \
            (None, False, False)
        assert "楼道灯坏了" in ticket.text and room not in ticket.text and ticket.room is None
        assert ticket.building is not None  # the building-level place stays for the board
        assert session.scalars(select(Follower).where(
            Follower.resident_id == pseudonymised.id)).all() == []
        assert session.get(Conversation, pseudonymised.id) is None
        assert session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == "held-for-them")) is None  # never sent: gone
        messages = session.scalars(select(InboundMessage).where(
            InboundMessage.sender == erasure.pseudonym)).all()
        assert len(messages) >= 5 and {m.content for m in messages} == {None}  # keys kept, words gone
        assert ticket.public_text is None  # their words leave the public board
        # the rate limit stays: it holds a hash, not the openid, and erasing must not reset it
        assert session.get(RateLimit, bucket_key("wechat", OPENID)) is not None

    outbox.deliver_due(app.extensions["linli"])
    assert not any("有新进展" in str(c.body) for c in fake_wechat.calls)
    fresh = peer.say("我的信息", openid=OPENID) or ""  # the same person writing again starts afresh
    assert "绑定房屋：没有" in fresh and "报了0件" in fresh and "1条消息" in fresh
    assert resident(app, OPENID).id != pseudonymised.id


def test_erasure_withdraws_open_ballots_and_keeps_decided_ones(peer: WeChatPeer, app: Flask,
                                                               clock: Clock) -> None:
    decided = create_vote(app, "--title", "续聘物业公司", "--kind", "owners_ordinary", "--item", "4")
    undecided = create_vote(app, "--title", "选举业委会", "--kind", "owners_ordinary", "--item", "3")
    phone, label, _ = an_owner(app)
    bind(peer, OPENID, label, phone)
    assert "已记录" in (peer.say(f"投票 #{decided} 同意", openid=OPENID) or "")
    peer.say(f"投票 #{undecided} 反对", openid=OPENID)
    cli(app, "vote", "close", str(decided))
    before = show(app, decided)

    ask = peer.say("注销", openid=OPENID) or ""
    assert f"#{undecided}" in ask and "撤回" in ask and f"#{decided}" not in ask
    assert "撤回了1张" in (peer.say("确认删除", openid=OPENID) or "")
    assert show(app, decided) == before  # a decided result never changes
    assert show(app, undecided)["voted_heads"] == 0  # their open ballot is withdrawn
    with sessions(app)() as session:
        [kept] = session.scalars(select(Ballot)).all()
        assert kept.vote_id == decided
        assert session.get(Erasure, kept.resident_id) is not None  # under the pseudonym


def test_confirmation_is_needed_within_ten_minutes(peer: WeChatPeer, app: Flask,
                                                   clock: Clock) -> None:
    phone, label, _ = an_owner(app)
    bind(peer, OPENID, label, phone)
    assert "没有等待确认" in (peer.say("确认删除", openid=OPENID) or "")  # nothing was asked
    peer.say("删除我的信息", openid=OPENID)
    clock.advance(minutes=11)
    assert "没有等待确认" in (peer.say("确认删除", openid=OPENID) or "")
    peer.say("删除我的信息", openid=OPENID)
    assert "已取消" in (peer.say("取消", openid=OPENID) or "")
    assert "没有等待确认" in (peer.say("确认删除", openid=OPENID) or "")
    kept = resident(app, OPENID)
    assert kept is not None and kept.home_id is not None and kept.verified


def test_pseudonyms_are_random_tokens_not_derived_from_the_openid(peer: WeChatPeer, app: Flask,
                                                                  clock: Clock) -> None:
    for problem in ("3栋电梯坏了", "5栋门口路灯不亮"):  # the same person, erased twice
        assert "#" in (peer.say(problem, openid=OPENID) or "")
        peer.say("删除我的信息", openid=OPENID)
        assert "已删除" in (peer.say("确认删除", openid=OPENID) or "")
        clock.advance(hours=24, seconds=1)  # one erasure a day
    with sessions(app)() as session:
        first, second = session.scalars(select(Erasure.pseudonym).order_by(Erasure.resident_id))
    assert first != second and OPENID not in first + second
    with sessions(app)() as session:  # each ticket stays with its own pseudonymised reporter
        reporters = [session.get(Resident, t.reporter_id).openid
                     for t in session.scalars(select(Ticket).order_by(Ticket.id))]
    assert reporters == [first, second]


@pytest.mark.parametrize("written, kept, gone", [
    ("5栋2单元1203厨房漏水", "5栋2单元", "1203"),
    ("三栋二单元五零一门口", "三栋二单元", "五零一"),
    ("住7-1-302，电话139 1234 5678", "7-1-", "302"),
    ("我家501室楼上漏水", "楼上漏水", "501"),
    ("座机023-68881234找我", "找我", "68881234"),
    ("+86 13912345678 王", "王", "13912345678"),
])
def test_scrub_takes_out_rooms_and_phones_and_keeps_the_rest(written: str, kept: str,
                                                             gone: str) -> None:
    clean = scrub(written)
    assert kept in clean and gone not in clean.replace(" ", "")


def test_scrub_takes_out_a_known_room_written_bare() -> None:
    assert scrub("就在1203门口", {"1203"}) == "就在***门口"
    assert scrub("3栋有12部电梯", {"1203"}) == "3栋有12部电梯"


# ---- where phones and rooms may go ------------------------------------------------------------

def test_phone_and_room_reach_the_handling_staff_but_not_groups_logs_or_residents(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat,
        caplog: pytest.LogCaptureFixture) -> None:
    register(app)
    caplog.set_level(logging.DEBUG)
    phone, label, homes = next(o for o in owners(app) if len(o[2]) == 1 and o[1].startswith("3栋2单元"))
    room = homes[0].room
    bind(peer, OPENID, label, phone)
    create_vote(app, "--title", "中心花园改造", "--kind", "consultation")
    opened = peer.say(f"{label}家里水管爆了，水漫出来了，电话{PHONE}", openid=OPENID) or ""
    assert "#1" in opened and "紧急" in opened
    cli(app, "jobs", "run", "vote_close")  # the residents' group hears of the vote
    outbox.deliver_due(app.extensions["linli"])

    def groups() -> dict[str, str]:
        return {c.params["key"]: c.body["markdown"]["content"] for c in list(fake_wechat.calls)
                if c.path.endswith("webhook/send")}

    wait_for(lambda: len(app_messages(fake_wechat)) >= 2 and len(groups()) >= 2)
    cards = dict(app_messages(fake_wechat))
    assert room in cards["li"] and PHONE in cards["li"]  # the grid worker who goes there
    groups = groups()
    assert set(groups) == {"property", "residents"}
    assert room in groups["property"] and PHONE not in groups["property"]
    assert mask_phones(PHONE) in groups["property"]  # half hidden: 138****5678
    assert "水管" not in groups["residents"] and room not in groups["residents"]
    assert PHONE not in groups["residents"] and "中心花园改造" in groups["residents"]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert logged and PHONE not in logged and phone not in logged and label not in logged


def test_others_following_a_ticket_read_it_without_the_reporters_room(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat) -> None:
    register(app)
    assert "#1" in (peer.say("3栋2单元501门口水管漏水了", openid=OPENID) or "")
    offered = peer.say("3栋水管漏水", openid="oNeighbour") or ""
    assert "#1" in offered
    assert "#1" in (peer.say("是", openid="oNeighbour") or "")  # follows it: "me too"
    reply = peer.say("回复 #1 明天上午去3栋2单元501门口修", openid=GRID_OPENID) or ""
    assert "#1" in reply
    outbox.deliver_due(app.extensions["linli"])
    wait_for(lambda: resident_messages(fake_wechat, "oNeighbour") and resident_messages(fake_wechat, OPENID))
    [mine] = resident_messages(fake_wechat, OPENID)
    [theirs] = resident_messages(fake_wechat, "oNeighbour")
    assert "3栋2单元501门口" in mine  # the reporter reads their own words back
    assert "明天上午去3栋2单元***门口修" in theirs and "501" not in theirs


def test_a_neighbour_offered_and_following_the_same_problem_sees_no_room(peer: WeChatPeer) -> None:
    assert "#1" in (peer.say("3栋2单元501门口水管漏水了", openid=OPENID) or "")
    offered = peer.say("3栋水管漏水", openid="oNeighbour") or ""
    assert "#1" in offered and "3栋2单元" in offered and "501" not in offered
    assert "#1" in (peer.say("是", openid="oNeighbour") or "")
    listed = peer.say("查询", openid="oNeighbour") or ""
    assert "#1" in listed and "3栋2单元" in listed and "501" not in listed


# ---- erasing is not a way to start afresh (issue 18, item 5) ------------------------------------

def erase(peer: WeChatPeer, openid: str) -> str:
    assert "确认删除" in (peer.say("删除我的信息", openid=openid) or "")
    return peer.say("确认删除", openid=openid) or ""


def test_erasing_oneself_does_not_refill_the_rate_limit(peer: WeChatPeer, app: Flask) -> None:
    """Repeated 删除我的信息 / 确认删除 gave one sender unlimited messages: each reset the bucket."""
    from bot.replies.general import RATE_LIMITED
    burst = app.extensions["linli"].config.ratelimit.burst
    answered = 0
    for _ in range(4):  # the clock stands still: no token comes back
        for message in ("你好", "删除我的信息", "确认删除", "你好"):
            reply = peer.say(message, openid=OPENID)
            answered += reply not in (None, RATE_LIMITED)
    assert answered == burst


def test_one_erasure_a_day(peer: WeChatPeer, app: Flask, clock: Clock) -> None:
    phone, label, _ = an_owner(app)
    assert "已删除" in erase(peer, OPENID)
    bind(peer, OPENID, label, phone)
    again = peer.say("删除我的信息", openid=OPENID) or ""
    assert "24小时内已经删除过" in again and "确认删除" not in again
    assert "没有等待确认" in (peer.say("确认删除", openid=OPENID) or "")
    kept = resident(app, OPENID)
    assert kept is not None and kept.home_id is not None  # nothing was erased the second time
    clock.advance(hours=24, seconds=1)
    assert "已删除" in erase(peer, OPENID)


def test_erasing_does_not_reset_the_guesses_at_phone_digits(peer: WeChatPeer, app: Flask,
                                                            clock: Clock) -> None:
    from models.binding import SENDER_FAILURES
    candidates = [an_owner(app, n) for n in range(SENDER_FAILURES + 1)]
    for phone, label, _ in candidates[:SENDER_FAILURES]:
        wrong = f"{(int(phone[-4:]) + 1) % 10000:04d}"
        assert "不符" in (peer.say(f"绑定 {label} {wrong}", openid=OPENID) or "")
    clock.advance(minutes=1)
    assert "已删除" in erase(peer, OPENID)
    phone, label, _ = candidates[-1]
    reply = peer.say(f"绑定 {label} {phone[-4:]}", openid=OPENID) or ""
    assert "人工核实" in reply and not resident(app, OPENID).verified  # still out of guesses


def test_sent_binding_requests_are_scrubbed_on_erasure(peer: WeChatPeer, app: Flask,
                                                       fake_wechat: FakeWeChat) -> None:
    """Issue 18, item 10: a sent request still linked the resident's number to a home."""
    cli(app, "staff", "add", "--id", "wu", "--channel", "wecom", "--name", "吴网格", "--role", "grid",
        "--homes", "5-2")
    assert "等待" in (peer.say("绑定 5栋2单元1203", openid=OPENID) or "")
    number = resident(app, OPENID).id
    wait_for(lambda: any("5栋2单元1203" in m for _, m in app_messages(fake_wechat)))

    def recorded_sent() -> bool:  # the sender records "sent" a moment after the API answers
        with sessions(app)() as session:
            return session.scalar(select(OutboxMessage).where(OutboxMessage.status == "sent",
                                  OutboxMessage.dedupe_key.like(f"bind:{number}:%"))) is not None
    wait_for(recorded_sent)  # fails when it is never recorded
    assert "已删除" in erase(peer, OPENID)
    with sessions(app)() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert not [r for r in rows if r.dedupe_key.startswith(f"bind:{number}:")]
        assert not [r for r in rows if "5栋2单元1203" in r.body]
