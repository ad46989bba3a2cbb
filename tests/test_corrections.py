"""Corrections flow back: 改类 and 不是报修 from staff chat, kept as labelled examples, exported by
`flask intents corrections`, and counted month by month on /stats (issue 13, section 5)."""
from __future__ import annotations

import json
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import select

import intents
from bot.replies.staff import NOT_STAFF
from models import LabelledExample, Ticket, TicketEvent
from models.categories import CATEGORY_NAMES
from tests.conftest import Clock, cli
from tests.factories import WeChatPeer
from tests.fakes import FakeWeChat
from tests.test_staff import GRID_OPENID, register, resident_messages, wait_for
from tests.wecom_factories import app_peer

MISREAD = "3栋门口的路灯杆被车撞歪了 快倒了"  # a problem: which category is for staff to say
NOT_A_PROBLEM = "5栋家里电视坏了 哪里能修"  # a question for the market's appliance repair
CORPUS_KEYS = ("text", "intent", "category", "building", "unit", "room", "urgent", "ticket", "vote",
               "choice", "rating")
REPORTER = "oReporterChen"


def ticket(app: Flask, number: int) -> Ticket:
    with app.extensions["linli"].sessions() as session:
        found = session.get(Ticket, number)
        assert found is not None
        session.expunge(found)
        return found


def events(app: Flask, number: int) -> list[tuple[str, str | None]]:
    with app.extensions["linli"].sessions() as session:
        return [(e.action, e.note) for e in session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id))]


def exported(app: Flask, *args: str) -> list[dict]:
    return [json.loads(line) for line in cli(app, "intents", "corrections", *args).splitlines()]


def other_than(category: str | None) -> str:
    return "lighting" if category != "lighting" else "facilities"


def test_recategorise_changes_the_category_logs_it_and_is_exported(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat, server: str) -> None:
    register(app)
    assert "#1" in (peer.say(MISREAD, openid=REPORTER) or "")
    read = ticket(app, 1).category
    wanted = other_than(read)
    answer = peer.say(f"改类 #1 {CATEGORY_NAMES[wanted]}", openid=GRID_OPENID) or ""
    assert "#1" in answer and CATEGORY_NAMES[wanted] in answer and "纠正" in answer
    assert ticket(app, 1).category == wanted
    assert ("recategorised", f"{CATEGORY_NAMES[read]}→{CATEGORY_NAMES[wanted]}") in events(app, 1)
    [line] = exported(app)
    assert tuple(line)[:len(CORPUS_KEYS)] == CORPUS_KEYS
    assert (line["text"], line["intent"], line["category"], line["building"]) == \
        (MISREAD, "report", wanted, "3")
    assert line["tags"] == ["correction"]
    assert line["review"]["read"] == {"intent": "report", "category": read}
    assert line["review"]["source"] == "staff" and line["review"]["by"] == "网格·王网格"
    assert REPORTER not in json.dumps(line, ensure_ascii=False)  # no openid leaves
    # by code, from WeCom; a second correction corrects the label, not the engine's reading
    again = other_than(wanted)
    assert CATEGORY_NAMES[again] in (app_peer(server, app).say(f"改类 #1 {again}", userid="li") or "")
    [line] = exported(app)
    assert line["category"] == again and line["review"]["read"]["category"] == read


