"""Many estates on one Official Account: each estate's 3栋 is its own, residents not yet bound are
asked which estate (or send their location), staff act only in their estate, votes count only their
estate's register, and the board and the figures show an estate, a community or a street."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from bot import outbox
from bot.commands import STAFF_COMMANDS
from models import Estate, Resident, Ticket, transaction
from models.market import EstateMarket
from tests.conftest import cli
from tests.factories import WeChatPeer, location_xml
from tests.test_staff_scope import snapshot
from tests.fakes import FakeWeChat

CUIZHU = "翠竹苑"  # the second estate; 邻里花园 (the demo, 1,059 homes) is the first
CUIZHU_PLACE = (29.6012, 106.6020)
REGISTER = ("building,unit,room,area_m2,owner_name,phone\n"
            "3,1,101,90.00,钱一,13800000001\n"
            "3,1,102,80.50,孙二,13800000002\n"
            "3,2,101,70.25,李三,13800000003\n"
            "1,1,101,60.00,周四,13800000004\n")
CUIZHU_GRID, GARDEN_GRID = "oGridCui", "oGridWang"  # grid workers on WeChat, one per estate's 3栋


def wait_for(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def cards(fake: FakeWeChat) -> list[tuple[str, str]]:
    """(WeCom user, markdown) of every app message sent to staff."""
    return [(b["touser"], b["markdown"]["content"]) for b in fake.sent("message/send")]


def told(fake: FakeWeChat, openid: str) -> str:
    """Everything one WeChat user was sent, by customer-service or template message."""
    custom = [b["text"]["content"] for b in fake.sent() if b.get("touser") == openid and "text" in b]
    template = [b["data"]["content"]["value"] for b in fake.sent("message/template/send")
                if b["touser"] == openid]
    return "\n".join(custom + template)


def second_estate(app: Flask, tmp_path: Path) -> None:
    """翠竹苑 beside the demo estate, with its own 3栋; a grid worker and a property desk in each."""
    register = tmp_path / "cuizhu.csv"
    register.write_text(REGISTER, encoding="utf-8")
    out = cli(app, "import-households", str(register), "--estate", CUIZHU, "--community", "和顺社区",
              "--street", "龙溪街道", "--location", f"{CUIZHU_PLACE[0]},{CUIZHU_PLACE[1]}")
    assert CUIZHU in out and "4 new" in out
    for user, name, estate in ((GARDEN_GRID, "王网格", "邻里花园"), (CUIZHU_GRID, "崔网格", CUIZHU)):
        cli(app, "staff", "add", "--id", user, "--channel", "wechat", "--name", name, "--role", "grid",
            "--buildings", "3", "--estate", estate)
    for user, name, estate in (("garden-desk", "花园物业", "邻里花园"), ("cui-desk", "翠竹物业", CUIZHU)):
        cli(app, "staff", "add", "--id", user, "--channel", "wecom", "--name", name,
            "--role", "property", "--estate", estate)


def estate_id(app: Flask, name: str) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(Estate.id).where(Estate.name == name))


def tickets(app: Flask) -> list[Ticket]:
    with app.extensions["linli"].sessions() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def test_without_an_estate_several_estates_refuse_an_import(app: Flask, tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    again = tmp_path / "again.csv"
    again.write_text(REGISTER, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-households", str(again)])
    assert result.exit_code != 0 and "--estate" in result.output and "nothing was imported" in result.output
    result = app.test_cli_runner().invoke(args=["staff", "add", "--id", "x", "--channel", "wecom",
                                                "--name", "x", "--role", "grid"])
    assert result.exit_code != 0 and "--estate" in result.output


def test_each_estates_3栋_goes_to_its_own_staff(peer: WeChatPeer, app: Flask, tmp_path: Path,
                                                fake_wechat: FakeWeChat) -> None:
    second_estate(app, tmp_path)
    # 3栋1单元101 is in both estates: the owner is asked which, and answers with its number
    asked = peer.say("绑定 3栋1单元101 0001", openid="oCuiOwner") or ""
    assert "1 邻里花园" in asked and f"2 {CUIZHU}" in asked and "回复数字" in asked
    bound = peer.say("2", openid="oCuiOwner") or ""
    assert CUIZHU in bound and "3栋1单元101" in bound
    garden = peer.say("绑定 3栋1单元101", openid="oGardenResident") or ""
    assert "邻里花园" in garden
    peer.say("1", openid="oGardenResident")
    with app.extensions["linli"].sessions() as session:
        owner = session.scalar(select(Resident).where(Resident.openid == "oCuiOwner"))
        assert owner.verified and owner.home.unit.building.estate.name == CUIZHU

    assert "#1" in (peer.say("3栋电梯坏了", openid="oCuiOwner") or "")
    assert "#2" in (peer.say("3栋电梯坏了，门关不上", openid="oGardenResident") or "")
    first, second = tickets(app)
    assert (first.estate_id, second.estate_id) == (estate_id(app, CUIZHU), estate_id(app, "邻里花园"))
    wait_for(lambda: len(cards(fake_wechat)) >= 2)
    # each card goes to its own estate's property desk only
    assert {user for user, card in cards(fake_wechat) if "#1" in card} == {"cui-desk"}
    assert {user for user, card in cards(fake_wechat) if "#2" in card} == {"garden-desk"}
    assert f"{CUIZHU} 3栋" in dict(cards(fake_wechat))["cui-desk"]  # cards name the estate
    # the grid workers (on WeChat) hear only of their own estate's 3栋, and act only there
    wait_for(lambda: "#1" in told(fake_wechat, CUIZHU_GRID) and "#2" in told(fake_wechat, GARDEN_GRID))
    assert "#2" not in told(fake_wechat, CUIZHU_GRID) and "#1" not in told(fake_wechat, GARDEN_GRID)
    refused = peer.say("接单 #1", openid=GARDEN_GRID) or ""
    assert "未做任何改动" in refused
    assert tickets(app)[0].assignee_id is None
    mine = peer.say("待办", openid=GARDEN_GRID) or ""
    assert "#2" in mine and "#1" not in mine
    claimed = peer.say("接单 #1", openid=CUIZHU_GRID) or ""
    assert "#1" in claimed and "未做任何改动" not in claimed
    assert tickets(app)[0].assignee_id is not None


def test_an_unbound_resident_is_asked_which_estate_and_a_location_picks_the_nearest(
        peer: WeChatPeer, app: Flask, tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    asked = peer.say("3栋楼道灯不亮了", openid="oWalker") or ""
    assert "哪个小区" in asked and f"2 {CUIZHU}" in asked and "位置" in asked
    assert tickets(app) == []  # nothing is filed before the estate is known
    nowhere = peer.post(location_xml("?", openid="oWalker", latitude=999, longitude=106.6)).content
    assert "回复小区前的数字" in (nowhere or "") and tickets(app) == []  # a place off the map
    near_cuizhu = location_xml("翠竹苑北门", openid="oWalker", latitude=CUIZHU_PLACE[0] + 0.001,
                               longitude=CUIZHU_PLACE[1] - 0.001)
    reply = peer.post(near_cuizhu).content or ""
    assert CUIZHU in reply and "#1" in reply
    [ticket] = tickets(app)
    assert ticket.estate_id == estate_id(app, CUIZHU) and ticket.building == "3"
    # the estate is remembered: the next report is not asked about
    assert "#2" in (peer.say("3栋垃圾桶满了没人收", openid="oWalker") or "")
    # a number out of range is asked again; a name works as well as a number
    peer.say("1栋楼道灯不亮了", openid="oOther")
    assert "1 到 2" in (peer.say("5", openid="oOther") or "")
    assert "#3" in (peer.say("邻里花园", openid="oOther") or "")
    assert tickets(app)[2].estate_id == estate_id(app, "邻里花园")


def test_an_urgent_report_is_never_held_for_the_estate(peer: WeChatPeer, app: Flask,
                                                       tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    reply = peer.say("3栋电梯困人了，快来人", openid="oStuck") or ""
    assert "#1" in reply and "哪个小区" not in reply


def test_votes_count_only_their_estates_register(peer: WeChatPeer, app: Flask, tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    out = cli(app, "vote", "create", "--title", "续聘物业", "--kind", "owners_ordinary", "--item", "4",
              "--closes", "2026-12-20T18:00", "--estate", CUIZHU)
    number = out.strip().splitlines()[-1].lstrip("#")
    shown = json.loads(cli(app, "vote", "show", number, "--json"))
    assert (shown["eligible_heads"], shown["eligible_area"]) == (4, "300.75")  # 翠竹苑's four homes
    peer.say("绑定 3栋1单元101 0001", openid="oCuiOwner")
    peer.say("2", openid="oCuiOwner")
    assert f"#{number}" in (peer.say(f"投票 #{number} 同意", openid="oCuiOwner") or "")
    # an owner of the other estate's 3栋1单元101 has no say in it
    peer.say("绑定 5栋2单元1203", openid="oGardenOwner")
    peer.say("1", openid="oGardenOwner")
    with app.extensions["linli"].sessions() as session:
        garden = session.scalar(select(Resident).where(Resident.openid == "oGardenOwner"))
        garden.verified = True
        session.commit()
    refused = peer.say(f"投票 #{number} 反对", openid="oGardenOwner") or ""
    assert "没有找到投票" in refused
    shown = json.loads(cli(app, "vote", "show", number, "--json"))
    assert (shown["voted_heads"], shown["voted_area"]) == (1, "90.00")
    assert [o["heads"] for o in shown["options"]] == [1, 0, 0]


def test_an_owner_of_homes_in_two_estates_counts_in_each_estates_vote_with_that_estates_homes(
        peer: WeChatPeer, app: Flask, tmp_path: Path) -> None:
    """Article 278 counts an estate's own register: 钱一's home in 桂香园 adds nothing to 翠竹苑's vote."""
    second_estate(app, tmp_path)
    third = tmp_path / "guixiang.csv"
    third.write_text("building,unit,room,area_m2,owner_name,phone\n"
                     "8,1,101,50.00,钱一,13800000001\n"  # the same owner as 翠竹苑's 3栋1单元101
                     "8,1,102,40.00,吴五,13800000009\n", encoding="utf-8")
    cli(app, "import-households", str(third), "--estate", "桂香园", "--community", "和顺社区",
        "--street", "龙溪街道")
    numbers = {}
    for estate in (CUIZHU, "桂香园"):
        out = cli(app, "vote", "create", "--title", f"{estate}续聘物业", "--kind", "owners_ordinary",
                  "--item", "4", "--closes", "2026-12-20T18:00", "--estate", estate)
        numbers[estate] = out.strip().splitlines()[-1].lstrip("#")
    peer.say("绑定 3栋1单元101 0001", openid="oQianYi")
    peer.say("2", openid="oQianYi")  # 翠竹苑, the second of the estates that have a 3栋1单元101
    voted = peer.say(f"投票 #{numbers[CUIZHU]} 同意", openid="oQianYi") or ""
    assert f"已记录：#{numbers[CUIZHU]}" in voted
    cuizhu = json.loads(cli(app, "vote", "show", numbers[CUIZHU], "--json"))
    assert (cuizhu["eligible_heads"], cuizhu["eligible_area"]) == (4, "300.75")
    assert (cuizhu["voted_heads"], cuizhu["voted_area"]) == (1, "90.00")
    # bound to their 翠竹苑 home, they have no say in 桂香园's vote through it
    refused = peer.say(f"投票 #{numbers['桂香园']} 同意", openid="oQianYi") or ""
    assert "没有找到投票" in refused
    guixiang = json.loads(cli(app, "vote", "show", numbers["桂香园"], "--json"))
    assert (guixiang["eligible_heads"], guixiang["eligible_area"]) == (2, "90.00")
    assert guixiang["voted_heads"] == 0


