"""Votes: the Article 278 count at its edges and against a brute-force recount, casting by chat,
`vote show --json`, closing on time, and a whole owners' vote on the demo estate."""
from __future__ import annotations

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from fractions import Fraction

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import outbox
from bot import votes as vote_chat
from models import Home, OutboxMessage, Resident
from models.votes import PLAIN, RegisterHome, revoke_by, tally
from tests.conftest import Clock, cli, make_app
from tests.factories import WeChatPeer
from tests.test_staff import GRID_OPENID, register, resident_messages
from tests.fakes import FakeWeChat, Served


def homes(*specs: tuple[str, int | None]) -> list[RegisterHome]:
    """Homes from (area, owner id or None for an unsold home)."""
    return [RegisterHome(i, Decimal(area), owner, owner is None)
            for i, (area, owner) in enumerate(specs, 1)]


def option(result, name: str):  # type: ignore[no-untyped-def]
    return next(o for o in result.options if o.option == name)


# ---- the count -------------------------------------------------------------

def test_exactly_two_thirds_turnout_is_a_quorum_and_just_less_is_not() -> None:
    register = homes(("100", 1), ("100", 2), ("100", 3))
    result = tally("owners_ordinary", list(PLAIN), register, {"owner:1": "agree", "owner:2": "agree"})
    assert (result.area_turnout, result.head_turnout) == (Fraction(2, 3), Fraction(2, 3))
    assert result.quorum_met
    assert result.passed
    short = homes(("100", 1), ("100", 2), ("100.01", 3))  # area turnout 200/300.01 < 2/3
    result = tally("owners_ordinary", list(PLAIN), short, {"owner:1": "agree", "owner:2": "agree"})
    assert result.head_turnout == Fraction(2, 3) and not result.quorum_met and not result.passed


def test_exactly_half_fails_an_ordinary_matter_and_just_over_passes() -> None:
    register = homes(("50", 1), ("50", 2), ("50", 3), ("50", 4))
    half = tally("owners_ordinary", list(PLAIN), register,
                 {"owner:1": "agree", "owner:2": "agree", "owner:3": "oppose", "owner:4": "oppose"})
    assert option(half, "agree").head_share == Fraction(1, 2) and not half.passed
    uneven = homes(("50.01", 1), ("50", 2), ("50", 3), ("49.99", 4), ("50", 5))
    over = tally("owners_ordinary", list(PLAIN), uneven,
                 {"owner:1": "agree", "owner:2": "agree", "owner:5": "agree", "owner:3": "oppose"})
    assert option(over, "agree").head_share == Fraction(3, 4) and over.passed


def test_exactly_three_quarters_passes_a_major_matter_and_just_less_fails() -> None:
    register = homes(*[("80", n) for n in range(1, 5)])
    ballots = {"owner:1": "agree", "owner:2": "agree", "owner:3": "agree", "owner:4": "oppose"}
    result = tally("owners_major", list(PLAIN), register, ballots)
    assert (option(result, "agree").area_share, option(result, "agree").head_share) == \
        (Fraction(3, 4), Fraction(3, 4))
    assert result.passed and option(result, "agree").passed
    lighter = homes(("79.99", 1), ("80", 2), ("80", 3), ("80", 4))
    assert not tally("owners_major", list(PLAIN), lighter, ballots).passed


def test_one_owner_of_three_homes_counts_once_with_all_their_area() -> None:
    register = homes(("70", 7), ("80", 7), ("90", 7), ("100", 8), ("110", 9))
    result = tally("owners_ordinary", list(PLAIN), register, {"owner:7": "agree"})
    assert (result.eligible_heads, result.eligible_area) == (3, Decimal("450"))
    assert (result.voted_heads, result.voted_area) == (1, Decimal("240"))
    assert option(result, "agree").heads == 1


