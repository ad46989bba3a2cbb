"""/board and /board.json: every ticket, filtered and paged, with nothing personal on show."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.replies.staff import NOT_STAFF, STAFF_NO_TICKET, STAFF_UNPUBLISHED
from models import Home, Owner, Resident, Ticket, transaction
from models.estate import phone_hash
from models.board import SCRUB_MASKS, scrub
from tests.conftest import START, cli
from tests.factories import WeChatPeer

STAFF_OPENID = "oStaffGridWang"
MASKS = SCRUB_MASKS
SECRET_TEXT = "5栋2单元1203门口漏水，电话13987654321，找张秀英"


def seed(app: Flask, specs: list[dict[str, Any]]) -> list[int]:
    """Insert tickets directly (one per spec, created a minute apart unless given); return ids."""
    services = app.extensions["linli"]
    ids = []
    with transaction(services.sessions) as session:
        reporter = Resident(openid="oSeedReporter", created_at=START, verified=False, following=True,
                            subscribed=False, pushes_since_inbound=0)
        session.add(reporter)
        session.flush()
        for n, spec in enumerate(specs):
            created = spec.pop("created_at", START - timedelta(days=1, minutes=len(specs) - n))
            fields = {"kind": "problem", "category": "elevator", "building": "3", "place": "3栋电梯",
                      "urgent": False, "text": "3栋电梯坏了", "state": "closed", "level": "grid",
                      "created_at": created, "updated_at": created + timedelta(hours=1),
                      "response_due_at": created + timedelta(days=1),
                      "resolve_due_at": created + timedelta(days=3)} | spec
            ticket = Ticket(reporter_id=reporter.id, **fields)
            session.add(ticket)
            session.flush()
            ids.append(ticket.id)
    return ids


def board(client: FlaskClient, **params: Any) -> dict[str, Any]:
    response = client.get("/board.json", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def numbers(client: FlaskClient, **params: Any) -> set[int]:
    return {t["id"] for t in board(client, size=100, **params)["tickets"]}


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    yield app.test_client()


def test_a_report_appears_with_every_public_field(peer: WeChatPeer, app: Flask,
                                                  client: FlaskClient) -> None:
    assert "#1" in (peer.say("3栋2单元501电梯坏了") or "")
    [row] = board(client)["tickets"]
    assert row["number"] == "#1" and row["category"] == "elevator" and row["category_name"] == "电梯"
    assert row["place"] == "3栋" and row["state"] == "open" and row["state_name"] == "待受理"
    assert row["opened_at"] == "2026-11-28T10:00:00+08:00" == row["updated_at"]  # Asia/Shanghai
    assert row["resolved_at"] is None and row["days_open"] == 0 and row["rating"] is None
    assert row["words"] is None and row["overdue"] is False  # not published yet
    page = client.get("/board").get_data(as_text=True)
    cells = re.search(r'<tr id="t1"[^>]*>(.*?)</tr>', page, re.S).group(1)
    for shown in ("#1", "电梯", "elevator", "3栋", "待受理", "2026-11-28", "0天"):
        assert shown in cells
    assert "501" not in page and "2单元" not in page


def test_days_dates_and_rating_of_a_fixed_ticket(app: Flask, client: FlaskClient) -> None:
    opened = datetime(2026, 11, 1, 16, 30, tzinfo=timezone.utc)  # 11-02 00:30 in Chongqing
    [number] = seed(app, [{"created_at": opened, "resolved_at": opened + timedelta(days=4, hours=2),
                           "updated_at": opened + timedelta(days=5), "rating": 4}])
    [row] = board(client)["tickets"]
    assert row["id"] == number and row["state_name"] == "已办结" and row["rating"] == 4
    assert row["opened_at"].startswith("2026-11-02T00:30") and row["days_open"] == 4
    assert row["resolved_at"].startswith("2026-11-06T02:30") and row["updated_at"].startswith("2026-11-07")
    assert "4分" in client.get("/board").get_data(as_text=True)


def test_every_filter_returns_exactly_its_tickets(app: Flask, client: FlaskClient) -> None:
    tz_edge = datetime(2026, 10, 31, 17, 0, tzinfo=timezone.utc)  # 11-01 01:00 in Chongqing
    specs = [
        {"state": "open", "category": "water", "building": "1"},
        {"state": "claimed", "category": "water", "building": "2", "assignee_id": None},
        {"state": "rejected", "category": "noise", "building": "2"},
        {"state": "closed", "category": "elevator", "building": "1", "created_at": tz_edge},
        {"state": "closed", "category": None, "kind": "suggestion", "building": None,
         "place": "中心花园", "created_at": tz_edge - timedelta(hours=2)},  # 10-31 23:00 there
        {"state": "resolved", "category": "noise", "building": "16"},
    ]
    ids = seed(app, [dict(s) for s in specs])
    expect = {
        (("state", "open"),): {ids[0]}, (("state", "rejected"),): {ids[2]},
        (("state", "closed"),): {ids[3], ids[4]},
        (("category", "water"),): {ids[0], ids[1]}, (("category", "suggestion"),): {ids[4]},
        (("building", "2"),): {ids[1], ids[2]}, (("building", "16"),): {ids[5]},
        (("month", "2026-11"),): set(ids) - {ids[4]}, (("month", "2026-10"),): {ids[4]},
        (("month", "2026-09"),): set(),
        (("state", "closed"), ("month", "2026-11")): {ids[3]},
        (("category", "noise"), ("building", "2")): {ids[2]},
        (("state", "resolved"), ("category", "noise"), ("building", "16"), ("month", "2026-11")):
            {ids[5]},
        (("state", ""), ("category", "")): set(ids),  # the form's 全部 sends empty values
    }
    for params, wanted in expect.items():
        assert numbers(client, **dict(params)) == wanted, params
    water = board(client, category="water", before=ids[4])  # #4 is the oldest ticket of all
    assert [t["id"] for t in water["tickets"]] == [ids[1], ids[0]] and water["older"] is None
    suggestion = next(t for t in board(client)["tickets"] if t["id"] == ids[4])
    assert suggestion["category_name"] == "建议" and suggestion["place"] == "中心花园"
    page = client.get("/board", query_string={"building": "2", "state": "rejected"}).get_data(as_text=True)
    assert f'id="t{ids[2]}"' in page and f'id="t{ids[1]}"' not in page
    assert '<option value="2" selected>' in page and '<option value="rejected" selected>' in page


def test_overdue_tickets_stand_out_and_filter(app: Flask, client: FlaskClient, clock) -> None:
    late, on_time, done = seed(app, [
        {"state": "open", "response_due_at": START - timedelta(hours=1)},
        {"state": "open", "response_due_at": START + timedelta(hours=1)},
        {"state": "closed", "response_due_at": START - timedelta(days=5)},
    ])
    assert numbers(client, state="overdue") == {late}
    closed = board(client, state="closed", before=late)  # nothing closed precedes #done
    assert [t["id"] for t in closed["tickets"]] == [done] and closed["older"] is None
    page = client.get("/board").get_data(as_text=True)
    row = {int(n): (cls, body) for n, cls, body in
           re.findall(r'<tr id="t(\d+)"( class="overdue")?>(.*?)</tr>', page, re.S)}
    assert row[late][0] and "已超时" in row[late][1]
    assert not row[on_time][0] and "已超时" not in row[on_time][1] and not row[done][0]
    clock.advance(hours=2)
    assert numbers(client, state="overdue") == {late, on_time}


def test_pages_walk_every_ticket_once_both_ways(app: Flask, client: FlaskClient) -> None:
    base = START - timedelta(days=30)
    # 230 tickets; some share an opening time, so the order must break ties by number
    ids = seed(app, [{"created_at": base + timedelta(minutes=n // 3)} for n in range(230)])
    newest_first = sorted(ids, key=lambda i: (ids.index(i) // 3, i), reverse=True)
    seen, link, pages = [], "/board.json?size=20", 0
    while link:
        body = client.get(link).get_json()
        seen += [t["id"] for t in body["tickets"]]
        link, pages = body["older"], pages + 1
    assert seen == newest_first and pages == 12
    back, link = [], f"/board.json?size=20&before={newest_first[-1]}"
    while link:
        body = client.get(link).get_json()
        back = [t["id"] for t in body["tickets"]] + back
        link = body["newer"]
    assert back == newest_first[:-1]
    top = board(client, size=20, before=newest_first[5])
    assert [t["id"] for t in top["tickets"]] == newest_first[:5] and top["newer"] is None
    assert top["older"] == f"/board.json?size=20&after={newest_first[4]}" and top["first"]
    deep = board(client, size=5, after=newest_first[200])["tickets"]  # straight to a deep page
    assert [t["id"] for t in deep] == newest_first[201:206]
    html = client.get(f"/board?size=20&after={newest_first[39]}").get_data(as_text=True)
    assert f"after={newest_first[59]}" in html and f"before={newest_first[40]}" in html


def test_page_size_is_bounded(app: Flask, client: FlaskClient) -> None:
    seed(app, [{} for _ in range(120)])
    assert len(board(client)["tickets"]) == 50
    assert len(board(client, size=100)["tickets"]) == 100
    assert client.get("/board.json?size=101").status_code == 400


@pytest.mark.parametrize(("params", "says"), [
    ({"state": "done"}, "状态"), ({"state": "<script>x</script>"}, "状态"),
    ({"category": "lift"}, "类别"), ({"building": "99"}, "99"), ({"building": "3-2"}, "楼栋"),
    ({"month": "2026-13"}, "2026-11"), ({"month": "11/2026"}, "年-月"), ({"month": "1999-01"}, "年-月"),
    ({"size": "0"}, "1 到 100"), ({"size": "abc"}, "每页"), ({"size": "-5"}, "每页"),
    ({"after": "abc"}, "第一页"), ({"after": "999999"}, "第一页"), ({"before": "1e9"}, "第一页"),
    ({"after": "1", "before": "2"}, "同时"),
])
def test_bad_parameters_get_a_clear_400(app: Flask, client: FlaskClient, params: dict[str, str],
                                        says: str) -> None:
    seed(app, [{}, {}])
    response = client.get("/board.json", query_string=params)
    assert response.status_code == 400 and says in response.get_json()["error"]
    page = client.get("/board", query_string=params)
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and says in text and "回到公示清单" in text
    assert "<script>x" not in text  # the bad value is shown, escaped


def test_pages_carry_a_strict_csp_and_no_inline_code(app: Flask, client: FlaskClient) -> None:
    seed(app, [{"state": "open", "response_due_at": START - timedelta(hours=1)}])
    for path in ("/board", "/board.json", "/board?state=nope"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = client.get("/board").get_data(as_text=True)
    assert "<script" not in page and "style=" not in page and "<style" not in page
    assert 'href="/static/board.css"' in page
    with client.get("/static/board.css") as sheet:
        assert sheet.status_code == 200 and b"overdue" in sheet.data


def test_the_filter_form_is_a_plain_labelled_get_form(app: Flask, client: FlaskClient) -> None:
    seed(app, [{}])
    page = client.get("/board").get_data(as_text=True)
    form = re.search(r'<form class="filters" method="get"[^>]*>(.*?)</form>', page, re.S).group(1)
    for name in ("state", "category", "building", "month"):
        select = re.search(rf'<select id="([^"]+)" name="{name}">', form)
        assert select and f'<label for="{select.group(1)}">' in form
    assert '<option value="16">16栋</option>' in form and '<option value="2026-11">' in form
    assert '<table id="board">' in page


def register_staff(app: Flask) -> None:
    cli(app, "staff", "add", "--id", STAFF_OPENID, "--channel", "wechat", "--name", "王网格",
        "--role", "grid")


def bind_named_owner(app: Flask, openid: str) -> None:
    """The resident lives at 5栋2单元1203, whose owner 张秀英 has phone 13987654321."""
    with transaction(app.extensions["linli"].sessions) as session:
        home = session.query(Home).filter(Home.room == "1203").first()
        key = app.extensions["linli"].config.hash_key
        home.owner = Owner(name="张秀英", phone_hash=phone_hash(key, "13987654321"), phone_tail="4321")
        session.add(Resident(openid=openid, home=home, role="owner", verified=True, following=True,
                             subscribed=False, created_at=START, pushes_since_inbound=0))


def test_nothing_personal_reaches_the_board(peer: WeChatPeer, app: Flask, client: FlaskClient) -> None:
    openid = "oResidentZhangXiuying0001"
    bind_named_owner(app, openid)
    register_staff(app)
    assert "#1" in (peer.say(SECRET_TEXT, openid=openid) or "")
    assert "#2" in (peer.say("<script>alert('x')</script> 3栋路灯坏了", openid=openid) or "")
    published = peer.say("公示 #1", openid=STAFF_OPENID) or ""
    assert "已公示" in published and "13987654321" not in published and "1203" not in published
    peer.say("公示 #2", openid=STAFF_OPENID)
    # Open311's default window ends at this instant, which a frozen clock's tickets share
    window = "start_date=2026-11-01T00:00:00%2B08:00&end_date=2026-12-01T00:00:00%2B08:00"
    requests = [client.get(f"/open311/v2/requests.{ext}?{window}") for ext in ("json", "xml")]
    assert len(requests[0].get_json()) == 2 and requests[1].data.count(b"<request>") == 2
    shown = [client.get("/board").get_data(as_text=True), client.get("/board.json").get_data(as_text=True),
             *(r.get_data(as_text=True) for r in requests)]
    for text in shown:
        for secret in ("13987654321", "1203", "2单元", "张秀英", openid, STAFF_OPENID, "王网格",
                       "media_id", "http://mmbiz"):
            assert secret not in text, secret
    words = {t["id"]: t["words"] for t in board(client)["tickets"]}
    assert words[1] == scrub(SECRET_TEXT, MASKS, ["张秀英"])
    assert MASKS["phone"] in words[1] and MASKS["name"] in words[1] and words[1].startswith("5栋")


def test_resident_words_are_escaped(peer: WeChatPeer, app: Flask, client: FlaskClient) -> None:
    register_staff(app)
    peer.say("<script>alert('x')</script><b>3栋</b>路灯坏了")
    peer.say("公示 #1", openid=STAFF_OPENID)
    page = client.get("/board").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>3栋" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;3栋&lt;/b&gt;路灯坏了" in page
    assert board(client)["tickets"][0]["words"].startswith("<script>")  # JSON is data, not markup


def test_only_staff_may_publish_and_withdraw(peer: WeChatPeer, app: Flask, client: FlaskClient) -> None:
    register_staff(app)
    peer.say("3栋电梯坏了，电话13912345678")
    assert peer.say("公示 #1", openid="oSomeOtherResident") == NOT_STAFF
    assert peer.say("撤回公示 #1", openid="oSomeOtherResident") == NOT_STAFF
    assert board(client)["tickets"][0]["words"] is None
    with app.extensions["linli"].sessions() as session:
        assert session.get(Ticket, 1).public_text is None
        assert [e.action for e in session.get(Ticket, 1).events] == ["opened"]
    reply = peer.say("公示 #1", openid=STAFF_OPENID) or ""
    assert reply.startswith("工单 #1 的居民原话已公示") and MASKS["phone"] in reply
    assert board(client)["tickets"][0]["words"] == f"3栋电梯坏了，电话{MASKS['phone']}"
    assert "已经公示" in (peer.say("公示 #1", openid=STAFF_OPENID) or "")
    assert peer.say("公示 #9", openid=STAFF_OPENID) == STAFF_NO_TICKET.format(number=9)
    assert peer.say("撤回公示 #1", openid=STAFF_OPENID) == STAFF_UNPUBLISHED.format(number=1)
    assert board(client)["tickets"][0]["words"] is None
    with app.extensions["linli"].sessions() as session:
        events = session.get(Ticket, 1).events
        assert [e.action for e in events] == ["opened", "published", "unpublished"]
        assert events[1].actor.endswith("王网格")


def test_publish_from_the_command_line(app: Flask, client: FlaskClient) -> None:
    [number] = seed(app, [{"text": "7-1-302家门口的灯坏了"}])
    out = cli(app, "board", "publish", str(number))
    assert f"#{number} published" in out and "302" not in out
    assert board(client)["tickets"][0]["words"] == f"{MASKS['room']}家门口的灯坏了"
    assert "withdrawn" in cli(app, "board", "unpublish", str(number))
    assert board(client)["tickets"][0]["words"] is None
    missing = app.test_cli_runner().invoke(args=["board", "publish", "999"])
    assert missing.exit_code != 0 and "no ticket #999" in missing.output


BOARD, STATE, CATEGORY = "ix_tickets_board", "ix_tickets_board_state", "ix_tickets_board_category"
PLANS = {  # what the reader asks -> the indexes that may serve it, and whether a sort may follow
    "first page": ({}, {BOARD}, False),
    "deep page": ({"after": 2}, {BOARD}, False),
    "newer page": ({"before": 2}, {BOARD}, False),
    "state": ({"state": "closed", "after": 2}, {STATE}, False),
    "category": ({"category": "water", "after": 2}, {CATEGORY}, False),
    "building": ({"building": "3", "after": 2}, {"ix_tickets_board_building"}, False),
    "month": ({"month": "2026-11", "after": 2}, {BOARD}, False),
    "suggestion": ({"category": "suggestion"}, {"ix_tickets_board_suggestions", CATEGORY}, False),
    # open tickets are few: walking the board's order, or sorting the open ones, both stay small
    "overdue": ({"state": "overdue"}, None, True),
}


@pytest.mark.parametrize("case", list(PLANS))
def test_every_filter_and_deep_page_reads_an_index_in_order(app: Flask, client: FlaskClient,
                                                             case: str) -> None:
    """The board's queries walk an index in the board's order: no table scan, no sort."""
    from sqlalchemy import event

    seed(app, [{"category": c, "state": s} for c in ("water", "noise") for s in ("open", "closed")])
    params, indexes, may_sort = PLANS[case]
    engine = app.extensions["linli"].engine
    statements: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY tickets.created_at" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        board(client, **params)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    [(statement, parameters)] = statements
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        if engine.dialect.name == "sqlite":
            plan = " ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))
            used = re.search(r"USING INDEX (\w+)", plan)
            assert used and (indexes is None or used.group(1) in indexes), plan
            assert may_sort or "TEMP B-TREE" not in plan, plan
            return
        with raw.cursor() as cursor:  # a handful of rows: make PostgreSQL show what an index can do
            cursor.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = " ".join(r[0] for r in cursor.fetchall())
        raw.rollback()
    used = re.search(r"Index Scan (?:Backward )?using (\w+)", plan)
    assert used and (indexes is None or used.group(1) in indexes), plan
    assert (may_sort or "Sort" not in plan) and "Seq Scan" not in plan, plan
