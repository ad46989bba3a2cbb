"""The simulator is never a way in (issue 15): only a street operator signed into the console, or
this machine when the config says it is a demo, may use /sim; it speaks only as made-up people;
and a config with real credentials will not start with it open."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

import settings
from app import create_app
from bot.channels.sim import SIM_REAL_PERSON
from models import Resident, Staff, Ticket, find_home, transaction
from web.sim import SIM_REFUSED
from tests.console_factories import ConsoleBrowser, add_operator
from tests.conftest import EXAMPLE, PROJECT, START, Clock, cli, make_app
from tests.fakes import FakeWeChat, Served
from tests.test_sim import FRESH, REPORT, add_staff, counts, post, say


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about who may use the simulator, the same on either database."""
    return sqlite_database

ROUTES = ("/sim", "/sim/api/people", f"/sim/api/conversation?as={FRESH}")


# ---- who may use it


@pytest.mark.parametrize("header", [{"X-Forwarded-For": "203.0.113.9"}, {"X-Real-IP": "203.0.113.9"},
                                    {"Forwarded": "for=203.0.113.9"}])
def test_a_demo_refuses_what_came_through_a_proxy(server: str, app: Flask,
                                                  header: dict[str, str]) -> None:
    """Behind a reverse proxy on the same host every request is from loopback; its header tells."""
    before = counts(app)
    for path in ROUTES:
        response = requests.get(server + path, headers=header, timeout=10)
        assert response.status_code == 403, path
    page = requests.get(f"{server}/sim", headers=header, timeout=10)
    assert "街道级管理员" in page.text and "sim.js" not in page.text
    refused = post(server, {"as": FRESH, "text": REPORT, "id": "proxied-01"}, **header)
    assert refused.status_code == 403 and refused.json()["error"] == SIM_REFUSED
    assert counts(app) == before


def test_a_demo_refuses_another_machine(app: Flask) -> None:
    """A request from another address (here through the WSGI surface, which names the peer)."""
    before = counts(app)
    client = app.test_client()
    for address in ("203.0.113.9", "10.0.0.5", "::ffff:192.0.2.1"):
        environ = {"REMOTE_ADDR": address}
        for path in ROUTES:
            assert client.get(path, environ_base=environ).status_code == 403, (address, path)
        refused = client.post("/sim/api/messages", json={"as": FRESH, "text": REPORT, "id": "remote-001"},
                              environ_base=environ)
        assert refused.status_code == 403 and refused.get_json()["error"] == SIM_REFUSED
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert client.get("/sim/api/people", environ_base={"REMOTE_ADDR": address}).status_code == 200
    assert counts(app) == before


@pytest.fixture
def live_server(database: tuple[str, str | None], fake_wechat: FakeWeChat,
                clock: Clock) -> Iterator[tuple[str, Flask]]:
    """The simulator on, in a deployment that is not a demo (`[sim] demo = false`)."""
    app = make_app(database, fake_wechat, clock, settings={"sim.demo": False})
    served = Served(app)
    yield served.url, app
    served.close()
    app.extensions["linli"].close()


def test_without_demo_loopback_is_not_enough(live_server: tuple[str, Flask]) -> None:
    server, app = live_server
    add_staff(app)
    before = counts(app)
    page = requests.get(f"{server}/sim", timeout=10)
    assert page.status_code == 403 and "登录管理后台" in page.text and 'href="/console"' in page.text
    for path in ROUTES[1:]:
        assert requests.get(server + path, timeout=10).status_code == 403
    refused = post(server, {"as": FRESH, "text": REPORT, "id": "notademo-1"})
    assert refused.status_code == 403 and refused.json()["error"] == SIM_REFUSED
    assert counts(app) == before


@pytest.mark.parametrize("level, let_in", [("street", True), ("community", False), ("estate", False),
                                           ("property", False)])