def test_all_unsold_homes_count_once_and_abstaining_takes_part_but_never_passes() -> None:
    register = homes(("100", None), ("100", None), ("100", None), ("100", 1), ("100", 2))
    result = tally("owners_ordinary", list(PLAIN), register,
                   {"developer": "abstain", "owner:1": "agree", "owner:2": "agree"})
    assert (result.eligible_heads, result.voted_heads, result.voted_area) == (3, 3, Decimal("500"))
    assert result.quorum_met and not result.passed  # agree: 2/3 of heads but 2/5 of the area
    assert not option(result, "abstain").passed and option(result, "abstain").area == Decimal("300")


def test_candidates_are_each_counted_the_same_way() -> None:
    register = homes(*[("100", n) for n in range(1, 7)])
    ballots = {"owner:1": "甲", "owner:2": "甲", "owner:3": "甲", "owner:4": "甲", "owner:5": "乙"}
    result = tally("owners_ordinary", ["甲", "乙", "abstain"], register, ballots)
    assert [o.passed for o in result.options] == [True, False, False] and result.passed


def test_a_consultation_is_won_by_plurality_and_a_tie_wins_nothing() -> None:
    register = homes(*[("90", n) for n in range(1, 6)])
    result = tally("consultation", ["方案一", "方案二", "abstain"], register,
                   {"home:1": "方案一", "home:2": "方案二", "home:3": "方案二", "home:4": "abstain"})
    assert [o.passed for o in result.options] == [False, True, False] and result.passed
    tie = tally("consultation", list(PLAIN), register, {"home:1": "agree", "home:2": "oppose"})
    assert not tie.passed


def test_revocation_date_is_a_year_after_closing() -> None:
    from datetime import date
    assert revoke_by(date(2026, 12, 1)) == date(2027, 12, 1)
    assert revoke_by(date(2028, 2, 29)) == date(2029, 2, 28)


def brute_force(kind: str, choices: list[str], register: list[RegisterHome],
                ballots: dict[str, str]) -> dict[str, object]:
    """Recount home by home, by other means than the code under test."""
    def key(home: RegisterHome) -> str:
        if kind == "consultation":
            return f"home:{home.home_id}"
        return "developer" if home.unsold else f"owner:{home.owner_id}"

    people = {key(h) for h in register}
    area = {p: sum(h.area for h in register if key(h) == p) for p in people}
    voters = [p for p in people if ballots.get(p) in choices]
    voted_area = sum((area[p] for p in voters), Decimal(0))
    total = sum((h.area for h in register), Decimal(0))
    quorum = 3 * voted_area >= 2 * total and 3 * len(voters) >= 2 * len(people)
    result: dict[str, object] = {"heads": len(people), "voted": len(voters), "quorum": quorum}
    for c in choices:
        backers = [p for p in voters if ballots[p] == c]
        a, n = sum((area[p] for p in backers), Decimal(0)), len(backers)
        if kind == "owners_major":
            ok = 4 * a >= 3 * voted_area and 4 * n >= 3 * len(voters)
        else:
            ok = 2 * a > voted_area and 2 * n > len(voters)
        result[c] = (a, n, quorum and c != "abstain" and ok and len(voters) > 0)
    return result


@st.composite
def elections(draw: st.DrawFn) -> tuple[str, list[str], list[RegisterHome], dict[str, str]]:
    kind = draw(st.sampled_from(["owners_ordinary", "owners_major"]))
    choices = draw(st.sampled_from([list(PLAIN), ["甲", "乙", "丙", "abstain"]]))
    count = draw(st.integers(1, 40))
    register = [RegisterHome(i, Decimal(draw(st.integers(3000, 20000))) / 100,
                             owner := draw(st.one_of(st.none(), st.integers(1, 15))), owner is None)
                for i in range(count)]
    keys = sorted({"developer" if h.unsold else f"owner:{h.owner_id}" for h in register})
    voting = draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    return kind, choices, register, {k: draw(st.sampled_from(choices)) for k in voting}


