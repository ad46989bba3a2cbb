"""/sim: the chat simulator drives the real dialogue, as a resident or a staff member, over HTTP."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

import settings
from app import create_app
from bot.replies.general import TOO_LONG, WELCOME
from bot.replies.staff import NOT_STAFF
from models import InboundMessage, OutboxMessage, Resident, Ticket, find_home
from models import demo as demo_estate
from models import transaction
from models.migrate import upgrade
from web.sim import SIM_OFF
from tests.conftest import Clock, EXAMPLE, PROJECT, START, cli, make_app
from tests.fakes import FakeWeChat, Served


@pytest.fixture
def database(sqlite_database: tuple[str, None]) -> tuple[str, None]:
    """SQLite only: this module is about the simulator page and its API,
    the same on either database."""
    return sqlite_database

FRESH = "resident:sim-0123456789ab"
REPORT = "3栋电梯坏了，有人被困"


def add_staff(app: Flask) -> None:
    """Demo grid worker 张伟 covers buildings 1-5; demo 赵师傅 fixes lifts."""
    cli(app, "staff", "add", "--id", "zhangwei", "--channel", "wecom", "--name", "张伟",
        "--role", "grid", "--buildings", "1-5", "--demo")
    cli(app, "staff", "add", "--id", "zhao", "--channel", "wecom", "--name", "赵师傅",
        "--role", "property", "--categories", "elevator", "--demo")


def post(server: str, body: Any, **headers: str) -> requests.Response:
    return requests.post(f"{server}/sim/api/messages", json=body, headers=headers, timeout=10)


def say(server: str, who: str, text: str) -> dict[str, Any]:
    response = post(server, {"as": who, "text": text, "id": uuid.uuid4().hex})
    assert response.status_code == 200, response.text
    return response.json()


def transcript(server: str, who: str, **cursor: int) -> dict[str, Any]:
    response = requests.get(f"{server}/sim/api/conversation", params={"as": who, **cursor}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def staff_token(server: str, name: str) -> str:
    people = requests.get(f"{server}/sim/api/people", timeout=10).json()
    return next(m["id"] for m in people["staff"] if m["name"] == name)


def wait_for(check: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return found


def counts(app: Flask) -> tuple[int, int, int, int]:
    with app.extensions["linli"].sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                     for model in (InboundMessage, OutboxMessage, Resident, Ticket))


def test_report_as_resident_claim_as_staff(server: str, app: Flask) -> None:
    add_staff(app)
    answer = say(server, FRESH, REPORT)
    number = int(re.search(r"#(\d+)", answer["reply"]).group(1))
    with app.extensions["linli"].sessions() as session:
        ticket = session.get(Ticket, number)
        assert ticket is not None and ticket.urgent and ticket.category == "elevator"
        assert ticket.building == "3"
    assert transcript(server, FRESH)["messages"][-1]["text"] == REPORT

    zhang = staff_token(server, "张伟")
    cards = transcript(server, zhang)["outbox"]
    assert any(row["pane"] == "push" and f"#{number}" in row["text"] for row in cards)
    assert any(row["pane"] == "group" and row["to"] == "property" and f"#{number}" in row["text"]
               for row in cards), "an urgent ticket's card reaches the property group"

    before = transcript(server, FRESH)["cursor"]["out"]
    claimed = say(server, zhang, f"接单 #{number}")
    assert f"#{number}" in claimed["reply"]
    pushes = [row for row in transcript(server, FRESH, out=before)["outbox"] if row["pane"] == "push"]
    assert any("张伟" in row["text"] for row in pushes), pushes
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, number).state == "claimed"


def test_people_are_made_up_residents_of_several_buildings_and_the_demo_staff(
        server: str, app: Flask) -> None:
    add_staff(app)
    cli(app, "staff", "add", "--id", "wangli", "--channel", "wecom", "--name", "王丽", "--role", "grid")
    with transaction(app.extensions["linli"].sessions) as session:
        for n, home in enumerate((("3", "2", "501"), ("3", "1", "101"), ("5", "2", "1203"),
                                  ("1", "1", "101"))):
            session.add(Resident(openid=f"oHoused{n}", home=find_home(session, *home), role="owner",
                                 verified=True, following=True, subscribed=False, created_at=START,
                                 pushes_since_inbound=0, demo=n < 3))  # oHoused3 is real
    say(server, FRESH, "你好")
    people = requests.get(f"{server}/sim/api/people", timeout=10).json()
    assert [(p["id"], p["home"]) for p in people["residents"]] == [
        ("resident:oHoused0", "3栋2单元501"), ("resident:oHoused2", "5栋2单元1203"), (FRESH, "")]
    assert sorted(m["name"] for m in people["staff"]) == sorted(["张伟", "赵师傅"])
    assert say(server, "resident:oHoused2", "你好")["reply"]


def test_a_resident_cannot_claim(server: str, app: Flask) -> None:
    add_staff(app)
    number = int(re.search(r"#(\d+)", say(server, FRESH, REPORT)["reply"]).group(1))
    answer = say(server, "resident:sim-00000000beef", f"接单 #{number}")
    assert answer["reply"] == NOT_STAFF
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, number).state == "open"


def test_a_retried_post_is_one_message(server: str, app: Flask) -> None:
    body = {"as": FRESH, "text": REPORT, "id": "retry-0001"}
    first, second = post(server, body).json(), post(server, body).json()
    assert first["reply"] == second["reply"] and first["id"] == second["id"]
    with app.extensions["linli"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_cursor_returns_only_what_is_new(server: str, app: Flask) -> None:
    say(server, FRESH, "你好")
    seen = transcript(server, FRESH)
    assert len(seen["messages"]) == 1
    say(server, FRESH, "帮助")
    later = transcript(server, FRESH, **{"in": seen["cursor"]["in"], "out": seen["cursor"]["out"]})
    assert [m["text"] for m in later["messages"]] == ["帮助"]
    assert later["messages"][0]["reply"]


def test_welcome_on_follow(server: str) -> None:
    response = post(server, {"as": FRESH, "event": "subscribe", "id": "follow-0001"})
    assert response.json()["reply"].startswith(WELCOME[:6])


def test_markup_comes_back_as_data(server: str) -> None:
    text = "<script>alert(1)</script>楼道灯坏了"
    answer = say(server, FRESH, text)
    assert answer["text"] == text
    page = requests.get(f"{server}/sim/api/conversation", params={"as": FRESH}, timeout=10)
    assert page.headers["Content-Type"].startswith("application/json")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.json()["messages"][-1]["text"] == text


@pytest.mark.parametrize("body, headers, status", [
    ({"as": FRESH, "text": "你好", "id": "abcdefgh1"}, {"Origin": "https://evil.example"}, 403),
    ({"as": FRESH, "text": "你好", "id": "abcdefgh2"}, {"Sec-Fetch-Site": "cross-site"}, 403),
    ({"as": FRESH, "text": "你好", "id": "abcdefgh3"}, {"Origin": "null"}, 403),
    ({"as": "resident:oNobodyWeKnow", "text": "你好", "id": "abcdefgh4"}, {}, 400),
    ({"as": "staff:999", "text": "接单 #1", "id": "abcdefgh5"}, {}, 400),
    ({"as": FRESH, "text": "你好"}, {}, 400),
    ({"as": FRESH, "text": "你好", "id": "short"}, {}, 400),
    ({"as": FRESH, "text": "   ", "id": "abcdefgh6"}, {}, 400),
    ({"as": FRESH, "text": "a\x00b", "id": "abcdefgh7"}, {}, 400),
    ({"as": FRESH, "text": ["你好"], "id": "abcdefgh8"}, {}, 400),
    ({"as": FRESH, "event": "unsubscribe", "id": "abcdefgh9"}, {}, 400),
    (["not", "an", "object"], {}, 400),
])
def test_bad_or_foreign_posts_change_nothing(server: str, app: Flask, body: Any,
                                             headers: dict[str, str], status: int) -> None:
    before = counts(app)
    response = post(server, body, **headers)
    assert response.status_code == status
    assert response.json()["error"]
    assert counts(app) == before


def test_too_long_is_answered_and_not_kept(server: str, app: Flask) -> None:
    before = counts(app)
    answer = say(server, FRESH, "电梯" * 600)
    assert answer["reply"] == TOO_LONG.format(limit=1000)
    assert counts(app) == before


def test_only_json_is_taken(server: str, app: Flask) -> None:
    before = counts(app)
    form = requests.post(f"{server}/sim/api/messages", data={"as": FRESH, "text": "你好", "id": "abcdefgh10"},
                         timeout=10)
    plain = requests.post(f"{server}/sim/api/messages", timeout=10, headers={"Content-Type": "text/plain"},
                          data='{"as": "resident:sim-0123456789ab", "text": "hi", "id": "abcdefgh11"}')
    assert (form.status_code, plain.status_code) == (415, 415)
    assert counts(app) == before


def test_same_origin_browser_post_is_taken(server: str) -> None:
    response = post(server, {"as": FRESH, "text": "你好", "id": "sameorigin1"},
                    Origin=server, **{"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200 and response.json()["reply"]


@pytest.mark.parametrize("params", [{"as": FRESH, "in": "abc"}, {"as": FRESH, "out": "-1"},
                                    {"as": "nobody"}, {}])
def test_bad_cursor_or_identity_is_refused(server: str, params: dict[str, str]) -> None:
    response = requests.get(f"{server}/sim/api/conversation", params=params, timeout=10)
    assert response.status_code == 400 and response.json()["error"]


def test_page_is_served_with_its_script(server: str) -> None:
    page = requests.get(f"{server}/sim", timeout=10)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script src="/static/sim.js">' in page.text and "<script>" not in page.text
    assert requests.get(f"{server}/static/sim.js", timeout=10).status_code == 200


# ---- off unless configured


def _without_sim(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    stripped = re.sub(r"\n\[sim\][^\[]*", "\n", text)
    assert "[sim]" in text and "[sim]" not in stripped
    path = tmp_path / "nosim.toml"
    path.write_text(stripped, encoding="utf-8")
    return path


@pytest.fixture(params=["absent", "false"])
def off_server(request: pytest.FixtureRequest, database: tuple[str, str | None],
               fake_wechat: FakeWeChat, clock: Clock, tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """The app with the simulator off: its key left out, or set to false."""
    if request.param == "false":
        app = make_app(database, fake_wechat, clock, settings={"sim.enabled": False})
    else:
        url, schema = database
        app = create_app({"config_path": str(_without_sim(tmp_path)), "clock": clock, "schema": schema,
                          "overrides": {"database.url": url, "wechat.api_base_url": fake_wechat.url}})
        services = app.extensions["linli"]
        upgrade(services.engine, hash_key=services.config.hash_key)
        with transaction(services.sessions) as session:
            demo_estate.load(session, "邻里花园", "和顺社区", "龙溪街道", history=False,
                             key=services.config.hash_key)
    served = Served(app)
    yield served.url, app
    served.close()
    app.extensions["linli"].close()


def test_off_says_so_and_refuses(off_server: tuple[str, Flask]) -> None:
    server, app = off_server
    before = counts(app)
    page = requests.get(f"{server}/sim", timeout=10)
    assert page.status_code == 404 and "聊天模拟器未开启" in page.text
    assert "sim.js" not in page.text
    refused = post(server, {"as": FRESH, "text": REPORT, "id": "offline-01"})
    assert refused.status_code == 404 and refused.json()["error"] == SIM_OFF
    for path in ("/sim/api/people", f"/sim/api/conversation?as={FRESH}"):
        assert requests.get(server + path, timeout=10).status_code == 404
    assert counts(app) == before


def test_sim_enabled_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(settings.ConfigError, match=r"\[sim\] enabled must be true or false"):
        settings.load(EXAMPLE, {"sim.enabled": "yes"})


# ---- `make run` says where the simulator is


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("enabled", [True, False])
def test_serve_prints_the_simulator_address_when_on(tmp_path: Path, enabled: bool) -> None:
    port = _free_port()
    text = EXAMPLE.read_text(encoding="utf-8").replace("port = 5000", f"port = {port}")
    assert "[scheduler]\nenabled = true" in text
    text = text.replace("[scheduler]\nenabled = true", "[scheduler]\nenabled = false")
    config = tmp_path / "serve.toml"
    text, found = re.subn(r"(\[sim\][^\n]*\nenabled = )true", rf"\g<1>{str(enabled).lower()}", text)
    assert found == 1
    config.write_text(text, encoding="utf-8")
    env = {**os.environ, "LINLI_CONFIG": str(config), "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "init-db"], cwd=PROJECT, env=env, check=True, capture_output=True, timeout=60)
    server = subprocess.Popen([*flask, "serve"], cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), seconds=30)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert f"serving on http://127.0.0.1:{port}" in out
    assert (f"http://127.0.0.1:{port}/sim" in out) is enabled


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False
