"""Every console route, with every level and scope: each outsider gets 403 and nothing changes.

The routes come from the app's url_map, so a route added tomorrow is tried here without
anyone listing it. Each route is called with every target it can name (URL variables, and
the query and form fields the guard checks) pointing at things outside the operator's reach.
A target this test does not know fails it, saying which: add an outside thing for it below.
"""
from __future__ import annotations

import re
import time
from typing import Any, Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from models import Base, Estate, OutboxMessage, Staff, Ticket
from models.staff import LEVELS
from tests.conftest import cli
from tests.console_factories import ConsoleBrowser, add_operator
from tests.factories import WeChatPeer
from tests.test_staff import register
from web.console import TARGETS, allowed_levels, unchecked_routes

DEMO = "邻里花园"  # the demo estate (和顺社区, 龙溪街道): every ticket and staff member is its
OTHER_ESTATES = [("东苑", "和顺社区", "龙溪街道"), ("西苑", "白沙社区", "龙溪街道"),
                 ("南苑", "江北社区", "石桥街道")]
# Operators who reach none of the demo estate's tickets, staff or messages: one per level.
OUTSIDERS = [
    ("外网格", "grid", {"estate": DEMO, "buildings": "20-21"}),  # same estate, other buildings
    ("外物业", "property", {"estate": "东苑"}),
    ("外小区", "estate", {"estate": "东苑"}),
    ("外社区", "community", {"estate": "西苑"}),  # 白沙社区
    ("外街道", "street", {"estate": "南苑"}),  # 石桥街道
]
# Operators inside: the demo estate is theirs (grid: buildings 1-5).
INSIDERS = [
    ("内网格", "grid", {"estate": DEMO, "buildings": "1-5", "staff": "li"}),
    ("内物业", "property", {"estate": DEMO, "staff": "zhao"}),
    ("内小区", "estate", {"estate": DEMO, "staff": "sun"}),
    ("内社区", "community", {"estate": DEMO}),
    ("内街道", "street", {"estate": DEMO}),
]


@pytest.fixture
def world(app: Flask, peer: WeChatPeer) -> dict[str, int]:
    """Two tickets (buildings 3 and 9), staff, a failed message, and the other estates."""
    register(app)
    assert "#1" in (peer.say("3栋2单元楼道灯坏了", openid="oScopeResidentA000000000001") or "")
    assert "#2" in (peer.say("9栋门口垃圾没人清", openid="oScopeResidentB000000000002") or "")
    services = app.extensions["linli"]
    with services.sessions() as session:
        session.add_all(Estate(name=n, community=c, street=s) for n, c, s in OTHER_ESTATES)
        message = OutboxMessage(dedupe_key="scope:failed", channel="wechat",
                                recipient="oScopeResidentA000000000001", kind="text", body="测试",
                                status="failed", attempts=8, due_at=services.clock(),
                                created_at=services.clock(), last_error="45015")
        session.add(message)
        session.commit()
        demo = session.scalar(select(Estate.id).where(Estate.name == DEMO))
        zhao = session.scalar(select(Staff.id).where(Staff.user_id == "zhao"))
        ids = {"estate": demo, "ticket": 1, "other": 2, "staff": zhao, "message": message.id}
    ids["vote"] = int(cli(app, "vote", "create", "--title", "外墙维修", "--kind", "consultation",
                          "--estate", DEMO, "--closes", "2026-12-05T18:00").strip().splitlines()[-1][1:])
    for name, level, options in OUTSIDERS + INSIDERS:
        add_operator(app, name, level, **options)
    settled(app)  # the new tickets' cards are out: nothing moves in the background while we look
    return ids


def settled(app: Flask) -> None:
    """Wait until the outbox has sent what the tickets queued."""
    def waiting() -> int:
        with app.extensions["linli"].sessions() as session:
            return session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_(("pending", "sending"))))
    deadline = time.monotonic() + 20
    while waiting():
        assert time.monotonic() < deadline, "the outbox did not settle"
        time.sleep(0.05)


def snapshot(app: Flask) -> dict[str, list[str]]:
    """Every row of every table, as text."""
    with app.extensions["linli"].sessions() as session:
        return {table.name: sorted(repr(tuple(row)) for row in session.execute(table.select()))
                for table in Base.metadata.sorted_tables}