@settings(max_examples=300, deadline=None)
@given(elections())
def test_tally_equals_a_brute_force_recount(election) -> None:  # type: ignore[no-untyped-def]
    kind, choices, register, ballots = election
    result = tally(kind, choices, register, ballots)
    expected = brute_force(kind, choices, register, ballots)
    assert (result.eligible_heads, result.voted_heads, result.quorum_met) == \
        (expected["heads"], expected["voted"], expected["quorum"])
    for o in result.options:
        assert (o.area, o.heads, o.passed) == expected[o.option]


# ---- by chat and command line ---------------------------------------------

def create_vote(app: Flask, *args: str, closes: str = "2026-12-05T18:00") -> int:
    """Create a vote with the CLI; return its number from the `#N` last line."""
    last = cli(app, "vote", "create", "--closes", closes, *args).strip().splitlines()[-1]
    assert last.startswith("#")
    return int(last[1:])


def show(app: Flask, number: int) -> dict:  # type: ignore[type-arg]
    return json.loads(cli(app, "vote", "show", str(number), "--json"))


def owners(app: Flask) -> list[tuple[str, str, list[Home]]]:
    """(the phone's last four digits, the first home's label "b栋u单元r", all their homes) for
    every demo owner."""
    with app.extensions["linli"].sessions() as session:
        found: dict[int, list[Home]] = {}
        for home in session.scalars(select(Home).where(Home.owner_id.is_not(None)).order_by(Home.id)):
            home.label, home.owner  # noqa: B018  load them
            found.setdefault(home.owner_id, []).append(home)
    return [(h[0].owner.phone_tail, h[0].label, h) for h in found.values()]


def bind(peer: WeChatPeer, openid: str, label: str, phone: str) -> None:
    reply = peer.say(f"绑定 {label} {phone[-4:]}", openid=openid) or ""
    assert "绑定成功" in reply, reply


def test_json_shape_and_casting_forms(peer: WeChatPeer, app: Flask) -> None:
    number = create_vote(app, "--title", "续聘物业公司", "--kind", "owners_ordinary", "--item", "4")
    phone, label, _ = owners(app)[0]
    bind(peer, "oVoter", label, phone)
    reply = peer.say(f"投票 #{number} 同意", openid="oVoter") or ""
    assert "已记录" in reply and "同意" in reply and f"#{number}" in reply
    reply = peer.say(f"第{number}项弃权", openid="oVoter") or ""
    assert "改投" in reply and "同意" in reply and "弃权" in reply
    assert "无需重复" in (peer.say("我投弃权", openid="oVoter") or "")  # the only open vote
    data = show(app, number)
    assert list(data) == ["vote", "kind", "state", "eligible_area", "eligible_heads", "voted_area",
                          "voted_heads", "quorum_met", "options", "passed"]
    assert (data["vote"], data["kind"], data["state"], data["passed"]) == \
        (number, "owners_ordinary", "open", None)
    assert [o["option"] for o in data["options"]] == ["agree", "oppose", "abstain"]
    assert data["voted_heads"] == 1 and data["options"][2]["heads"] == 1
    assert isinstance(data["eligible_heads"], int) and "." in data["eligible_area"]
    Decimal(data["eligible_area"])  # a decimal string
    assert all(o["passed"] is None for o in data["options"])


def test_candidates_vote_by_number(peer: WeChatPeer, app: Flask) -> None:
    number = create_vote(app, "--title", "选举业委会主任", "--kind", "owners_ordinary", "--item", "3",
                         "--options", "候选人甲,候选人乙")
    phone, label, _ = owners(app)[1]
    bind(peer, "oElector", label, phone)
    assert "候选人乙" in (peer.say(f"#{number} 选2", openid="oElector") or "")
    assert "没有这个选项" in (peer.say(f"#{number} 选5", openid="oElector") or "")
    data = show(app, number)
    assert [(o["option"], o["heads"]) for o in data["options"]] == \
        [("候选人甲", 0), ("候选人乙", 1), ("abstain", 0)]


FORMULAS = ("=HYPERLINK(\"http://evil.example\";\"看\")", "@SUM(1)", "+1+2", "-2+3", "＝1+1")


