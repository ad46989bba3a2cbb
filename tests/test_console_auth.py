"""/console sign-in: passwords, the lockout, CSRF, session fixation, sign-out, the cookie, the CLI."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

import settings
from models.console import (ACCOUNT_FAILURES, ADDRESS_FAILURES, AuditEntry, ConsoleSession, Operator,
                            SignInAttempt)
from tests.conftest import EXAMPLE, Clock, make_app
from tests.console_factories import PASSWORD, ConsoleBrowser, add_operator
from tests.fakes import FakeWeChat, Served


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about signing in to the console: passwords, lockouts, CSRF and the cookie,
    the same on either database."""
    return sqlite_database


@pytest.fixture
def browser(server: str, app: Flask) -> ConsoleBrowser:
    add_operator(app, "王芳", "property")
    return ConsoleBrowser(server)


def rows(app: Flask, model: type) -> int:
    with app.extensions["linli"].sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_sign_in_and_the_cookie(browser: ConsoleBrowser) -> None:
    assert browser.get("/console/").status_code == 302  # not signed in: to the sign-in page
    response = browser.sign_in("王芳")
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    home = browser.get("/console/")
    assert home.status_code == 200 and "王芳" in home.text and "物业" in home.text
    assert "script-src 'self'" in home.headers["Content-Security-Policy"]
    assert home.headers["Cache-Control"] == "no-store"
    assert home.headers["Referrer-Policy"] == "same-origin"  # CSRFProtect reads it over HTTPS


