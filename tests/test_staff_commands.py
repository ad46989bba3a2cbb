"""A staff command is one declaration: its help line, its parsing, who may run it and how the
residents' account treats its word all follow from `@staff_command` (bot/commands.py)."""
from __future__ import annotations

from typing import Iterator

import pytest
from flask import Flask

from bot.commands import STAFF_COMMANDS, Registry, StaffCommand, staff_command
from bot.replies.staff import NOT_STAFF, STAFF_NO_TICKET
from bot.turn import StaffTurn
from models import Ticket
from tests.conftest import cli
from tests.factories import WeChatPeer
from tests.wecom_factories import app_peer

REFUSED = "只有网格员可以试用。"


def grid_only(turn: StaffTurn, _ticket: Ticket | None) -> str | None:
    return None if turn.staff.role == "grid" else REFUSED


@pytest.fixture
def trial() -> Iterator[None]:
    """Two commands declared here and nowhere else, as a new handler module would."""

    @staff_command("试用", usage="试用 #N 说明", ticket=True, scope=grid_only)
    def try_ticket(turn: StaffTurn, ticket: Ticket, rest: str) -> str:
        return f"试用了 #{ticket.id}（{turn.actor}）：{rest}"

    @staff_command("试用全部", usage="试用全部 说明", staff_only=True)
    def try_all(turn: StaffTurn, rest: str) -> str:
        return f"全部试用：{rest}"

    yield
    STAFF_COMMANDS.remove("试用")
    STAFF_COMMANDS.remove("试用全部")


def register(app: Flask) -> None:
    cli(app, "staff", "add", "--id", "li", "--channel", "wecom", "--name", "李网格", "--role", "grid")
    cli(app, "staff", "add", "--id", "zhao", "--channel", "wecom", "--name", "赵师傅",
        "--role", "property")


def test_a_declared_command_is_listed_parsed_run_and_scoped(trial: None, peer: WeChatPeer,
                                                            app: Flask, server: str) -> None:
    register(app)
    wecom = app_peer(server, app)
    assert "#1" in (peer.say("3栋2单元电梯坏了") or "")
    listed = wecom.say("你好", userid="li") or ""
    assert listed.splitlines()[-2:] == ["试用 #N 说明", "试用全部 说明"]  # the help, in order
    assert wecom.say("试用 #1 看看", userid="li") == "试用了 #1（网格·李网格）：看看"
    assert wecom.say("试用全部 一下", userid="li") == "全部试用：一下"  # the longer word wins
    assert wecom.say("试用 #1 看看", userid="zhao") == REFUSED  # its scope, declared with it
    assert wecom.say("试用 #9", userid="li") == STAFF_NO_TICKET.format(number=9)
    assert wecom.say("试用 看看", userid="li") == STAFF_COMMANDS.help()  # no #N: the help
    # On the residents' account: a numbered or staff-only command is a staff command.
    assert peer.say("试用 #1 看看", openid="oStranger") == NOT_STAFF
    assert peer.say("试用全部 一下", openid="oStranger") == NOT_STAFF


def test_without_the_declaration_the_words_are_a_residents(peer: WeChatPeer, app: Flask,
                                                          server: str) -> None:
    register(app)
    assert "试用" not in STAFF_COMMANDS.help()
    assert peer.say("试用全部 一下", openid="oStranger") != NOT_STAFF
    assert app_peer(server, app).say("试用 #1", userid="li") == STAFF_COMMANDS.help()


def test_every_command_of_the_contract_is_declared_once() -> None:
    words = [command.word for command in STAFF_COMMANDS]
    assert words == ["接单", "回复", "完成", "升级", "退回", "合并", "待办", "改类", "不是报修",
                     "确认绑定", "拒绝绑定", "发起征集", "通知", "公示", "撤回公示", "照片"]
    assert STAFF_COMMANDS.staff_only_words() == ("确认绑定", "拒绝绑定", "发起征集", "撤回公示")


def test_a_word_is_declared_once_and_a_shared_line_follows_its_partner() -> None:
    registry = Registry()
    registry.add(StaffCommand("查看", "查看 #N", lambda turn, ticket, rest: "", ticket=True))
    with pytest.raises(ValueError, match="twice"):
        registry.add(StaffCommand("查看", "查看 #N", lambda turn, ticket, rest: ""))
    with pytest.raises(ValueError, match="not declared before"):
        registry.add(StaffCommand("不看", "不看 #N", lambda turn, ticket, rest: "", continues="看看"))
    registry.add(StaffCommand("不看", "不看 #N", lambda turn, ticket, rest: "", continues="查看",
                              help=" / 不看 #N"))
    assert registry.help() == "可用指令：\n查看 #N / 不看 #N"