def test_a_street_operator_signed_into_the_console_may_use_it(live_server: tuple[str, Flask], level: str,
                                                              let_in: bool) -> None:
    """Not a demo: only a street operator's console session opens /sim, from anywhere; below
    street, or after signing out, it stays closed and nothing changes."""
    server, app = live_server
    add_staff(app)
    add_operator(app, "操作员", level)
    browser = ConsoleBrowser(server)
    assert browser.sign_in("操作员").status_code == 302 and browser.signed_in()
    headers = {"X-Forwarded-For": "203.0.113.9"}  # through a proxy: the session is what counts
    page = browser.http.get(f"{server}/sim", headers=headers, timeout=10)
    assert page.status_code == (200 if let_in else 403)
    before = counts(app)
    said = browser.http.post(f"{server}/sim/api/messages", json={"as": FRESH, "text": REPORT,
                                                                  "id": f"operator-{level}"},
                             headers=headers, timeout=10)
    assert said.status_code == (200 if let_in else 403)
    if not let_in:
        assert said.json()["error"] == SIM_REFUSED and counts(app) == before
        return
    assert "#" in said.json()["reply"]
    browser.post("/console/logout")
    assert not browser.signed_in()
    assert browser.http.get(f"{server}/sim/api/people", timeout=10).status_code == 403
    stolen = requests.get(f"{server}/sim/api/people", timeout=10)  # another browser, no cookie
    assert stolen.status_code == 403


def test_demo_must_be_a_boolean() -> None:
    with pytest.raises(settings.ConfigError, match=r"\[sim\] demo must be true or false"):
        settings.load(EXAMPLE, {"sim.demo": "yes"})


# ---- only made-up people


def test_real_staff_are_neither_listed_nor_spoken_as(server: str, app: Flask) -> None:
    add_staff(app)
    cli(app, "staff", "add", "--id", "wangli", "--channel", "wecom", "--name", "王丽", "--role", "grid",
        "--buildings", "1-5")
    number = int(re.search(r"#(\d+)", say(server, FRESH, REPORT)["reply"]).group(1))
    with app.extensions["linli"].sessions() as session:
        real = session.scalar(select(Staff.id).where(Staff.user_id == "wangli"))
    people = requests.get(f"{server}/sim/api/people", timeout=10).json()
    assert f"staff:{real}" not in [m["id"] for m in people["staff"]]
    before = counts(app)
    refused = post(server, {"as": f"staff:{real}", "text": f"接单 #{number}", "id": "realstaff-1"})
    assert refused.status_code == 400 and refused.json()["error"] == SIM_REAL_PERSON
    reading = requests.get(f"{server}/sim/api/conversation", params={"as": f"staff:{real}"}, timeout=10)
    assert reading.status_code == 400 and reading.json()["error"] == SIM_REAL_PERSON
    assert counts(app) == before
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, number).state == "open"


def test_a_real_resident_is_never_spoken_as(server: str, app: Flask) -> None:
    with transaction(app.extensions["linli"].sessions) as session:
        session.add(Resident(openid="oRealOwner", home=find_home(session, "5", "2", "1203"), role="owner",
                             verified=True, following=True, subscribed=False, created_at=START,
                             pushes_since_inbound=0))
    before = counts(app)
    for body in ({"as": "resident:oRealOwner", "text": "投票 #1 同意", "id": "realowner-1"},
                 {"as": "resident:oRealOwner", "event": "subscribe", "id": "realowner-2"}):
        refused = post(server, body)
        assert refused.status_code == 400 and refused.json()["error"] == SIM_REAL_PERSON
    reading = requests.get(f"{server}/sim/api/conversation", params={"as": "resident:oRealOwner"},
                           timeout=10)
    assert reading.status_code == 400 and reading.json()["error"] == SIM_REAL_PERSON
    people = requests.get(f"{server}/sim/api/people", timeout=10).json()
    assert "resident:oRealOwner" not in [p["id"] for p in people["residents"]]
    assert counts(app) == before


def test_a_resident_new_in_the_browser_is_made_up(server: str, app: Flask) -> None:
    say(server, FRESH, "你好")
    with app.extensions["linli"].sessions() as session:
        made = session.scalar(select(Resident).where(Resident.openid == FRESH.removeprefix("resident:")))
        assert made is not None and made.demo
    assert say(server, FRESH, "帮助")["reply"]


