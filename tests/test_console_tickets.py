"""/console/tickets: the queue, and the actions as the chat commands (same events, same people told)."""
from __future__ import annotations

import pytest

import re

from flask import Flask
from sqlalchemy import select

from models import Staff, Ticket, TicketEvent
from models.console import AuditEntry
from tests.conftest import Clock
from tests.console_factories import ConsoleBrowser, add_operator
from tests.factories import OPENID, WeChatPeer
from tests.fakes import FakeWeChat
from tests.test_staff import app_messages, register, resident_messages, wait_for


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the console's ticket pages (the tickets themselves: test_staff, test_handoffs),
    the same on either database."""
    return sqlite_database

REPORT = "3栋2单元楼道灯坏了，晚上看不见"


def open_ticket(peer: WeChatPeer, text: str = REPORT, openid: str = OPENID) -> int:
    reply = peer.say(text, openid=openid) or ""
    assert "#" in reply, reply
    return int(re.search(r"#(\d+)", reply).group(1))


def events(app: Flask, number: int) -> list[tuple[str, str]]:
    with app.extensions["linli"].sessions() as session:
        return [(e.actor, e.action) for e in session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id))]


def signed_in(app: Flask, server: str, name: str, level: str, **options: str) -> ConsoleBrowser:
    add_operator(app, name, level, **options)
    browser = ConsoleBrowser(server)
    assert browser.sign_in(name).status_code == 302
    return browser


def test_claim_from_the_queue_tells_the_resident_as_the_chat_command_does(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    register(app)
    number = open_ticket(peer)
    browser = signed_in(app, server, "李网格", "grid", buildings="3", staff="li")
    queue = browser.get("/console/tickets")
    assert queue.status_code == 200 and f"#{number}" in queue.text and "照明" in queue.text
    done = browser.post(f"/console/tickets/{number}", {"do": "claim"})
    assert done.status_code == 303
    page = browser.get(f"/console/tickets/{number}")
    assert "已接单" in page.text and "处理中" in page.text
    with app.extensions["linli"].sessions() as session:
        ticket = session.get(Ticket, number)
        assert ticket.state == "claimed" and ticket.assignee.name == "李网格"
    assert events(app, number)[-1] == ("网格·李网格", "claimed")  # as 接单 #N in chat records it
    wait_for(lambda: any("李网格" in m for m in resident_messages(fake_wechat, OPENID)))
    with app.extensions["linli"].sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action != "sign_in")).one()
    assert (entry.operator_name, entry.action, entry.target) == ("李网格", "ticket:claim", f"#{number}")
    assert '"state": ["open", "claimed"]' in entry.changes


def test_reply_done_and_refusals_come_from_the_command_registry(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    register(app)
    number = open_ticket(peer)
    browser = signed_in(app, server, "李网格", "grid", buildings="3", staff="li")
    browser.post(f"/console/tickets/{number}", {"do": "reply", "text": "明天上午来修"})
    wait_for(lambda: any("明天上午来修" in m for m in resident_messages(fake_wechat, OPENID)))
    refused = browser.post(f"/console/tickets/{number}", {"do": "reject", "text": ""})
    assert refused.status_code == 303
    assert "退回原因" in browser.get(f"/console/tickets/{number}").text  # the command's own answer
    browser.post(f"/console/tickets/{number}", {"do": "done", "text": "已换灯泡"})
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, number).state == "resolved"
    assert [a for _, a in events(app, number)][-2:] == ["replied", "resolved"]


def test_reassign_hands_the_ticket_over_and_tells_both(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    register(app)
    number = open_ticket(peer)
    browser = signed_in(app, server, "孙主任", "estate", staff="sun")
    with app.extensions["linli"].sessions() as session:
        li_id = session.scalar(select(Staff.id).where(Staff.user_id == "li"))
    browser.post(f"/console/tickets/{number}", {"do": "reassign", "staff": li_id})
    with app.extensions["linli"].sessions() as session:
        ticket = session.get(Ticket, number)
        assert ticket.assignee.user_id == "li" and ticket.state == "claimed"
    assert ("小区·孙主任", "reassigned") in events(app, number)
    wait_for(lambda: any("李网格" in m for m in resident_messages(fake_wechat, OPENID)))
    wait_for(lambda: any(user == "li" and "转派" in text for user, text in app_messages(fake_wechat)))


def test_an_operator_without_a_staff_identity_only_reads(
        peer: WeChatPeer, app: Flask, server: str) -> None:
    register(app)
    number = open_ticket(peer)
    browser = signed_in(app, server, "王芳", "property")
    assert "只能查看工单" in browser.get(f"/console/tickets/{number}").text
    browser.post(f"/console/tickets/{number}", {"do": "claim"})
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, number).state == "open"


def test_the_queue_filters_and_puts_overdue_first(peer: WeChatPeer, app: Flask, server: str,
                                                  clock: Clock) -> None:
    register(app)
    urgent = open_ticket(peer, "9栋电梯坏了有人被困", openid="oQueueResident000000000000001")
    ordinary = open_ticket(peer)
    clock.advance(hours=1)  # the urgent one is past its 30-minute response deadline
    browser = signed_in(app, server, "孙主任", "estate", staff="sun")

    def numbers(**filters: str) -> list[int]:
        page = browser.get("/console/tickets", **filters)
        return [int(n) for n in re.findall(r">#(\d+)</a>", page.text)]

    assert numbers() == [urgent, ordinary]
    assert "已超时" in browser.get("/console/tickets").text
    assert numbers(building="3") == [ordinary]
    assert numbers(category="elevator") == [urgent]
    assert numbers(state="claimed") == []
    browser.post(f"/console/tickets/{ordinary}", {"do": "claim"})
    assert numbers(state="claimed") == [ordinary]


def test_merge_escalate_and_recategorise_record_what_the_chat_commands_record(
        peer: WeChatPeer, app: Flask, server: str, fake_wechat: FakeWeChat) -> None:
    register(app)
    first = open_ticket(peer)
    second = open_ticket(peer, "5栋1单元路灯不亮了", openid="oMergeResident00000000000002")
    assert second != first
    browser = signed_in(app, server, "孙主任", "estate", staff="sun")
    browser.post(f"/console/tickets/{first}", {"do": "merge", "other": second})
    browser.post(f"/console/tickets/{first}", {"do": "recategorise", "category": "facilities"})
    browser.post(f"/console/tickets/{first}", {"do": "escalate", "text": "需要物业协调"})
    with app.extensions["linli"].sessions() as session:
        merged, kept = session.get(Ticket, second), session.get(Ticket, first)
        assert merged.state == "merged" and merged.merged_into_id == first
        assert kept.category == "facilities" and kept.level == "property"
        assert len(kept.followers) == 2  # the second reporter follows the kept ticket
    actor = "小区·孙主任"
    assert [e for e in events(app, first) if e[0] == actor] == [
        (actor, "absorbed"), (actor, "recategorised"), (actor, "escalated:property")]
    assert (actor, "merged") in events(app, second)
    wait_for(lambda: any("物业" in m for m in resident_messages(fake_wechat, OPENID)))


def test_the_audit_log_shows_each_action_to_the_estate_level(
        peer: WeChatPeer, app: Flask, server: str) -> None:
    register(app)
    number = open_ticket(peer)
    browser = signed_in(app, server, "孙主任", "estate", staff="sun")
    browser.post(f"/console/tickets/{number}", {"do": "claim"})
    log = browser.get("/console/audit")
    assert log.status_code == 200
    for said in ("孙主任", "工单·接单", f"#{number}", "状态", "open", "claimed", "处理人"):
        assert said in log.text, said
    grid = signed_in(app, server, "李网格", "grid", buildings="3", staff="li")
    assert grid.get("/console/audit").status_code == 403
