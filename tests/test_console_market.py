"""/console/market over real HTTP: move, cancel and restore a month's market (what residents
are then told in chat), send a notice once; audited; outsiders get 403; CSRF on every form."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from models import MarketOverride, OutboxMessage, Resident, transaction
from models.console import AuditEntry
from tests.conftest import START
from tests.console_factories import ConsoleBrowser
from tests.factories import WeChatPeer
from tests.test_console_votes import _another_street, signed_in


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the console's market-day pages (the dates themselves: test_market),
    the same on either database."""
    return sqlite_database


def post(browser: ConsoleBrowser, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return browser.post(path, data, token=browser.token("/console/market"))


def counts(app: Flask) -> tuple[int, ...]:
    with app.extensions["linli"].sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model)) or 0
                     for model in (MarketOverride, OutboxMessage, AuditEntry))


def test_move_cancel_and_restore_a_month_and_residents_hear_the_new_date(
        server: str, app: Flask, peer: WeChatPeer) -> None:
    browser = signed_in(server, app, "property", name="物业经理")
    page = browser.get("/console/market")
    assert page.status_code == 200 and "2026-12-15" in page.text and "家电维修" in page.text
    moved = post(browser, "/console/market/overrides", {"month": "2026-12", "action": "move",
                                                        "date": "2026-12-20"})
    assert moved.status_code == 302
    shown = browser.get("/console/market")
    assert "改到 2026-12-20（周日）" in shown.text and "已调整" in shown.text
    assert "12月20日" in (peer.say("这个月市集几号", openid="oAsker") or "")
    assert post(browser, "/console/market/overrides", {"month": "2026-12", "action": "cancel"}).status_code == 302
    assert "12月20日" not in (peer.say("这个月市集几号", openid="oAsker") or "")
    assert post(browser, "/console/market/overrides", {"month": "2026-12", "action": "restore"}).status_code == 302
    assert "12月15日" in (peer.say("这个月市集几号", openid="oAsker") or "")
    with app.extensions["linli"].sessions() as session:
        entries = [(e.action, e.changes) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
                   if not e.action.startswith("sign_")]
    assert [a for a, _ in entries] == ["市集.改期", "市集.取消", "市集.恢复"]
    assert "2026-12-20" in entries[0][1] and "取消" in entries[1][1]


def test_a_notice_goes_once_to_subscribers_and_groups(server: str, app: Flask) -> None:
    with transaction(app.extensions["linli"].sessions) as session:
        session.add(Resident(openid="oSubscriber", verified=False, following=True, subscribed=True,
                             created_at=START, pushes_since_inbound=0))
    browser = signed_in(server, app, "estate", name="业委会")
    sent = post(browser, "/console/market/notices", {"text": "周六上午停水检修"})
    assert sent.status_code == 302
    assert "通知已发出：1 位订阅的居民" in browser.get("/console/market").text
    again = post(browser, "/console/market/notices", {"text": "周六上午停水检修"})
    assert again.status_code == 302 and "今天已经发过" in browser.get("/console/market").text
    with app.extensions["linli"].sessions() as session:
        bodies = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "oSubscriber")).all()
    assert len(bodies) == 1 and "周六上午停水检修" in bodies[0].body


@pytest.mark.parametrize("path, data, says", [
    ("/console/market/overrides", {"month": "2026-13", "action": "cancel"}, "月份"),
    ("/console/market/overrides", {"month": "2026-12", "action": "move", "date": "2027-03-01"}, "改期的日期"),
    ("/console/market/overrides", {"month": "2026-12", "action": "move", "date": "明天"}, "改期的日期"),
    ("/console/market/overrides", {"month": "2026-12", "action": "drop table"}, "请选择"),
    ("/console/market/notices", {"text": "   "}, "请填写通知内容"),
    ("/console/market/notices", {"text": "长" * 501}, "请填写通知内容"),
])
def test_a_bad_form_is_answered_and_changes_nothing(server: str, app: Flask, path: str,
                                                     data: dict[str, str], says: str) -> None:
    browser = signed_in(server, app, "property", name="物业经理")
    before = counts(app)
    answer = post(browser, path, data)
    assert answer.status_code == 400 and says in answer.text
    assert counts(app) == before


@pytest.mark.parametrize("level, where", [("grid", {"buildings": "1-3"}), ("street", {"estate": "别的小区"}),
                                          ("property", {"estate": "别的小区"})])
def test_outsiders_get_403_and_change_nothing(server: str, app: Flask, level: str,
                                              where: dict[str, str]) -> None:
    _another_street(app)
    outsider = signed_in(server, app, level, name="外人", **where)
    token = outsider.token("/console/")
    before = counts(app)
    assert outsider.get("/console/market").status_code == 403
    for path, data in (("/console/market/overrides", {"month": "2026-12", "action": "cancel"}),
                       ("/console/market/notices", {"text": "假通知"})):
        assert outsider.post(path, data, token=token).status_code == 403
    assert counts(app) == before


def test_every_form_needs_its_csrf_token(server: str, app: Flask) -> None:
    browser = signed_in(server, app, "street", name="街道办")
    before = counts(app)
    for path, data in (("/console/market/overrides", {"month": "2026-12", "action": "cancel"}),
                       ("/console/market/notices", {"text": "周六停水"})):
        assert browser.post(path, data, csrf=False).status_code == 400
        assert browser.post(path, data, token="forged").status_code == 400
    assert counts(app) == before