def test_an_export_never_hands_a_spreadsheet_a_formula(peer: WeChatPeer, app: Flask) -> None:
    """Issue 18, item 9: a candidate's name is enough to run a formula on the committee's computer."""
    number = create_vote(app, "--title", "=选举业委会主任", "--kind", "owners_ordinary", "--item", "3",
                         "--options", ",".join(FORMULAS))
    for i, (phone, label, _) in enumerate(owners(app)[:len(FORMULAS)]):
        bind(peer, f"oFormula{i}", label, phone)
        assert "已记录" in (peer.say(f"#{number} 选{i + 1}", openid=f"oFormula{i}") or "")
    rows = list(csv.reader(io.StringIO(cli(app, "vote", "export", str(number)))))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.lstrip(" ").startswith(("=", "+", "-", "@", "＝"))]
    assert sorted(row[4] for row in rows[1:]) == sorted("'" + f for f in FORMULAS)  # shown as text
    assert all(Decimal(row[3]) > 0 for row in rows[1:])  # numbers stay numbers


def resident_id(app: Flask, openid: str) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalars(select(Resident.id).where(Resident.openid == openid)).one()


def test_who_may_vote(peer: WeChatPeer, app: Flask) -> None:
    number = create_vote(app, "--title", "筹集维修资金", "--kind", "owners_major", "--item", "6")
    assert "绑定" in (peer.say(f"投票 #{number} 同意", openid="oNobody") or "")
    peer.say("绑定 5栋2单元1203 租户", openid="oTenant")
    assert "租户不能" in (peer.say(f"投票 #{number} 同意", openid="oTenant") or "")
    peer.say("绑定 5栋2单元1203", openid="oUnverified")
    assert "认证" in (peer.say(f"投票 #{number} 同意", openid="oUnverified") or "")
    consult = create_vote(app, "--title", "花园改造", "--kind", "consultation",
                          "--options", "方案一,方案二")
    # counted per home: a binding nobody has verified (anyone can claim a home) never votes
    assert "核实" in (peer.say(f"投票 #{consult} 选1", openid="oTenant") or "")
    assert "核实" in (peer.say(f"投票 #{consult} 选2", openid="oUnverified") or "")
    register(app)  # 王网格 covers buildings 1-5 and confirms the tenant
    assert "已确认" in (peer.say(f"确认绑定 5栋2单元1203 #{resident_id(app, 'oTenant')}",
                                 openid=GRID_OPENID) or "")
    assert "方案一" in (peer.say(f"投票 #{consult} 选1", openid="oTenant") or "")  # tenants may
    assert show(app, number)["voted_heads"] == 0 and show(app, consult)["voted_heads"] == 1


def test_unknown_unopened_closed_and_ambiguous_votes(peer: WeChatPeer, app: Flask,
                                                     clock: Clock) -> None:
    phone, label, _ = owners(app)[2]
    bind(peer, "oAsker", label, phone)
    assert "没有正在进行" in (peer.say("投票 同意", openid="oAsker") or "")
    assert "没有找到投票 #9" in (peer.say("投票 #9 同意", openid="oAsker") or "")
    later = create_vote(app, "--title", "晚些开始", "--kind", "owners_ordinary",
                        "--opens", "2026-12-01T09:00")
    assert "还没开始" in (peer.say(f"投票 #{later} 同意", openid="oAsker") or "")
    first = create_vote(app, "--title", "甲事项", "--kind", "owners_ordinary",
                        closes="2026-11-29T18:00")
    second = create_vote(app, "--title", "乙事项", "--kind", "owners_ordinary")
    reply = peer.say("投票 同意", openid="oAsker") or ""
    assert "请写明编号" in reply and f"#{first}" in reply and f"#{second}" in reply
    clock.advance(days=2)  # the first one closed at 18:00 yesterday; no job has run yet
    assert "已于" in (peer.say(f"投票 #{first} 反对", openid="oAsker") or "")
    assert "乙事项" in (peer.say("投票 反对", openid="oAsker") or "")  # now only one is open