def test_demo_data_makes_only_made_up_people(tmp_path: Path) -> None:
    """`flask demo-data` marks its staff and residents; the simulator lists them and nobody else."""
    env = dict(os.environ, LINLI_CONFIG=str(EXAMPLE), DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "demo-data"], cwd=PROJECT, env=env, check=True, capture_output=True,
                   timeout=120)
    app = create_app({"config_path": str(EXAMPLE), "overrides": {"database.url": env["DATABASE_URL"]}})
    try:
        with app.extensions["linli"].sessions() as session:
            assert session.scalar(select(Staff.id).where(Staff.demo.is_(False))) is None
            assert session.scalar(select(Resident.id).where(Resident.demo.is_(False))) is None
            staff = session.scalar(select(func.count()).select_from(Staff))
        people = app.test_client().get("/sim/api/people").get_json()
        # the demo street: 13 people of the first estate, 5 of each smaller one (their community's
        # and street's officers are the first estate's)
        assert staff == len(people["staff"]) == 23 and len(people["residents"]) == 8
    finally:
        app.extensions["linli"].close()


# ---- real credentials: no start with the simulator open


REAL = {  # what a copied config looks like once an operator filled it in
    "wechat.app_secret": ("demo-app-secret-change-me", "8f3c2a9d41b7e6f05c1d2e3f4a5b6c7d"),
    "wechat.token": ("linli-demo-token", "Xq7Lm2Rt9Kc4Vb8N"),
    "wechat.encoding_aes_key": ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                                "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"),
    "wecom.secret": ("demo-wecom-secret-change-me", "Hn3kQ8vT2pW6xY1zB5cF9gJ4mL7rS0uA2dE6hK8nP3q"),
}


def _filled_in(tmp_path: Path, key: str) -> Path:
    section, _, name = key.rpartition(".")
    placeholder, real = REAL[key]
    text = EXAMPLE.read_text(encoding="utf-8")
    head, _, tail = text.partition(f"[{section}]")
    tail = tail.replace(f'{name} = "{placeholder}"', f'{name} = "{real}"', 1)
    assert real in tail
    text = head + f"[{section}]" + tail
    # a live deployment has its own console key (the example's is refused beside a real secret)
    text, found = re.subn(r'secret_key = "demo-console-key[^"]*"', 'secret_key = "' + "k3y" * 12 + '"', text)
    assert found == 1
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("key", sorted(REAL))
def test_a_real_credential_will_not_start_with_the_simulator_on(tmp_path: Path, key: str) -> None:
    path = _filled_in(tmp_path, key)
    section, _, name = key.rpartition(".")
    with pytest.raises(settings.ConfigError) as raised:
        create_app({"config_path": str(path), "overrides": {"database.url": "sqlite://"}})
    line = str(raised.value.code)
    assert line.startswith(f"config.toml: [sim] enabled must be false: [{section}] {name} is a real credential")
    assert "\n" not in line and REAL[key][1] not in line  # one line, and the secret is not in it
    off = settings.read(path, {"sim.enabled": False})  # with the simulator off it starts
    assert off.sim.enabled is False


def test_the_server_says_why_it_will_not_start(tmp_path: Path) -> None:
    path = _filled_in(tmp_path, "wechat.app_secret")
    env = dict(os.environ, LINLI_CONFIG=str(path), DATABASE_URL=f"sqlite:///{tmp_path / 'live.db'}")
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "serve"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "[sim]" in line]
    assert lines == ["config.toml: [sim] enabled must be false: [wechat] app_secret is a real credential "
                     '(a placeholder has "demo" in it), and the simulator would let whoever reaches it '
                     "act as this estate's people"]
    assert REAL["wechat.app_secret"][1] not in done.stderr + done.stdout
    assert not (tmp_path / "live.db").exists() or (tmp_path / "live.db").stat().st_size == 0
