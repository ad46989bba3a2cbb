"""Staff act only where they belong (issue 18, item 3).

A grid worker covering buildings 1-2 could reject a ticket in building 10, resolve and publish one
in building 7, and 确认绑定 a stranger as owner of a home in building 16, who then voted as an
owner. Here that worker tries every registered staff command — the list comes from the registry,
so a command added tomorrow (改类, 不是报修, ...) is tried too — against a ticket and a home outside
their coverage, a ticket above their level, and the whole estate; each is refused and nothing
changes. The same worker, in scope, is not refused.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from bot.commands import STAFF_COMMANDS, StaffCommand
from models import Ballot, OutboxMessage, Resident, Ticket, TicketEvent, Vote
from tests.conftest import cli
from tests.factories import WeChatPeer

WORKER = "oGridOneTwo"  # a grid worker on WeChat covering buildings 1-2
FAR_HOME = "16栋1单元101"
NEAR_HOME = "1栋1单元101"
REACHES = ("ticket", "home", "own", "estate")


def setup(app: Flask, peer: WeChatPeer) -> dict[str, int]:
    """The worker, tickets in and out of their buildings, one above their level, and two homes
    waiting for a binding decision (one in their buildings, one not)."""
    cli(app, "staff", "add", "--id", WORKER, "--channel", "wechat", "--name", "吴网格", "--role", "grid",
        "--buildings", "1-2")
    cli(app, "staff", "add", "--id", "oFarGrid", "--channel", "wechat", "--name", "郑网格",
        "--role", "grid", "--buildings", "3-16")
    assert "#1" in (peer.say("10栋电梯坏了", openid="oFarResident") or "")
    assert "#2" in (peer.say("1栋2单元楼道灯不亮", openid="oNearResident") or "")
    assert "#3" in (peer.say("2栋门口垃圾没人清理", openid="oOtherResident") or "")
    assert "物业" in (peer.say("升级 #3 需要物业派保洁", openid=WORKER) or "")  # now above their level
    assert "等待" in (peer.say(f"绑定 {FAR_HOME}", openid="oStranger") or "")
    assert "等待" in (peer.say(f"绑定 {NEAR_HOME}", openid="oNeighbour") or "")
    return {"far": 1, "near": 2, "above": 3}


def snapshot(app: Flask) -> dict[str, Any]:
    """Everything a staff command could change."""
    with app.extensions["linli"].sessions() as session:
        return {
            "tickets": [(t.id, t.state, t.level, t.assignee_id, t.category, t.public_text,
                         t.merged_into_id, t.resolve_due_at) for t in
                        session.scalars(select(Ticket).order_by(Ticket.id))],
            "events": session.scalar(select(func.count(TicketEvent.id))),
            "residents": [(r.id, r.home_id, r.role, r.verified) for r in
                          session.scalars(select(Resident).order_by(Resident.id))],
            "votes": session.scalar(select(func.count(Vote.id))),
            "ballots": session.scalar(select(func.count(Ballot.id))),
            "outbox": session.scalar(select(func.count(OutboxMessage.id))),
        }


def attempts(command: StaffCommand, numbers: dict[str, int]) -> list[str]:
    """The messages that try the command outside the worker's scope."""
    rest = "说明 全体 2026-12-10 截止 2026-12-10 18:00 方案一,方案二"
    if command.reach == "ticket":
        return [f"{command.word} #{numbers['far']} #{numbers['near']} {rest}",
                f"{command.word} #{numbers['above']} #{numbers['near']} {rest}",
                f"{command.word} #{numbers['near']} #{numbers['far']} {rest}"
                if command.word == "合并" else f"{command.word} #{numbers['far']} {rest}"]
    if command.reach == "home":
        return [f"{command.word} {FAR_HOME} {rest}"]
    return [f"{command.word} {rest}"]


def test_every_command_declares_what_it_acts_on() -> None:
    assert list(STAFF_COMMANDS), "no staff command is registered"
    for command in STAFF_COMMANDS:
        assert command.reach in REACHES, command.word


@pytest.mark.parametrize("word", [c.word for c in STAFF_COMMANDS])
def test_a_command_outside_the_workers_scope_is_refused_and_changes_nothing(
        word: str, peer: WeChatPeer, app: Flask) -> None:
    numbers = setup(app, peer)
    command = next(c for c in STAFF_COMMANDS if c.word == word)
    before = snapshot(app)
    for message in attempts(command, numbers):
        reply = peer.say(message, openid=WORKER) or ""
        if command.reach == "own":  # 待办 lists only what is theirs
            assert f"#{numbers['far']}" not in reply and f"#{numbers['above']}" not in reply, reply
        else:
            assert "未做任何改动" in reply, (message, reply)
        assert snapshot(app) == before, message


def test_in_scope_the_same_worker_is_not_refused(peer: WeChatPeer, app: Flask) -> None:
    numbers = setup(app, peer)
    assert "已接单" in (peer.say(f"接单 #{numbers['near']}", openid=WORKER) or "")
    assert "#2" in (peer.say("待办", openid=WORKER) or "")
    assert "已确认" in (peer.say(f"确认绑定 {NEAR_HOME}", openid=WORKER) or "")
    assert "已接单" in (peer.say(f"接单 #{numbers['far']}", openid="oFarGrid") or "")


def test_the_estate_wide_commands_need_the_level_and_the_whole_estate(
        peer: WeChatPeer, app: Flask) -> None:
    setup(app, peer)
    cli(app, "staff", "add", "--id", "oCommittee", "--channel", "wechat", "--name", "周主任",
        "--role", "estate")
    cli(app, "staff", "add", "--id", "oUncovered", "--channel", "wechat", "--name", "钱网格",
        "--role", "grid")  # covers the whole estate, but at grid level
    consult = "发起征集 花园改造 截止 2026-12-10 18:00 方案一,方案二"
    assert "只能由" in (peer.say(consult, openid="oUncovered") or "")
    assert "已发起意见征集" in (peer.say(consult, openid="oCommittee") or "")
    assert "订阅居民" in (peer.say("通知 全体 周六停水", openid="oCommittee") or "")


def test_a_stranger_confirmed_out_of_scope_never_votes(peer: WeChatPeer, app: Flask) -> None:
    """The issue's attack: the stranger's binding is refused, so their ballot never counts."""
    setup(app, peer)
    number = int(cli(app, "vote", "create", "--title", "续聘物业", "--kind", "owners_ordinary",
                     "--item", "4", "--closes", "2026-12-05T18:00").strip().splitlines()[-1][1:])
    assert "未做任何改动" in (peer.say(f"确认绑定 {FAR_HOME}", openid=WORKER) or "")
    assert "认证" in (peer.say(f"投票 #{number} 反对", openid="oStranger") or "")
    shown = json.loads(cli(app, "vote", "show", str(number), "--json"))
    assert shown["voted_heads"] == 0 and shown["voted_area"] == "0.00"
