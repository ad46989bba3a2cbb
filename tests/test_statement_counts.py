"""What a message costs the database: SQL statements per kind of message, through the real webhook.

Each kind of message is sent through `/wechat` (or `/wecom` for a staff claim) with real
signatures, and every statement the app sends to the database while handling it is counted
(SQLAlchemy's `before_cursor_execute` on the app's engine: the dedupe claim, which keeps the
request's nonce; the resident's stamp, which takes their rate-limit token; the dialogue,
routing, staff cards, outbox rows, savepoints, and the stored reply). SQLite's
`BEGIN IMMEDIATE` is left out, since PostgreSQL's driver begins its transactions without a
statement the event sees; the counts are then the same on both. Delivery is not counted: the outbox sender sends the queued rows after the commit,
on its own thread, as it would for a scheduled job. A count above its budget fails, so a
change that adds a statement to a common message is seen the day it is made.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import event, text

from tests.conftest import Clock
from tests.factories import WeChatPeer, stamp, text_xml
from tests.test_staff import register
from tests.test_votes import create_vote
from tests.wecom_factories import app_peer

# The most statements each kind of message may cost, on SQLite and on PostgreSQL alike.
BUDGETS = {
    "retry": 1,  # the claim finds the stored reply
    "retry_new_nonce": 2,  # and keeps the other nonce the retry came under
    "greeting": 3,  # the claim (with the nonce), the stamp (with the rate limit), the reply
    "help": 3,
    "status": 4,
    "status_one": 4,
    "status_after_a_fix": 4,  # a fix over a week old: the stamp says so, no read of the ticket
    "vote": 6,
    "report": 12,  # a message that changes a ticket: +1, the upsert of the figures' rollups
    "report_bound": 13,  # from a resident bound to a home: its estate read once, not twice
    "report_not_the_same": 12,  # 不是 to the offer of a like ticket: opened, the offered one unread
    "rating": 8,  # +1, the rollups' upsert
    "bind": 15,
    "claim": 11,  # +1, the rollups' upsert
}
# Threads whose statements are not the message's: delivery after commit, the spool's replays.
NOT_THE_MESSAGE = ("outbox", "spool")
RESIDENT = "oCountingResident"
NEIGHBOUR = "oCountingNeighbour"
BEGIN = "BEGIN IMMEDIATE"  # SQLite's (models/db.py); PostgreSQL's driver sends its own unseen


class Counter:
    """Statements sent to one engine, kept per thread; `measure` counts one message's."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.statements: list[str] = []
        self.rewritten: set[str] = set()  # statements SQLAlchemy completed at execution
        self._lock = threading.Lock()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any,
                 _many: bool) -> None:
        if threading.current_thread().name.startswith(NOT_THE_MESSAGE) or statement == BEGIN:
            return
        compiled = getattr(context, "compiled", None)
        with self._lock:
            self.statements.append(statement)
            if compiled is not None and (compiled.post_compile_params or compiled.literal_execute_params):
                self.rewritten.add(" ".join(statement.split())[:200])

    def measure(self, send: Callable[[], object]) -> tuple[object, list[str]]:
        """Send one message a second after the last; return its outcome and the statements it cost."""
        self.clock.advance(seconds=1)  # as in life: what a message stamps (last_inbound_at) changes
        with self._lock:
            self.statements.clear()
        outcome = send()
        with self._lock:
            return outcome, list(self.statements)


@pytest.fixture
def counter(app: Flask, clock: Clock) -> Iterator[Counter]:
    engine = app.extensions["linli"].engine
    counting = Counter(clock)
    event.listen(engine, "before_cursor_execute", counting)
    yield counting
    event.remove(engine, "before_cursor_execute", counting)


def owner_digits(app: Flask) -> str:
    from models import find_home
    with app.extensions["linli"].sessions() as session:
        return find_home(session, "5", "2", "1203").owner.phone_tail


def check(counts: dict[str, int], kind: str, statements: list[str]) -> None:
    counts[kind] = len(statements)
    listing = "\n".join(f"  {' '.join(s.split())[:400]}" for s in statements)
    assert len(statements) <= BUDGETS[kind], (
        f"{kind}: {len(statements)} statements, budget {BUDGETS[kind]}:\n{listing}")


