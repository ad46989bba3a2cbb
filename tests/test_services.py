"""The app's services: a transaction sends what it queued once it has committed, and only then."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from bot import outbox
from bot.services import Services
from models import OutboxMessage
from tests.fakes import FakeWeChat


def queue_for_li(services: Services, key: str, body: str) -> None:
    with services.transaction() as session:
        outbox.enqueue(session, key=key, channel="wecom_app", recipient="li", body=body,
                       now=services.clock(), kind="markdown")


def test_a_transaction_sends_what_it_queued_after_the_commit(app: Flask,
                                                             fake_wechat: FakeWeChat) -> None:
    services: Services = app.extensions["linli"]
    with services.transaction() as session:
        outbox.enqueue(session, key="committed", channel="wecom_app", recipient="li",
                       body="请处理 #1", now=services.clock(), kind="markdown")
        assert fake_wechat.sent("message/send") == []  # nothing leaves before the commit
    assert outbox.sent_after_commit(session) == 1
    assert [b["markdown"]["content"] for b in fake_wechat.sent("message/send")] == ["请处理 #1"]


def test_a_rolled_back_transaction_sends_nothing(app: Flask, fake_wechat: FakeWeChat) -> None:
    services: Services = app.extensions["linli"]
    with pytest.raises(RuntimeError), services.transaction() as session:
        outbox.enqueue(session, key="rolled-back", channel="wecom_app", recipient="li",
                       body="不该发出", now=services.clock(), kind="markdown")
        raise RuntimeError("the handler failed")
    assert outbox.sent_after_commit(session) == 0
    with services.sessions() as session:
        assert session.scalars(select(OutboxMessage)).all() == []
    queue_for_li(services, "later", "之后的消息")  # the sender still works, and sends only that
    services.sender.submit(lambda: None).result(timeout=30)  # the kicked send has finished
    assert [b["markdown"]["content"] for b in fake_wechat.sent("message/send")] == ["之后的消息"]


def test_a_transaction_that_queued_nothing_wakes_no_sender(app: Flask, fake_wechat: FakeWeChat) -> None:
    services: Services = app.extensions["linli"]
    with services.sessions() as session, session.begin():  # a message due, but not this unit's
        outbox.enqueue(session, key="earlier", channel="wecom_app", recipient="li",
                       body="早先的消息", now=services.clock(), kind="markdown")
    with services.transaction() as session:
        session.scalars(select(OutboxMessage)).all()
    assert outbox.sent_after_commit(session) == 0
    services.sender.submit(lambda: None).result(timeout=30)
    assert fake_wechat.sent("message/send") == []