def test_item_and_kind_must_agree(app: Flask) -> None:
    for kind, item in (("owners_ordinary", "7"), ("owners_major", "4"), ("consultation", "3")):
        result = app.test_cli_runner().invoke(args=[
            "vote", "create", "--title", "x", "--kind", kind, "--item", item,
            "--closes", "2026-12-05T18:00"])
        assert result.exit_code != 0 and "item" in result.output
    result = app.test_cli_runner().invoke(args=[
        "vote", "create", "--title", "x", "--kind", "owners_major", "--closes", "2026-11-01T18:00"])
    assert result.exit_code != 0 and "closing time" in result.output


def test_an_owner_of_two_homes_votes_once_for_both(peer: WeChatPeer, app: Flask) -> None:
    phone, label, their = next(o for o in owners(app) if len(o[2]) == 2)
    number = create_vote(app, "--title", "续聘物业", "--kind", "owners_ordinary")
    bind(peer, "oTwoHomes", their[1].label, phone)  # binding either home speaks for both
    reply = peer.say(f"投票 #{number} 同意", openid="oTwoHomes") or ""
    assert "2 套房屋" in reply
    data = show(app, number)
    assert (data["voted_heads"], data["voted_area"]) == \
        (1, str(sum((h.area_m2 for h in their), Decimal(0))))


def test_co_owners_share_one_vote_and_the_last_choice_counts(peer: WeChatPeer, app: Flask) -> None:
    phone, label, _ = owners(app)[3]
    number = create_vote(app, "--title", "改建车棚", "--kind", "owners_major", "--item", "7")
    bind(peer, "oHusband", label, phone)
    bind(peer, "oWife", label, phone)
    peer.say(f"投票 #{number} 同意", openid="oHusband")
    reply = peer.say(f"投票 #{number} 反对", openid="oWife") or ""
    assert "改投" in reply and "同意" in reply
    data = show(app, number)
    assert data["voted_heads"] == 1 and [o["heads"] for o in data["options"]] == [0, 1, 0]
    assert "反对" in (peer.say(f"第{number}项表决结果", openid="oHusband") or "")


def test_closing_job_reminds_once_closes_once_and_announces(peer: WeChatPeer, app: Flask,
                                                           clock: Clock,
                                                           fake_wechat: FakeWeChat) -> None:
    people = owners(app)[:3]
    for n, (phone, label, _) in enumerate(people):
        bind(peer, f"oJob{n}", label, phone)
    number = create_vote(app, "--title", "更换物业", "--kind", "owners_ordinary",
                         closes="2026-11-30T18:00")
    peer.say(f"投票 #{number} 同意", openid="oJob0")
    services = app.extensions["linli"]
    clock.advance(hours=33)  # 19:00 on the 29th: within the last day
    for _ in range(2):
        vote_chat.vote_close(services)
    outbox.deliver_due(services)
    assert not any("提醒" in m for m in resident_messages(fake_wechat, "oJob0"))  # voted already
    assert sum("提醒" in m for m in resident_messages(fake_wechat, "oJob1")) == 1
    peer.say(f"投票 #{number} 反对", openid="oJob1")  # before the deadline: counted
    clock.advance(days=1)
    assert "已于" in (peer.say(f"投票 #{number} 同意", openid="oJob2") or "")  # late: refused
    for _ in range(2):
        vote_chat.vote_close(services)
    outbox.deliver_due(services)
    data = show(app, number)
    assert (data["state"], data["voted_heads"], data["quorum_met"], data["passed"]) == \
        ("closed", 2, False, False)
    assert all(o["passed"] is False for o in data["options"])
    with services.sessions() as session:  # queued once each; held while their 48 hours are over
        results = session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"vote:{number}:result:resident:%"))).all()
    assert sorted(m.recipient for m in results) == ["oJob0", "oJob1"]
    assert all("已截止" in m.body and "未达到法定参与比例" in m.body for m in results)
    groups = [b["markdown"]["content"] for b in fake_wechat.sent("webhook/send")]
    assert sum("已截止" in g for g in groups) == 1 and sum("更换物业" in g for g in groups) == 2
    text = cli(app, "vote", "show", str(number))
    assert "2027-11-30" in text and "quorum: missed" in text and "2/" in text


