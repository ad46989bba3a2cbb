"""/console/outbox: failed messages are listed and retried, as `flask outbox retry`."""
from __future__ import annotations

import pytest

import time

from flask import Flask
from sqlalchemy import select

from models import OutboxMessage
from models.console import AuditEntry
from tests.console_factories import ConsoleBrowser, add_operator
from tests.factories import WeChatPeer
from tests.fakes import FakeWeChat


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the console's page of failed messages (the outbox itself: test_outbox),
    the same on either database."""
    return sqlite_database

OPENID = "oFailedResident00000000000001"


def failed_message(app: Flask) -> int:
    services = app.extensions["linli"]
    with services.sessions() as session:
        message = OutboxMessage(dedupe_key="console:failed:1", channel="wechat", recipient=OPENID,
                                kind="text", body="您的工单 #7 已办结", status="failed", attempts=8,
                                due_at=services.clock(), created_at=services.clock(),
                                last_error="errcode 45015")
        session.add(message)
        session.commit()
        return message.id


def test_failed_messages_are_listed_and_retried(app: Flask, server: str, peer: WeChatPeer,
                                                fake_wechat: FakeWeChat) -> None:
    peer.say("你好", openid=OPENID)  # a resident who wrote lately: a customer-service message reaches them
    number = failed_message(app)
    add_operator(app, "孙主任", "estate")
    browser = ConsoleBrowser(server)
    browser.sign_in("孙主任")
    page = browser.get("/console/outbox")
    assert "您的工单 #7 已办结" in page.text and "45015" in page.text and OPENID not in page.text
    assert browser.post("/console/outbox/retry", {"message": number}).status_code == 303
    deadline = time.monotonic() + 10
    while not any(b.get("touser") == OPENID and "#7 已办结" in b["text"]["content"]
                  for b in fake_wechat.sent()):
        assert time.monotonic() < deadline, "the retried message was not sent"
        time.sleep(0.05)
    with app.extensions["linli"].sessions() as session:
        assert session.get(OutboxMessage, number).status != "failed"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action != "sign_in")).one()
    assert entry.action == "outbox:retry" and entry.operator_name == "孙主任"


def test_retry_with_nothing_chosen_changes_nothing(app: Flask, server: str) -> None:
    number = failed_message(app)
    add_operator(app, "孙主任", "estate")
    browser = ConsoleBrowser(server)
    browser.sign_in("孙主任")
    browser.post("/console/outbox/retry", {})
    assert "请至少勾选" in browser.get("/console/outbox").text
    with app.extensions["linli"].sessions() as session:
        assert session.get(OutboxMessage, number).status == "failed"
