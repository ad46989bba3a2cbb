"""Signing in to /console through WeCom: the OAuth code is exchanged at the fake WeCom API
(`auth/getuserinfo`), the UserID maps to the operator linked to that staff member; a forged,
missing or reused state, a bad or reused code, or an unknown UserID signs nobody in."""
from __future__ import annotations

from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from models.console import AuditEntry, ConsoleSession
from tests.conftest import Clock, cli, make_app
from tests.console_factories import ConsoleBrowser, add_operator
from tests.fakes import FakeWeChat, Served
from web.console.wecom_login import WECOM_FAILED, WECOM_OFF, WECOM_STALE, WECOM_UNKNOWN


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about signing in to the console through WeCom,
    the same on either database."""
    return sqlite_database


@pytest.fixture
def wecom_server(database: tuple[str, str | None], fake_wechat: FakeWeChat,
                 clock: Clock) -> Iterator[tuple[str, Flask]]:
    """The app with WeCom sign-in on, and 李敏 (WeCom UserID li) linked to an operator."""
    app = make_app(database, fake_wechat, clock, settings={"console.wecom_sign_in": True})
    cli(app, "staff", "add", "--id", "li", "--channel", "wecom", "--name", "李敏", "--role", "grid",
        "--buildings", "1-5")
    cli(app, "staff", "add", "--id", "wang", "--channel", "wecom", "--name", "王强", "--role", "grid")
    add_operator(app, "李网格", "grid", buildings="1-5", staff="li")
    served = Served(app)
    yield served.url, app
    served.close()
    app.extensions["linli"].close()


def start(browser: ConsoleBrowser) -> dict[str, str]:
    """Click 企业微信登录: where WeCom is asked, with what."""
    login = browser.get("/console/login")
    assert 'id="wecom-sign-in"' in login.text
    sent = browser.get("/console/login/wecom")
    assert sent.status_code == 302
    where = urlsplit(sent.headers["Location"])
    assert (where.scheme, where.netloc, where.path) == ("https", "open.weixin.qq.com",
                                                        "/connect/oauth2/authorize")
    assert where.fragment == "wechat_redirect"
    return {k: v[0] for k, v in parse_qs(where.query).items()}


def sessions(app: Flask) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(ConsoleSession)) or 0


def test_a_linked_wecom_member_signs_in(wecom_server: tuple[str, Flask], fake_wechat: FakeWeChat) -> None:
    server, app = wecom_server
    browser = ConsoleBrowser(server)
    asked = start(browser)
    conf = app.extensions["linli"].config
    assert (asked["appid"], asked["agentid"], asked["scope"]) == (conf.wecom.corp_id, str(conf.wecom.agent_id),
                                                                  "snsapi_base")
    assert asked["redirect_uri"] == "http://127.0.0.1:5000/console/login/wecom/callback"
    before = browser.cookie
    fake_wechat.oauth_codes["CODE-1"] = "li"
    back = browser.get("/console/login/wecom/callback", code="CODE-1", state=asked["state"])
    assert back.status_code == 302 and back.headers["Location"].endswith("/console/")
    home = browser.get("/console/")
    assert home.status_code == 200 and "李网格" in home.text
    assert browser.cookie != before  # a new session, not the one before signing in
    with app.extensions["linli"].sessions() as session:
        entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
        assert (entry.operator_name, entry.action, entry.outcome) == ("李网格", "sign_in", "通过企业微信登录")
    [exchange] = [c for c in fake_wechat.calls if c.path.endswith("/auth/getuserinfo")]
    assert exchange.params["code"] == "CODE-1" and exchange.params["access_token"].startswith("FAKE-TOKEN")


@pytest.mark.parametrize("case", ["no state", "wrong state", "reused state", "bad code", "reused code",
                                  "unlinked member", "outsider"])
def test_nobody_signs_in_otherwise(wecom_server: tuple[str, Flask], fake_wechat: FakeWeChat,
                                   case: str) -> None:
    server, app = wecom_server
    browser = ConsoleBrowser(server)
    asked = start(browser)
    fake_wechat.oauth_codes.update({"GOOD": "li", "WANG": "wang", "OUT": "openid:oOutsider"})
    params = {"code": "GOOD", "state": asked["state"]}
    says = WECOM_STALE
    if case == "no state":
        params.pop("state")
    elif case == "wrong state":
        params["state"] = asked["state"][:-1] + ("A" if asked["state"][-1] != "A" else "B")
    elif case == "reused state":
        assert browser.get("/console/login/wecom/callback", **params).status_code == 302
        browser.post("/console/logout")
        fake_wechat.oauth_codes["GOOD"] = "li"
    elif case == "bad code":
        params["code"], says = "FORGED", WECOM_FAILED
    elif case == "reused code":
        other = ConsoleBrowser(server)
        other_state = start(other)["state"]
        assert other.get("/console/login/wecom/callback", code="GOOD", state=other_state).status_code == 302
        says = WECOM_FAILED
    elif case == "unlinked member":
        params["code"], says = "WANG", WECOM_UNKNOWN
    else:
        params["code"], says = "OUT", WECOM_UNKNOWN
    before = sessions(app)
    answer = browser.get("/console/login/wecom/callback", **params)
    assert answer.status_code in (400, 403) and says in answer.text
    assert sessions(app) == before and not browser.signed_in()


def test_off_unless_configured(server: str, app: Flask, fake_wechat: FakeWeChat) -> None:
    browser = ConsoleBrowser(server)
    assert 'id="wecom-sign-in"' not in browser.get("/console/login").text
    for path in ("/console/login/wecom", "/console/login/wecom/callback?code=X&state=Y"):
        answer = browser.get(path)
        assert answer.status_code == 404 and WECOM_OFF in answer.text
    assert not [c for c in fake_wechat.calls if c.path.endswith("/auth/getuserinfo")]