# ---- done when: a whole owners' vote on the demo estate ---------------------

def recount_from_export(app: Flask, export: str) -> dict:  # type: ignore[type-arg]
    """Recount from the ballots CSV and the register alone, without models.votes."""
    with app.extensions["linli"].sessions() as session:
        register = {f"{h.unit.building.number}-{h.unit.number}-{h.room}": h
                    for h in session.scalars(select(Home))}
        people = {"developer" if h.unsold else f"owner:{h.owner_id}" for h in register.values()}
        total = sum((h.area_m2 for h in register.values()), Decimal(0))
    ballots = list(csv.DictReader(io.StringIO(export)))
    area = {b["household"]: sum((register[x].area_m2 for x in b["homes"].split()), Decimal(0))
            for b in ballots}
    voted = sum(area.values(), Decimal(0))
    quorum = 3 * voted >= 2 * total and 3 * len(ballots) >= 2 * len(people)
    options = []
    for choice in PLAIN:
        mine = [b["household"] for b in ballots if b["choice"] == choice]
        backing = sum((area[h] for h in mine), Decimal(0))
        options.append({"option": choice, "area": str(backing), "heads": len(mine),
                        "passed": quorum and choice != "abstain" and 2 * backing > voted
                        and 2 * len(mine) > len(ballots)})
    return {"eligible_area": str(total), "eligible_heads": len(people), "voted_area": str(voted),
            "voted_heads": len(ballots), "quorum_met": quorum, "options": options,
            "passed": options[0]["passed"]}


# The longest test (720 owners bind and vote by chat, a minute a database): on PostgreSQL alone,
# production's database. Binding and every ballot form by chat are tested on both databases by the
# shorter tests here; the closed vote's tally is the Python count over the frozen register either way.
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_demo_estate_vote_by_chat_matches_a_recount_from_the_export(peer: WeChatPeer,
                                                                     app: Flask) -> None:
    number = create_vote(app, "--title", "续聘物业服务企业", "--kind", "owners_ordinary",
                         "--item", "4")
    everyone = owners(app)
    voting = everyone[:720]  # about 70% of the owners: enough for the quorum
    forms = ("投票 #{n} 同意", "#{n} 同意", "第{n}项赞成", "投票 #{n} 反对", "第{n}项弃权")
    for i, (phone, label, _) in enumerate(voting):
        openid = f"oDemoOwner{i:04d}"
        bind(peer, openid, label, phone)
        if i % 25 == 0:  # some change their minds; the last choice counts
            assert "已记录" in (peer.say(f"投票 #{number} 反对", openid=openid) or "")
        reply = peer.say(forms[i * 7 % len(forms)].format(n=number), openid=openid) or ""
        assert "已记录" in reply or "改投" in reply or "无需重复" in reply, reply
    cli(app, "vote", "close", str(number))
    shown = show(app, number)
    export = cli(app, "vote", "export", str(number))
    expected = recount_from_export(app, export)
    assert {k: shown[k] for k in expected} == expected
    assert shown["voted_heads"] == 720  # one per owner, whatever they own
    assert (shown["state"], shown["quorum_met"], shown["passed"]) == ("closed", True, True)


def test_opening_is_announced_once_to_those_who_may_vote(peer: WeChatPeer, app: Flask,
                                                         clock: Clock,
                                                         fake_wechat: FakeWeChat) -> None:
    phone, label, _ = owners(app)[4]
    bind(peer, "oAnnounced", label, phone)
    peer.say("绑定 5栋2单元1203 租户", openid="oTenantToo")
    number = create_vote(app, "--title", "重建围墙", "--kind", "owners_major", "--item", "7",
                         "--opens", "2026-11-29T09:00")
    services = app.extensions["linli"]
    vote_chat.vote_close(services)
    clock.advance(days=1)
    vote_chat.vote_close(services)
    vote_chat.vote_close(services)
    with services.sessions() as session:
        notices = session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"vote:{number}:open:%"))).all()
    assert sorted(m.recipient for m in notices) == ["oAnnounced", "residents"]  # not the tenant
    assert all("重建围墙" in m.body and f"投票 #{number} 同意" in m.body for m in notices)