def test_recategorise_refuses_what_is_wrong_and_strangers(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    peer.say(MISREAD, openid=REPORTER)
    read = ticket(app, 1).category
    assert "没有“天气”这个类别" in (peer.say("改类 #1 天气", openid=GRID_OPENID) or "")
    assert "已经是" in (peer.say(f"改类 #1 {read}", openid=GRID_OPENID) or "")
    assert "改类 #1 电梯" in (peer.say("改类 #1", openid=GRID_OPENID) or "")  # says how
    assert "没有找到工单 #9" in (peer.say("改类 #9 电梯", openid=GRID_OPENID) or "")
    assert peer.say(f"改类 #1 {other_than(read)}", openid=REPORTER) == NOT_STAFF
    assert ticket(app, 1).category == read
    assert exported(app) == []
    partly = "水电" if read != "water" else "环境"  # part of one category's name is enough
    assert "#1" in (peer.say(f"改类 #1 {partly}", openid=GRID_OPENID) or "")
    assert ticket(app, 1).category == ("water" if read != "water" else "sanitation")


def test_not_a_report_withdraws_answers_the_resident_and_is_exported(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat) -> None:
    parse = intents.parse(NOT_A_PROBLEM)
    assert parse.intent == "report" and not parse.ask and parse.place  # filed as a problem
    assert max((p, n) for n, p in parse.scores.items() if n != "report")[1] == "market"
    register(app)
    assert "#1" in (peer.say(NOT_A_PROBLEM, openid=REPORTER) or "")
    peer.say("接单 #1", openid=GRID_OPENID)
    answer = peer.say("不是报修 #1 家电请到便民市集修", openid=GRID_OPENID) or ""
    assert "#1" in answer and "撤销" in answer
    withdrawn = ticket(app, 1)
    assert withdrawn.state == "withdrawn"
    assert ("withdrawn", "家电请到便民市集修") in events(app, 1)
    wait_for(lambda: any("撤销" in m and "市集" in m and "家电维修" in m
                         for m in resident_messages(fake_wechat, REPORTER)))
    told = next(m for m in resident_messages(fake_wechat, REPORTER) if "撤销" in m)
    assert "家电请到便民市集修" in told  # the reason, then the market's answer
    assert "#1" not in (peer.say("待办", openid=GRID_OPENID) or "#1")  # off the queue
    [line] = exported(app)
    assert (line["text"], line["intent"], line["category"]) == (NOT_A_PROBLEM, "market", None)
    assert line["review"]["read"] == {"intent": "report", "category": withdrawn.category}
    assert line["review"]["note"] == "家电请到便民市集修"
    assert "不能撤销" in (peer.say("不是报修 #1", openid=GRID_OPENID) or "")  # once is enough


def test_not_a_report_without_another_reading_is_a_polite_note(
        peer: WeChatPeer, app: Flask, fake_wechat: FakeWeChat) -> None:
    register(app)
    assert "#1" in (peer.say("3栋2单元电梯坏了", openid=REPORTER) or "")
    assert "#1" in (peer.say("3栋2单元电梯又坏了", openid="oNeighbour") or "")
    peer.say("是", openid="oNeighbour")  # follows #1
    peer.say("不是报修 #1 电梯在做年检", openid=GRID_OPENID)
    wait_for(lambda: any("电梯在做年检" in m for m in resident_messages(fake_wechat, REPORTER)))
    wait_for(lambda: any("您跟进的工单 #1" in m and "电梯在做年检" in m
                         for m in resident_messages(fake_wechat, "oNeighbour")))


def test_withdrawn_tickets_count_against_nobody_and_stats_show_the_corrected_share(
        peer: WeChatPeer, app: Flask, server: str, clock: Clock) -> None:
    register(app)
    peer.say(MISREAD, openid=REPORTER)
    peer.say(NOT_A_PROBLEM, openid=REPORTER)
    peer.say("5栋2单元楼道灯不亮了", openid="oOther")
    peer.say(f"改类 #1 {other_than(ticket(app, 1).category)}", openid=GRID_OPENID)
    peer.say("不是报修 #2", openid=GRID_OPENID)
    clock.advance(days=5)  # every ticket now past its deadline, had it stayed open
    figures = requests.get(f"{server}/stats.json", timeout=10).json()
    assert figures["overall"]["tickets"]["total"] == 2  # the withdrawn one is in no figure ...
    assert figures["overall"]["tickets"]["overdue"] == 2
    assert figures["corrections"] == [{"month": "2026-11", "tickets": 3, "corrected": 2,
                                       "share": 0.6667}]  # ... but the corrected share
    page = requests.get(f"{server}/stats", timeout=10).text
    assert 'id="table-corrections"' in page and "66.7%" in page
    with app.app_context():
        summary = json.loads(cli(app, "stats", "--json"))
    assert summary["tickets"]["total"] == 2 and "corrections" not in summary  # the contract's shape


def test_export_since_a_day_and_into_a_file(peer: WeChatPeer, app: Flask, clock: Clock,
                                            tmp_path: Path) -> None:
    register(app)
    peer.say(MISREAD, openid=REPORTER)
    peer.say(f"改类 #1 {other_than(ticket(app, 1).category)}", openid=GRID_OPENID)
    clock.advance(days=3)  # 2026-12-01 10:00 in Chongqing
    peer.say(NOT_A_PROBLEM, openid="oOther")
    peer.say("不是报修 #2", openid=GRID_OPENID)
    assert [line["intent"] for line in exported(app)] == ["report", "market"]
    assert [line["intent"] for line in exported(app, "--since", "2026-11-30")] == ["market"]
    assert [line["intent"] for line in exported(app, "--since", "2026-12-01")] == ["market"]
    assert exported(app, "--since", "2026-12-02") == []
    target = tmp_path / "corrections.jsonl"
    assert "2 labelled example(s)" in cli(app, "intents", "corrections", "-o", str(target))
    assert [json.loads(line)["intent"] for line in target.read_text(encoding="utf-8").splitlines()] == \
        ["report", "market"]
    result = app.test_cli_runner().invoke(args=["intents", "corrections", "--since", "yesterday"])
    assert result.exit_code != 0 and "--since" in result.output


def test_the_export_hides_phone_and_room_numbers(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    said = "5栋2单元1203门口水管爆了 电话13812345678"
    assert "#1" in (peer.say(said, openid=REPORTER) or "")
    peer.say(f"改类 #1 {other_than(ticket(app, 1).category)}", openid=GRID_OPENID)
    [line] = exported(app)
    assert "13812345678" not in line["text"] and "1203" not in line["text"]
    assert line["building"] == "5"


def test_erasure_removes_the_residents_examples(peer: WeChatPeer, app: Flask) -> None:
    register(app)
    peer.say(MISREAD, openid=REPORTER)
    peer.say(f"改类 #1 {other_than(ticket(app, 1).category)}", openid=GRID_OPENID)
    assert "确认删除" in (peer.say("删除我的信息", openid=REPORTER) or "")
    peer.say("确认删除", openid=REPORTER)
    with app.extensions["linli"].sessions() as session:
        assert session.scalars(select(LabelledExample)).all() == []


def test_corrections_are_ticket_commands_under_the_same_permission_rule_as_rejecting() -> None:
    from bot.commands import STAFF_COMMANDS
    declared = {command.word: command for command in STAFF_COMMANDS}
    ours = [declared["改类"], declared["不是报修"]]
    assert all(command.ticket and not command.staff_only for command in ours)
    # whatever check the registry applies to 退回 #N (the nearest command) applies to them too
    assert {command.scope for command in ours} == {declared["退回"].scope}