def test_board_and_stats_show_an_estate_a_community_or_the_street(
        peer: WeChatPeer, app: Flask, server: str, tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    peer.say("3栋楼道灯不亮了", openid="oA")
    peer.say("2", openid="oA")  # 翠竹苑: #1
    peer.say("3栋垃圾桶满了没人收", openid="oB")
    peer.say("1", openid="oB")  # 邻里花园: #2
    peer.say("3栋路灯坏了", openid="oC")
    peer.say("1", openid="oC")  # 邻里花园: #3

    def board(**query: str) -> requests.Response:
        return requests.get(f"{server}/board.json", params=query, timeout=30)

    everything = board().json()["tickets"]
    assert [(t["id"], t["estate"]) for t in everything] == [(3, "邻里花园"), (2, "邻里花园"), (1, CUIZHU)]
    assert [t["id"] for t in board(estate=CUIZHU).json()["tickets"]] == [1]
    assert [t["id"] for t in board(estate=str(estate_id(app, "邻里花园"))).json()["tickets"]] == [3, 2]
    assert len(board(street="龙溪街道").json()["tickets"]) == 3
    assert len(board(community="和顺社区", state="open").json()["tickets"]) == 3
    bad = board(estate="不存在的小区")
    assert bad.status_code == 400 and "小区" in bad.json()["error"]
    page = requests.get(f"{server}/board", params={"estate": CUIZHU}, timeout=30)
    assert page.status_code == 200 and CUIZHU in page.text

    def stats(**query: str) -> requests.Response:
        return requests.get(f"{server}/stats.json", params=query, timeout=30)

    assert stats(estate=CUIZHU).json()["overall"]["tickets"]["total"] == 1
    assert stats(estate="邻里花园").json()["overall"]["tickets"]["total"] == 2
    street = stats(street="龙溪街道").json()
    assert street["overall"]["tickets"]["total"] == 3
    league = {row["estate"]: row for row in street["estates"]}
    assert set(league) == {"邻里花园", CUIZHU}
    assert league["邻里花园"]["tickets"]["total"] == 2 and league[CUIZHU]["tickets"]["total"] == 1
    assert {"grid_resolved_share", "first_response_minutes", "resolve_hours", "satisfaction_rate",
            "overdue"} <= set(league[CUIZHU])
    assert stats(estate=CUIZHU).json()["estates"] == []  # one estate: nothing side by side
    assert stats(street="别的街道").status_code == 400
    html = requests.get(f"{server}/stats", params={"street": "龙溪街道"}, timeout=30).text
    assert 'id="table-estates"' in html and CUIZHU in html


def test_an_estate_may_hold_its_market_on_its_own_day(peer: WeChatPeer, app: Flask,
                                                      tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    with transaction(app.extensions["linli"].sessions) as session:
        session.add(EstateMarket(estate_id=estate_id(app, CUIZHU), day_of_month=20, place="翠竹苑北门广场",
                                 services=json.dumps(["理发"], ensure_ascii=False)))
    peer.say("3栋楼道灯不亮了", openid="oCui")
    peer.say("2", openid="oCui")
    theirs = peer.say("这个月市集几号", openid="oCui") or ""
    assert "20" in theirs and "翠竹苑北门广场" in theirs and "理发" in theirs
    ours = peer.say("这个月市集几号", openid="oGarden") or ""  # estate not known yet: [market] itself
    assert "翠竹苑北门广场" not in ours


def test_a_notice_from_one_estates_staff_reaches_only_its_residents(
        peer: WeChatPeer, app: Flask, tmp_path: Path, fake_wechat: FakeWeChat) -> None:
    second_estate(app, tmp_path)
    for openid, choice in (("oCuiSub", "2"), ("oGardenSub", "1")):
        peer.say("3栋楼道灯不亮了", openid=openid)
        peer.say(choice, openid=openid)
        peer.say("订阅提醒", openid=openid)
    cli(app, "staff", "add", "--id", "oCuiBoss", "--channel", "wechat", "--name", "翠竹物业经理",
        "--role", "property", "--estate", CUIZHU)
    sent = peer.say("通知 全体 周六上午停水检修", openid="oCuiBoss") or ""
    assert "1位订阅居民" in sent  # 翠竹苑's one subscriber, not 邻里花园's
    wait_for(lambda: "停水" in told(fake_wechat, "oCuiSub"))
    assert "停水" not in told(fake_wechat, "oGardenSub")


def test_an_open311_request_given_by_lat_long_goes_to_the_nearest_estate(
        app: Flask, server: str, tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    key = app.extensions["linli"].config.open311.api_key
    response = requests.post(f"{server}/open311/v2/requests.json", timeout=30, data={
        "api_key": key, "service_code": "lighting", "lat": str(CUIZHU_PLACE[0]),
        "long": str(CUIZHU_PLACE[1]), "description": "路灯不亮"})
    assert response.status_code == 201, response.text
    [ticket] = tickets(app)
    assert ticket.estate_id == estate_id(app, CUIZHU)


def test_each_estate_has_its_own_cap_on_wrong_phone_digits(peer: WeChatPeer, app: Flask,
                                                           tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    for n in range(20):  # 20 wrong guesses at 邻里花园's homes reach its cap for the day
        peer.say(f"绑定 5栋1单元{n // 2 + 1}0{n % 2 + 1} 0000", openid=f"oGuesser{n}")
    peer.say("绑定 3栋1单元101 0001", openid="oCuiOwner")
    assert "已" in (peer.say("2", openid="oCuiOwner") or "")
    with app.extensions["linli"].sessions() as session:
        owner = session.scalar(select(Resident).where(Resident.openid == "oCuiOwner"))
        garden = session.scalar(select(Resident).where(Resident.openid == "oGuesser19"))
        assert owner.verified  # 翠竹苑's register is still checked
        assert not garden.verified


@pytest.mark.parametrize("word", [c.word for c in STAFF_COMMANDS if c.reach in ("ticket", "home")])
def test_staff_of_one_estate_can_do_nothing_to_anothers_tickets_or_homes(
        word: str, peer: WeChatPeer, app: Flask, tmp_path: Path) -> None:
    """Every ticket and home command from the registry, by the 邻里花园 committee (who covers all of
    邻里花园) against 翠竹苑's ticket and a 翠竹苑 binding: refused or not found, nothing changed."""
    second_estate(app, tmp_path)
    cli(app, "staff", "add", "--id", "oGardenBoss", "--channel", "wechat", "--name", "花园主任",
        "--role", "estate", "--estate", "邻里花园")
    peer.say("3栋楼道灯不亮了", openid="oCui")
    assert "#1" in (peer.say("2", openid="oCui") or "")
    peer.say("绑定 3栋2单元101 租户", openid="oCuiTenant")
    assert "等待" in (peer.say("2", openid="oCuiTenant") or "")
    command = next(c for c in STAFF_COMMANDS if c.word == word)
    assert "#1" not in (peer.say("待办", openid="oGardenBoss") or "")  # not even in their queue
    before = snapshot(app)
    target = "#1 #1" if command.reach == "ticket" else "3栋2单元101"
    reply = peer.say(f"{word} {target} 说明", openid="oGardenBoss") or ""
    if command.reach == "ticket":
        assert "未做任何改动" in reply, reply
    assert snapshot(app) == before


def test_an_overdue_ticket_climbs_within_its_estate_and_community(
        peer: WeChatPeer, app: Flask, tmp_path: Path, clock, fake_wechat: FakeWeChat) -> None:
    second_estate(app, tmp_path)
    other = tmp_path / "guixiang.csv"
    other.write_text(REGISTER, encoding="utf-8")
    cli(app, "import-households", str(other), "--estate", "桂香园", "--community", "另一社区")
    for user, role, where in (("cui-boss", "estate", ["--estate", CUIZHU]),
                              ("garden-boss", "estate", ["--estate", "邻里花园"]),
                              ("heshun", "community", ["--community", "和顺社区"]),
                              ("other-community", "community", ["--community", "另一社区"]),
                              ("jiedao", "street", [])):
        cli(app, "staff", "add", "--id", user, "--channel", "wecom", "--name", user, "--role", role, *where)
    peer.say("3栋楼道灯不亮了", openid="oCui")
    assert "#1" in (peer.say("2", openid="oCui") or "")
    for level in ("物业", "小区", "社区", "街道"):
        clock.advance(hours=25)  # past the level's fresh deadline, unclaimed
        cli(app, "jobs", "run", "sla_sweep")
        outbox.deliver_due(app.extensions["linli"])  # what the sweep queued, as the sender would
        wait_for(lambda: any(f"已升级到{level}" in card for _user, card in cards(fake_wechat)))
    climbed = {user for user, card in cards(fake_wechat) if "已升级到" in card}
    assert climbed == {"cui-desk", "cui-boss", "heshun", "jiedao"}  # never 邻里花园's or 另一社区's
    assert tickets(app)[0].level == "street"


def test_flask_stats_prints_one_estates_figures(peer: WeChatPeer, app: Flask, tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    peer.say("3栋楼道灯不亮了", openid="oCui")
    peer.say("2", openid="oCui")
    peer.say("3栋垃圾桶满了没人收", openid="oGarden")
    peer.say("1", openid="oGarden")
    with app.app_context():
        assert json.loads(cli(app, "stats", "--json", "--estate", CUIZHU))["tickets"]["total"] == 1
        assert json.loads(cli(app, "stats", "--json"))["tickets"]["total"] == 2
        result = app.test_cli_runner().invoke(args=["stats", "--estate", "无此小区"])
    assert result.exit_code != 0 and "无此小区" in result.output


def test_a_home_only_another_estate_has_is_bound_there(peer: WeChatPeer, app: Flask,
                                                       tmp_path: Path) -> None:
    second_estate(app, tmp_path)
    peer.say("3栋楼道灯不亮了", openid="oMover")
    peer.say("2", openid="oMover")  # said 翠竹苑 for a report, but lives in 邻里花园's 16栋
    assert "16栋1单元101" in (peer.say("绑定 16栋1单元101", openid="oMover") or "")
    with app.extensions["linli"].sessions() as session:
        mover = session.scalar(select(Resident).where(Resident.openid == "oMover"))
        assert mover.home.unit.building.estate.name == "邻里花园"