def routes(app: Flask) -> Iterator[tuple[str, str, Any]]:
    """(endpoint, method, rule) of every console route but signing in."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.endpoint.startswith("console.") or getattr(view, "console_public", False):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, rule


def call(app: Flask, browser: ConsoleBrowser, endpoint: str, method: str, rule: Any,
         targets: dict[str, int]) -> int:
    """Call a route with every target named, and the action fields a form would carry."""
    unknown = set(rule.arguments) - set(targets)
    assert not unknown, f"{rule.rule}: give this test an outside thing for {unknown}"
    path = app.url_map.bind("localhost").build(endpoint, {a: targets[a] for a in rule.arguments},
                                               method=method)
    fields = {name: targets[name] for name in TARGETS} | {"do": "claim", "text": "测试",
                                                          "name": "新人", "user_id": "x1",
                                                          "channel": "wecom", "role": "grid"}
    if method == "GET":
        return browser.get(path, **fields).status_code
    token = browser.token("/console/")
    return browser.http.post(browser.server + path, params=fields, data=fields | {"csrf_token": token},
                             allow_redirects=False, timeout=30).status_code


def test_every_route_refuses_every_outsider_and_changes_nothing(
        app: Flask, server: str, world: dict[str, int]) -> None:
    missing = set(TARGETS) - set(world)
    assert not missing, f"give this test an outside thing for the targets {missing}"
    tried = 0
    for name, _level, _options in OUTSIDERS:
        browser = ConsoleBrowser(server)
        assert browser.sign_in(name).status_code == 302
        for endpoint, method, rule in routes(app):
            before = snapshot(app)
            status = call(app, browser, endpoint, method, rule, world)
            assert status == 403, f"{name} {method} {rule.rule}: {status}"
            assert snapshot(app) == before, f"{name} {method} {rule.rule} changed the database"
            tried += 1
    assert tried >= 5 * 15


def test_every_route_refuses_the_levels_it_does_not_allow(
        app: Flask, server: str, world: dict[str, int]) -> None:
    refused = 0
    for name, level, _options in INSIDERS:
        browser = ConsoleBrowser(server)
        assert browser.sign_in(name).status_code == 302
        for endpoint, method, rule in routes(app):
            if level in allowed_levels(app.view_functions[endpoint]):
                continue
            before = snapshot(app)
            status = call(app, browser, endpoint, method, rule, world)
            assert status == 403, f"{name} {method} {rule.rule}: {status}"
            assert snapshot(app) == before, f"{name} {method} {rule.rule} changed the database"
            refused += 1
    assert refused >= 10  # grid has no households, staff, outbox or audit; property no audit


def test_insiders_reach_what_the_outsiders_could_not(
        app: Flask, server: str, world: dict[str, int]) -> None:
    for name, level, _options in INSIDERS:
        browser = ConsoleBrowser(server)
        browser.sign_in(name)
        page = browser.get(f"/console/tickets/{world['ticket']}", estate=world["estate"])
        assert page.status_code == 200, (name, page.status_code)
        queue = browser.get("/console/tickets", state="all")
        numbers = set(re.findall(r">#(\d+)<", queue.text))
        assert numbers == ({"1"} if level == "grid" else {"1", "2"}), (name, numbers)
    with app.extensions["linli"].sessions() as session:
        east = session.scalar(select(Estate.id).where(Estate.name == "东苑"))
    street = ConsoleBrowser(server)
    street.sign_in("内街道")
    queue = street.get("/console/tickets", state="all", estate=east)  # one of the street's estates
    assert queue.status_code == 200 and "东苑" in queue.text and not re.findall(r">#(\d+)<", queue.text)
    for name, _level, _options in OUTSIDERS:
        browser = ConsoleBrowser(server)
        browser.sign_in(name)
        queue = browser.get("/console/tickets", state="all")
        assert queue.status_code == 200 and not re.findall(r">#(\d+)<", queue.text), name


def test_every_level_is_tried() -> None:
    assert {level for _, level, _ in OUTSIDERS} == set(LEVELS) == {level for _, level, _ in INSIDERS}


def test_a_route_naming_an_unchecked_variable_is_caught() -> None:
    probe = Flask("probe")
    probe.add_url_rule("/console/things/<int:thing>", endpoint="console.thing",
                       view_func=lambda thing: "")
    probe.add_url_rule("/console/tickets/<int:ticket>", endpoint="console.fine",
                       view_func=lambda ticket: "")
    assert unchecked_routes(probe) == ["/console/things/<int:thing>"]


def test_ticket_and_other_targets_cover_each_thing(world: dict[str, int], app: Flask) -> None:
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, world["ticket"]).building == "3"
        assert session.get(Ticket, world["other"]).building == "9"