def test_each_kind_of_message_stays_within_its_statement_budget(
        peer: WeChatPeer, server: str, app: Flask, counter: Counter,
        capsys: pytest.CaptureFixture[str]) -> None:
    register(app)  # grid Wang (WeChat, 1-5), grid Li (WeCom, 3栋2单元), property Zhao (elevator)...
    number = create_vote(app, "--title", "中心花园加座椅", "--kind", "consultation")
    peer.say("你好", openid=RESIDENT)  # the resident is known from here on, as most writers are
    counts: dict[str, int] = {}

    reply, cost = counter.measure(lambda: peer.say("你好", openid=RESIDENT))
    assert reply, reply
    check(counts, "greeting", cost)
    reply, cost = counter.measure(lambda: peer.say("帮助", openid=RESIDENT))
    assert reply and "报修" in reply, reply
    check(counts, "help", cost)

    reply, cost = counter.measure(lambda: peer.say("3栋2单元电梯坏了", openid=RESIDENT))
    assert reply and "#1" in reply and "电梯" in reply, reply
    check(counts, "report", cost)

    asked, signed = text_xml("查询", openid=RESIDENT, msg_id=88_000_001), stamp(counter.clock)
    first, cost = counter.measure(lambda: peer.post(asked, timestamp=signed, nonce="n-status"))
    assert first.content and "#1" in first.content, first  # type: ignore[attr-defined]
    check(counts, "status", cost)
    again, cost = counter.measure(lambda: peer.post(asked, timestamp=signed, nonce="n-status"))
    assert again.content == first.content  # type: ignore[attr-defined]
    check(counts, "retry", cost)
    again, cost = counter.measure(lambda: peer.post(asked, timestamp=signed, nonce="n-status-2"))
    assert again.content == first.content  # type: ignore[attr-defined]
    check(counts, "retry_new_nonce", cost)
    reply, cost = counter.measure(lambda: peer.say("查一下#1", openid=RESIDENT))
    assert reply and "#1" in reply, reply
    check(counts, "status_one", cost)

    li = app_peer(server, app)
    reply, cost = counter.measure(lambda: li.say("接单 #1", userid="li"))
    assert reply and "#1" in reply, reply
    check(counts, "claim", cost)
    assert "#1" in (li.say("完成 #1 已修好", userid="li") or "")
    reply, cost = counter.measure(lambda: peer.say("满意", openid=RESIDENT))
    assert reply and "#1" in reply, reply
    check(counts, "rating", cost)

    digits = owner_digits(app)
    reply, cost = counter.measure(lambda: peer.say(f"绑定 5栋2单元1203 {digits}", openid=RESIDENT))
    assert reply and "绑定成功" in reply, reply
    check(counts, "bind", cost)
    reply, cost = counter.measure(lambda: peer.say(f"投票 #{number} 同意", openid=RESIDENT))
    assert reply and f"#{number}" in reply, reply
    check(counts, "vote", cost)

    reply, cost = counter.measure(lambda: peer.say("3栋2单元楼道灯不亮了", openid=RESIDENT))
    assert reply and "#2" in reply, reply
    check(counts, "report_bound", cost)
    assert "#2" in (li.say("接单 #2", userid="li") or "")
    assert "#2" in (li.say("完成 #2 已换灯", userid="li") or "")  # resolved, never rated
    counter.clock.advance(days=8)
    reply, cost = counter.measure(lambda: peer.say("查询", openid=RESIDENT))
    assert reply and "#2" in reply, reply
    check(counts, "status_after_a_fix", cost)
    assert "#3" in (peer.say("4栋1单元楼道灯不亮了", openid=RESIDENT) or "")
    peer.say("你好", openid=NEIGHBOUR)
    offered = peer.say("4栋1单元的楼道灯不亮了", openid=NEIGHBOUR) or ""
    assert "#3" in offered and "不是" in offered, offered  # the same problem: follow #3?
    reply, cost = counter.measure(lambda: peer.say("不是", openid=NEIGHBOUR))
    assert reply and "#4" in reply, reply
    check(counts, "report_not_the_same", cost)
    with capsys.disabled():
        print("\nstatements per message:", counts)
    # An IN of a list (or a literal_execute parameter) is written into the statement at every
    # execution, after the cache: on the claim every message makes, that was a tenth of its cost.
    assert counter.rewritten == set(), counter.rewritten