def test_a_closed_votes_result_survives_a_later_reimport(peer: WeChatPeer, app: Flask,
                                                         tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Re-importing the register after closing changes nothing in the published result."""
    number = create_vote(app, "--title", "选聘物业", "--kind", "owners_ordinary", "--item", "4")
    phone, label, homes = owners(app)[0]
    bind(peer, "oFrozen", label, phone)
    peer.say(f"投票 #{number} 同意", openid="oFrozen")
    cli(app, "vote", "close", str(number))
    before = show(app, number)
    home = homes[0]
    with app.extensions["linli"].sessions() as session:
        home = session.get(Home, home.id)
        building, unit, room = home.unit.building.number, home.unit.number, home.room
    csv_file = tmp_path / "homes.csv"
    csv_file.write_text("building,unit,room,area_m2,owner_name,phone\n"
                        f"{building},{unit},{room},999.99,新业主,13800000000\n", encoding="utf-8")
    cli(app, "import-households", str(csv_file))
    assert show(app, number) == before


def test_each_reply_says_whose_homes_the_ballot_speaks_for_to_the_cent(peer: WeChatPeer,
                                                                       app: Flask) -> None:
    """An owner's two homes, the developer's unsold homes and one home of a consultation, with
    the replies word for word: recorded, changed (from what), and the same choice again."""
    from bot.replies.votes import (VOTE_CHANGED, VOTE_COVERS, VOTE_COVERS_DEVELOPER, VOTE_RECORDED,
                                   VOTE_SAME)
    number = create_vote(app, "--title", "续聘物业", "--kind", "owners_ordinary")
    phone, _label, their = next(o for o in owners(app) if len(o[2]) == 2)
    bind(peer, "oTwoHomes", their[0].label, phone)
    covers = VOTE_COVERS.format(count=2, area=sum((h.area_m2 for h in their), Decimal(0)))
    assert peer.say(f"投票 #{number} 同意", openid="oTwoHomes") == VOTE_RECORDED.format(
        number=number, title="续聘物业", choice="同意", covers=covers, closes="2026-12-05 18:00")
    assert peer.say(f"投票 #{number} 反对", openid="oTwoHomes") == VOTE_CHANGED.format(
        number=number, title="续聘物业", previous="同意", choice="反对", covers=covers)
    assert peer.say(f"投票 #{number} 反对", openid="oTwoHomes") == VOTE_SAME.format(
        number=number, choice="反对")

    peer.say("你好", openid="oDeveloper")  # the developer's representative, confirmed by staff
    with app.extensions["linli"].sessions() as session:
        unsold = list(session.scalars(select(Home).where(Home.unsold.is_(True))))
        developer = session.scalar(select(Resident).where(Resident.openid == "oDeveloper"))
        developer.home_id, developer.role, developer.verified = unsold[-1].id, "owner", True
        session.commit()
    assert len(unsold) > 1
    area = sum((h.area_m2 for h in unsold), Decimal(0))
    assert peer.say(f"投票 #{number} 弃权", openid="oDeveloper") == VOTE_RECORDED.format(
        number=number, title="续聘物业", choice="弃权", closes="2026-12-05 18:00",
        covers=VOTE_COVERS_DEVELOPER.format(count=len(unsold), area=area))
    data = show(app, number)
    assert (data["voted_heads"], data["options"][2]["area"]) == (2, str(area))

    consult = create_vote(app, "--title", "花园改造", "--kind", "consultation")
    assert peer.say(f"投票 #{consult} 同意", openid="oTwoHomes") == VOTE_RECORDED.format(
        number=consult, title="花园改造", choice="同意", covers="", closes="2026-12-05 18:00")
    assert show(app, consult)["voted_heads"] == 1  # one home: a consultation is per home


def test_co_residents_voting_at_once_leave_one_ballot_and_each_is_told_truly_what_it_replaced(
        database, fake_wechat: FakeWeChat, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """Two residents of one home write to two workers at the same moment, round after round: the
    household keeps one ballot, every change is counted, the later choice stands, and each reply
    names the choice it really replaced (on PostgreSQL the later one reads again)."""
    from bot.replies.votes import VOTE_CHANGED, VOTE_RECORDED
    apps = [make_app(database, fake_wechat, clock) for _ in range(2)]
    served = [Served(a) for a in apps]
    try:
        conf = apps[0].extensions["linli"].config.wechat
        peers = [WeChatPeer(s.url, conf.token, conf.app_id, clock=clock) for s in served]
        number = create_vote(apps[0], "--title", "花园改造", "--kind", "consultation",
                             "--options", "甲,乙,丙,丁,戊,己")
        phone, label, _ = owners(apps[0])[3]
        bind(peers[0], "oHusband", label, phone)
        bind(peers[1], "oWife", label, phone)
        together = threading.Barrier(2, timeout=60)

        def vote(who: tuple[WeChatPeer, str, str]) -> str | None:
            peer, openid, choice = who
            together.wait()
            return peer.say(f"投票 #{number} {choice}", openid=openid)

        def said(before: str | None, choice: str) -> str:
            if before is None:
                return VOTE_RECORDED.format(number=number, title="花园改造", choice=choice,
                                            covers="", closes="2026-12-05 18:00")
            return VOTE_CHANGED.format(number=number, title="花园改造", previous=before,
                                       choice=choice, covers="")

        standing = None
        names = "甲乙丙丁戊己"
        for his, hers in (("甲", "乙"), ("丙", "丁"), ("戊", "己")):
            with ThreadPoolExecutor(max_workers=2) as pool:  # as announced: 选1 is 甲
                replies = set(pool.map(vote, [(peers[0], "oHusband", f"选{names.index(his) + 1}"),
                                              (peers[1], "oWife", f"选{names.index(hers) + 1}")]))
            ballots = ballot_rows(apps[0], number)
            assert len(ballots) == 1, ballots
            latest = ballots[0][0]
            first = hers if latest == his else his
            assert latest in (his, hers)
            assert replies == {said(standing, first), said(first, latest)}, replies
            standing = latest
        assert ballots[0][1] == 5  # inserted once, replaced five times
        heads = {o["option"]: o["heads"] for o in show(apps[0], number)["options"]}
        assert heads == {**dict.fromkeys([*names, "abstain"], 0), standing: 1}
    finally:
        for server in served:
            server.close()
        for app in apps:
            app.extensions["linli"].close()


def ballot_rows(app: Flask, number: int) -> list[tuple[str, int]]:
    from models import Ballot
    with app.extensions["linli"].sessions() as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(Ballot.choice, Ballot.changes).where(Ballot.vote_id == number))]


def test_a_ballot_changed_since_it_was_read_is_not_overwritten(peer: WeChatPeer, app: Flask,
                                                                clock: Clock) -> None:
    """What lets the reply be true: recording replaces only the ballot as it was read."""
    from models.votes import Vote, record
    number = create_vote(app, "--title", "花园改造", "--kind", "consultation")
    phone, label, their = owners(app)[3]
    bind(peer, "oHusband", label, phone)
    bind(peer, "oWife", label, phone)
    peer.say(f"投票 #{number} 同意", openid="oHusband")
    household = f"home:{their[0].id}"
    wife = resident_id(app, "oWife")
    with app.extensions["linli"].sessions() as session:
        vote = session.get(Vote, number)
        assert not record(session, vote, household, "oppose", wife, clock(), seen=None)  # as if unvoted
        assert not record(session, vote, household, "oppose", wife, clock(), seen=1)  # as if changed
        assert record(session, vote, household, "oppose", wife, clock(), seen=0)
        session.commit()
    assert ballot_rows(app, number) == [("oppose", 1)]