def test_password_is_kept_as_scrypt(app: Flask) -> None:
    add_operator(app, "王芳", "property")
    with app.extensions["linli"].sessions() as session:
        stored = session.scalar(select(Operator.password_hash))
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_wrong_password_and_unknown_name_read_the_same(browser: ConsoleBrowser) -> None:
    wrong = browser.sign_in("王芳", "not-the-password")
    unknown = browser.sign_in("nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不对" in wrong.text and "用户名或密码不对" in unknown.text
    assert not browser.signed_in()


def test_repeated_failures_lock_the_account_even_for_the_right_password(
        browser: ConsoleBrowser, app: Flask, clock: Clock, database, fake_wechat: FakeWeChat) -> None:
    for _ in range(ACCOUNT_FAILURES):
        assert browser.sign_in("王芳", "guess-guess-guess").status_code == 401
    locked = browser.sign_in("王芳")
    assert locked.status_code == 429 and "锁定" in locked.text and not browser.signed_in()
    # another worker (a second app on the same database) holds the same lock
    other = make_app(database, fake_wechat, clock)
    served = Served(other)
    try:
        assert ConsoleBrowser(served.url).sign_in("王芳").status_code == 429
    finally:
        served.close()
        other.extensions["linli"].close()
    clock.advance(minutes=16)
    assert browser.sign_in("王芳").status_code == 302 and browser.signed_in()


def test_one_address_trying_many_names_is_locked(browser: ConsoleBrowser, app: Flask) -> None:
    for n in range(ADDRESS_FAILURES):
        browser.sign_in(f"name{n}", "guess-guess-guess")
    assert browser.sign_in("王芳").status_code == 429
    assert rows(app, ConsoleSession) == 0


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(
        browser: ConsoleBrowser, app: Flask, token: str | None) -> None:
    browser.sign_in("王芳")
    assert rows(app, ConsoleSession) == 1
    refused = browser.post("/console/logout", token=token, csrf=token is not None)
    assert refused.status_code == 400 and "页面已过期" in refused.text
    assert rows(app, ConsoleSession) == 1 and browser.signed_in()
    # signing in needs the token too (no login CSRF)
    fresh = ConsoleBrowser(browser.server)
    refused = fresh.post("/console/login", {"name": "王芳", "password": PASSWORD}, csrf=False)
    assert refused.status_code == 400 and rows(app, ConsoleSession) == 1


def test_the_session_id_is_new_at_sign_in(browser: ConsoleBrowser, server: str) -> None:
    browser.token()  # a visit before signing in: the browser holds a cookie
    before = browser.cookie
    assert before
    browser.sign_in("王芳")
    after = browser.cookie
    assert after and after != before
    planted = ConsoleBrowser(server)  # whoever planted or copied the pre-sign-in cookie
    planted.plant(before)
    assert not planted.signed_in()


def test_a_session_planted_by_another_operator_is_replaced(browser: ConsoleBrowser, app: Flask,
                                                           server: str) -> None:
    add_operator(app, "攻击者", "grid", buildings="1")
    attacker = ConsoleBrowser(server)
    attacker.sign_in("攻击者")
    browser.plant(attacker.cookie)  # fixed on the victim's browser
    browser.sign_in("王芳")
    assert browser.cookie != attacker.cookie
    assert "王芳" in browser.get("/console/").text
    assert not attacker.signed_in()  # signing in over it ended the planted session


def test_sign_out_really_ends_the_session(browser: ConsoleBrowser, app: Flask, server: str) -> None:
    browser.sign_in("王芳")
    kept = browser.cookie
    out = browser.post("/console/logout")
    assert out.status_code == 302 and not browser.signed_in()
    with app.extensions["linli"].sessions() as session:
        done = [(e.operator_name, e.action) for e in session.scalars(select(AuditEntry))]
    assert done == [("王芳", "sign_in"), ("王芳", "sign_out")]
    replay = ConsoleBrowser(server)
    replay.plant(kept)
    assert not replay.signed_in()
    assert rows(app, ConsoleSession) == 0


def test_a_new_password_ends_every_session(browser: ConsoleBrowser, app: Flask) -> None:
    browser.sign_in("王芳")
    add_operator(app, "王芳", "property", password="another-password-1")
    assert not browser.signed_in()


def test_an_idle_session_expires(browser: ConsoleBrowser, clock: Clock) -> None:
    browser.sign_in("王芳")
    clock.advance(hours=2, minutes=1)
    assert not browser.signed_in()


def test_next_goes_only_to_console_paths(browser: ConsoleBrowser) -> None:
    token = browser.token()
    response = browser.post("/console/login", {"name": "王芳", "password": PASSWORD,
                                               "next": "https://evil.example/console"}, token=token)
    assert response.headers["Location"].endswith("/console/")


def test_secure_cookies_behind_tls(database, fake_wechat: FakeWeChat, clock: Clock) -> None:
    app = make_app(database, fake_wechat, clock, settings={"console.secure_cookies": True,
                                                          "console.trusted_proxies": 1})
    add_operator(app, "王芳", "property")
    client = app.test_client()
    page = client.get("/console/login", headers={"X-Forwarded-Proto": "https"})
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/console/login", data={"name": "王芳", "password": PASSWORD,
                                                   "csrf_token": token},
                           headers={"X-Forwarded-Proto": "https",
                                    "Referer": "https://localhost/console/login"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Secure" in response.headers["Set-Cookie"]
    app.extensions["linli"].close()


def test_forwarded_addresses_are_believed_only_when_configured(
        browser: ConsoleBrowser, app: Flask) -> None:
    for n in range(ADDRESS_FAILURES):  # each claims another address: not believed, all count
        browser.http.headers["X-Forwarded-For"] = f"10.0.0.{n}"
        browser.sign_in(f"name{n}", "guess-guess-guess")
    with app.extensions["linli"].sessions() as session:
        assert set(session.scalars(select(SignInAttempt.address))) == {"127.0.0.1"}
    assert browser.sign_in("王芳").status_code == 429


def test_forwarded_addresses_are_believed_behind_a_configured_proxy(
        database, fake_wechat: FakeWeChat, clock: Clock) -> None:
    app = make_app(database, fake_wechat, clock, settings={"console.trusted_proxies": 1})
    client = app.test_client()
    token = client.get("/console/login").get_data(as_text=True).split(
        'name="csrf_token" value="')[1].split('"')[0]
    for n in range(3):
        client.post("/console/login", data={"name": f"name{n}", "password": "guess-guess-guess",
                                            "csrf_token": token},
                    headers={"X-Forwarded-For": f"10.0.0.{n}"})
    with app.extensions["linli"].sessions() as session:
        assert set(session.scalars(select(SignInAttempt.address))) == {"10.0.0.0", "10.0.0.1",
                                                                       "10.0.0.2"}
    app.extensions["linli"].close()


def test_the_console_is_off_without_a_key(database, fake_wechat: FakeWeChat, clock: Clock) -> None:
    app = make_app(database, fake_wechat, clock, settings={"console": {}})
    response = app.test_client().get("/console/login")
    assert response.status_code == 404 and "secret_key" in response.get_data(as_text=True)
    app.extensions["linli"].close()


def test_the_example_key_is_refused_beside_real_credentials() -> None:
    with pytest.raises(settings.ConfigError) as caught:
        settings.read(EXAMPLE, {"wechat.app_secret": "a-real-secret-from-the-mp-platform"})
    assert "[console] secret_key" in str(caught.value)
    with pytest.raises(settings.ConfigError) as caught:
        settings.read(EXAMPLE, {"console.secret_key": "short"})
    assert "[console] secret_key" in str(caught.value)
    real = settings.read(EXAMPLE, {"wechat.app_secret": "a-real-secret-from-the-mp-platform",
                                   "console.secret_key": "x" * 40, "sim.enabled": False})
    assert real.console.enabled and "x" * 40 not in repr(real)


@pytest.mark.parametrize("args, says", [
    (["--level", "grid"], "lists buildings"),
    (["--level", "property", "--buildings", "1-3"], "lists buildings"),
    (["--level", "property", "--estate", "无此小区"], "no estate"),
    (["--level", "property", "--staff", "nobody"], "no staff member"),
])
def test_add_operator_refuses_bad_input(app: Flask, args: list[str], says: str) -> None:
    result = app.test_cli_runner().invoke(args=["console", "add-operator", "--name", "甲", *args],
                                          input=PASSWORD + "\n")
    assert result.exit_code != 0 and says in result.output
    assert rows(app, Operator) == 0


def test_add_operator_refuses_a_short_password(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["console", "add-operator", "--name", "甲", "--level", "street"], input="short\n")
    assert result.exit_code != 0 and "at least" in result.output and rows(app, Operator) == 0