def test_the_stamp_is_short_enough_for_psycopg_to_keep_it_parsed() -> None:
    """psycopg keeps the parsed form of a statement only when it is short enough
    (MAX_CACHED_STATEMENT_LENGTH bytes, MAX_CACHED_STATEMENT_PARAMS parameters); above that every
    message would parse the resident's stamp anew, as it did when the rate limit's refill made it
    10 kB: a fifth of a status question's CPU on PostgreSQL."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS
    from sqlalchemy.dialects import postgresql

    from bot.ratelimit import Limiter
    from bot.turn import _stamp_taking

    compiled = _stamp_taking(Limiter(per_minute=20, burst=10), "postgresql").statement.compile(
        dialect=postgresql.dialect())
    assert len(str(compiled).encode()) <= MAX_CACHED_STATEMENT_LENGTH
    assert len(compiled.params) <= MAX_CACHED_STATEMENT_PARAMS


def test_a_residents_words_are_read_before_the_transaction_takes_the_database(
        peer: WeChatPeer, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a message's transaction holds the one write lock from its first statement;
    reading the words (the intent engine) needs no database, so it happens before, once."""
    import intents.engine

    engine, reader = app.extensions["linli"].engine, intents.engine.default_engine()
    open_here: set[int] = set()  # threads inside a transaction of the app's engine
    readings: list[tuple[str, bool]] = []
    real_parse = reader.parse

    def begin(_conn: Any) -> None:
        open_here.add(threading.get_ident())

    def end(_conn: Any) -> None:
        open_here.discard(threading.get_ident())

    def parse(text: str, expect: str | None = None) -> Any:  # the real reading, noted
        readings.append((text, threading.get_ident() in open_here))
        return real_parse(text, expect)

    for name, listener in (("begin", begin), ("commit", end), ("rollback", end)):
        event.listen(engine, name, listener)
    monkeypatch.setattr(reader, "parse", parse)
    try:
        peer.say("你好", openid=RESIDENT)
        readings.clear()
        assert "#1" in (peer.say("3栋2单元电梯坏了", openid=RESIDENT) or "")
        assert "#1" in (peer.say("查询", openid=RESIDENT) or "")
    finally:
        for name, listener in (("begin", begin), ("commit", end), ("rollback", end)):
            event.remove(engine, name, listener)
    assert readings == [("3栋2单元电梯坏了", False), ("查询", False)]


def test_an_emergency_many_report_costs_the_same_for_its_last_reporter_as_for_its_second(
        peer: WeChatPeer, app: Flask, counter: Counter) -> None:
    """Each resident who reports an open emergency follows it, and everyone told of it hears
    "又有一位居民报告了同一件事" under a key numbered by the ticket's log. The log's length is
    asked of the database: read whole, a power cut that 300 residents report would load 1, 2, …
    300 events, one report after another."""
    from models import TicketEvent

    register(app)
    assert "#1" in (peer.say("3栋2单元电梯困人了", openid=RESIDENT) or "")
    loaded: list[object] = []

    def load(target: object, _context: object) -> None:
        loaded.append(target)

    event.listen(TicketEvent, "load", load)
    costs: list[int] = []
    try:
        for n in range(12):
            neighbour = f"oNeighbour{n:02d}"
            peer.say("你好", openid=neighbour)  # known to the bot, as most writers are
            reply, cost = counter.measure(lambda: peer.say("3栋电梯关到人了", openid=neighbour))
            assert reply and "#1" in reply and "正在处理" in reply, reply
            costs.append(len(cost))
    finally:
        event.remove(TicketEvent, "load", load)
    assert loaded == []  # no event of the log was read to count them
    assert costs[-1] == costs[0], costs
    with app.extensions["linli"].sessions() as session:
        keys = [key for (key,) in session.execute(
            text("SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE 'ticket:1:also:%'"))]
    stages = {key.split(":")[3] for key in keys}
    assert len(stages) == 12, sorted(keys)  # each report told under a stage of its own


def test_the_first_message_a_process_reads_loads_the_engine_after_its_claim(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the intent engine takes a second or more; the request waits only CLAIM_TIMEOUT
    for its message to be claimed, so reading ahead never loads it (the handler does, after the
    claim, within the reply's deadline)."""
    import intents
    import intents.engine

    loaded = intents.engine.default_engine()
    made: list[object] = []

    def make() -> object:
        made.append(loaded)
        return loaded

    monkeypatch.setattr(intents.engine, "_default", None)
    monkeypatch.setattr(intents.engine, "Engine", make)
    with intents.read_ahead("查询"):
        assert made == []  # not loaded ahead
        assert intents.parse("查询").intent == "query_status"  # the handler's reading loads it
    assert made == [loaded]
    with intents.read_ahead("查询"):  # once loaded, read ahead as before
        assert intents.engine._ahead.parse is not None

