"""Webhook benchmark: the bot under gunicorn beside a bare echo app and WeRoBot, same run, interleaved.

Each server runs under gunicorn with 2 sync workers on 127.0.0.1. The load comes from separate
processes (4 by default) with threads, 32 connections in all, a new connection per message
(gunicorn's sync workers close each one anyway), for `--duration` seconds per measurement. Every
message is a signed plaintext text message with its own MsgId from one of the demo estate's 300
residents (each connection speaks for its own nine or ten): half reports (buildings 1-16, units,
the demo's problem texts), half status queries. When the bot offers an open ticket of the same
problem in the same building instead of opening one, the resident answers 不是, which opens it,
so every report ends in a new ticket (the answer counts as a message). The baselines get the
same reports and queries (they never offer, so never get the answer).

Measured, rounds interleaved (bot on SQLite, bot on PostgreSQL, echo, WeRoBot; again):
- messages/s completed inside the window; p50 and p99 latency (connect to last byte);
- server CPU per message: the gunicorn workers' utime+stime (/proc/<pid>/stat) over the window,
  plus, on PostgreSQL, the app's database backends';
- the load generator's own CPU per message and its share of the machine, and the messages in
  flight (rate x mean latency): 32 of 32 means every connection waited on the server.

The bot's outbound API (staff cards, late replies) goes to tests/fakes.py's FakeWeChat, served in
a process of its own; nothing leaves the machine. PostgreSQL: a scratch database created and
dropped here. `python bench/bench_webhook.py --duration 20 --rounds 2` (defaults).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (PROJECT, children, cpu_seconds, percentile, pg_create, pg_drop,  # noqa: E402
                          pg_plain, pg_url, result, row)
from wechatpy.utils import WeChatSigner  # noqa: E402

TOKEN = "linli-demo-token"  # config.example.toml's [wechat].token; the baselines use the same
BIN = Path(sys.executable).parent
RESIDENTS = [f"oDemoResident{n:04d}" for n in range(300)]  # models/demo_history.py
BUILDINGS = {b: units for b, units, _f, _d in (
    (1, 2, 0, 0), (2, 2, 0, 0), (3, 3, 0, 0), (4, 2, 0, 0), (5, 2, 0, 0), (6, 3, 0, 0), (7, 2, 0, 0),
    (8, 2, 0, 0), (9, 3, 0, 0), (10, 2, 0, 0), (11, 2, 0, 0), (12, 3, 0, 0), (13, 2, 0, 0),
    (14, 2, 0, 0), (15, 3, 0, 0), (16, 1, 0, 0))}
PROBLEMS = ("电梯运行时异响很大", "电梯门关不拢", "楼下垃圾桶满了没人收", "楼道里有股臭味", "楼道灯不亮了",
            "声控灯不灵", "下水道堵了反水", "楼顶水箱漏水", "单元门闭门器坏了", "外墙瓷砖掉了几块",
            "楼道里堆满杂物堵住通道", "有人飞线给电瓶车充电", "绿化带被挖了种菜", "单元门禁坏了谁都能进",
            "楼上装修太早就开始打电钻", "地库道闸抬不起来")
QUERIES = ("我报的修好没", "查一下我的报修", "我反映的问题处理得怎么样了")
TICKET_NUMBER = re.compile(r"#(\d+)")
NOT_THE_SAME = "不是"  # the answer to the offer "已有同类问题 #N ...如果不是同一件事，回复“不是”"
TARGETS = {"p99_ms": 100.0, "vs_echo": 0.3, "vs_werobot": 2.0,  # issue 16's targets
           "cpu_status_ms": 1.5, "cpu_report_ms": 3.0, "pg_vs_sqlite": 1.5}
MIXES = ("status", "report")  # measured alone too, for the server CPU each costs


@dataclass
class Server:
    """One app under gunicorn."""

    name: str
    port: int
    process: subprocess.Popen
    cleanup: list[Any] = field(default_factory=list)
    database: str | None = None  # its PostgreSQL database: the backends' CPU counts as the server's too
    url: str | None = None  # the bot's database, where the bench checks the tickets it was told of
    first_ticket: int = 0  # tickets above this number were opened by the bench
    _engine: Any = field(default=None, repr=False)

    def backends(self) -> list[int]:
        """The PostgreSQL backend processes serving this app's connections (this machine's server)."""
        if self.database is None:
            return []
        import psycopg

        with psycopg.connect(pg_plain(pg_url(self.database)), autocommit=True) as conn:
            return [pid for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.database,))]

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def backlog(self) -> int:
        """Outbound messages due and not yet sent (staff cards, pushed replies) in the bot's database.

        Group robots' messages are left out: WeCom takes 20 a minute from a robot, so the bot
        paces them over minutes (bot/outbox.py), whatever its CPU.
        """
        if self.url is None:
            return 0
        from sqlalchemy import create_engine, func, select

        from models.messages import OutboxMessage

        if self._engine is None:
            self._engine = create_engine(self.url)
        with self._engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.channel != "wecom_group",
                OutboxMessage.due_at <= datetime.now(timezone.utc)))

    def drained(self, limit: float = 120.0) -> float:
        """Wait until the bot has sent what is due; return the seconds it took."""
        began = time.monotonic()
        while self.backlog() and time.monotonic() - began < limit:
            time.sleep(0.05)
        return time.monotonic() - began

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._engine is not None:
            self._engine.dispose()
        for step in self.cleanup:
            step()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signature(timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce)
    return signer.signature


def serve_fake(pipe: Any) -> None:
    """Serve the fake WeChat/WeCom API in this process until killed."""
    from tests.fakes import FakeWeChat, Served

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per call would flood the bench
    fake = FakeWeChat()
    served = Served(fake)
    fake.url = served.url + "/cgi-bin/"
    pipe.send(fake.url)
    while True:
        time.sleep(3600)


def gunicorn(name: str, target: str, env: dict[str, str], workdir: Path, workers: int) -> Server:
    port = free_port()
    log = open(workdir / f"{name}.log", "ab")
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", str(workdir),
         "--pythonpath", str(PROJECT), "--timeout", "60", "--log-level", "warning", target],
        cwd=workdir, env=env, stdout=log, stderr=log)
    server = Server(name, port, process, [log.close])
    deadline = time.monotonic() + 60
    url = f"http://127.0.0.1:{port}/wechat?timestamp=1&nonce=2&signature={signature('1', '2')}&echostr=ok"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200 and len(server.workers()) >= workers:
                    return server
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"{name} did not start; see {workdir / (name + '.log')}")
        time.sleep(0.2)
    raise SystemExit(f"{name} did not answer within 60 s")


def prepare(here: Path, database_url: str, fake_url: str) -> dict[str, str]:
    """The bot's config in `here` (the example's, its APIs the fake's) and its database as
    `make run` makes it (init-db, demo-data); return the environment that names both."""
    config = (PROJECT / "config.example.toml").read_text(encoding="utf-8")
    for real in ("https://api.weixin.qq.com/cgi-bin/", "https://qyapi.weixin.qq.com/cgi-bin/"):
        config = config.replace(real, fake_url)
    assert "weixin.qq.com" not in config, "the bench config still points at WeChat"
    (here / "config.toml").write_text(config, encoding="utf-8")
    env = dict(os.environ, LINLI_CONFIG=str(here / "config.toml"), DATABASE_URL=database_url)
    for command in ("init-db", "demo-data"):
        subprocess.run([str(BIN / "flask"), "--app", "app", command], cwd=PROJECT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return env


def linli(name: str, database_url: str, fake_url: str, workdir: Path, workers: int) -> Server:
    """The bot, as `make run` would make it (init-db, demo-data), under gunicorn."""
    here = workdir / name
    here.mkdir()
    env = prepare(here, database_url, fake_url)
    server = gunicorn(name, "app:create_app()", env, here, workers)
    server.url = database_url
    server.first_ticket = max(stored_tickets(database_url, 0), default=0)
    return server


def stored_tickets(url: str, above: int) -> list[int]:
    """The numbers of the tickets in the bot's database above `above`."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [n for (n,) in conn.execute(text("SELECT id FROM tickets WHERE id > :above"),
                                               {"above": above})]
    finally:
        engine.dispose()


def check_tickets(server: Server, told: list[int]) -> dict[str, int]:
    """Every ticket number a reply gave once, and in the database: none twice, none missing."""
    stored = set(stored_tickets(server.url or "", server.first_ticket))
    return {"told": len(told), "twice": len(told) - len(set(told)),
            "missing": len(set(told) - stored),
            "stored_untold": len(stored - set(told))}  # answered late (pushed), or mid-reply at the end


def baseline(name: str, target: str, workdir: Path, workers: int) -> Server:
    here = workdir / name
    here.mkdir()
    return gunicorn(name, target, dict(os.environ, BENCH_WECHAT_TOKEN=TOKEN), here, workers)


# ---- the load generator (runs in child processes) ----

def message(openid: str, msg_id: int, text: str, now: int) -> bytes:
    return (f"<xml><ToUserName><![CDATA[gh_linli_demo]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{now}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
            f"<MsgId>{msg_id}</MsgId></xml>").encode()


def text_for(rng: random.Random, n: int, mix: str = "mixed") -> str:
    if mix == "status" or (mix == "mixed" and n % 2):
        return rng.choice(QUERIES)
    building = rng.choice(list(BUILDINGS))
    return f"{building}栋{rng.randint(1, BUILDINGS[building])}单元{rng.choice(PROBLEMS)}"


def kind_of(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    if "已为您登记工单" in text:
        return "ticket opened"
    if "已有同类问题" in text:
        return "offered an open ticket"
    if "您最近的工单" in text or "您还没有报过问题" in text:
        return "status"
    if text.lstrip().startswith("<xml>"):
        return "other reply"
    return "success" if text == "success" else "unreadable"


def connection(port: int, start: float, end: float, slot: int, slots: int, ids: int, out: list,
               mix: str = "mixed") -> None:
    """One connection slot: send, wait for the answer, repeat until the window closes.

    Each slot speaks for its own residents (one message of a resident in flight at a time). When
    the bot offers an open ticket of the same problem instead of opening one, the resident answers
    不是 (a different problem), which opens the ticket: every report ends in a new ticket.
    """
    rng = random.Random(slot)
    residents = RESIDENTS[slot::slots]
    now = int(time.time())
    latencies, done_in_window, kinds, n, sent, numbers = [], 0, {}, 0, 0, []
    follow_up: str | None = None
    time.sleep(max(0.0, start - time.monotonic()))
    while time.monotonic() < end:
        if follow_up:
            openid, text, follow_up = follow_up, NOT_THE_SAME, None
        else:
            openid, text = rng.choice(residents), text_for(rng, n, mix)
            n += 1
        body = message(openid, ids + sent, text, now)
        # a nonce of its own for every message (its MsgId's digits), as WeChat sends: the bot
        # answers 403 to a nonce reused for another message (bot/channels/replay.py)
        nonce = str(ids + sent)
        head = (f"POST /wechat?timestamp={now}&nonce={nonce}&signature={signature(str(now), nonce)} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nContent-Type: text/xml\r\nConnection: close\r\n").encode()
        request = head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        sent += 1
        began = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(request)
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except OSError as err:
            kinds[f"error {type(err).__name__}"] = kinds.get(f"error {type(err).__name__}", 0) + 1
            continue
        latencies.append(time.perf_counter() - began)
        if time.monotonic() <= end:
            done_in_window += 1
        raw = b"".join(chunks)
        head, _, reply = raw.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "?"
        kind = kind_of(reply) if status == "200" else f"HTTP {status}"
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "offered an open ticket":
            follow_up = openid
        if kind == "ticket opened":
            numbers += [int(found) for found in TICKET_NUMBER.findall(reply.decode("utf-8", "replace"))[:1]]
    out.append((latencies, done_in_window, kinds, numbers))


def generator(port: int, start: float, end: float, threads: int, processes: int, index: int, ids: int,
              queue: Any, mix: str = "mixed") -> None:
    """A load process: `threads` connection slots; reports latencies, counts and its own CPU."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    out: list = []
    slots = threads * processes
    workers = [threading.Thread(target=connection, args=(port, start, end, index * threads + t, slots,
                                                         ids + (index * threads + t) * 10**7, out, mix))
               for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    queue.put((out, cpu))


@dataclass
class Measurement:
    name: str
    rate: float
    p50: float
    p99: float
    server_cpu_ms: float
    db_cpu_ms: float  # PostgreSQL's backends for this app, per message (0 for SQLite and the baselines)
    client_cpu_ms: float
    client_share: float
    server_share: float
    kinds: dict[str, int]
    latencies: list[float]
    in_flight: float  # Little's law: messages/s x mean latency; = connections when the server is the limit
    numbers: list[int] = field(default_factory=list)  # the ticket numbers the replies gave
    drain_s: float = 0.0  # seconds after the window until the bot had sent what the window queued


def measure(server: Server, duration: float, connections: int, processes: int, ids: int,
            mix: str = "mixed") -> Measurement:
    """Run the load against one server for `duration` seconds (`mix`: mixed, status, report).

    The bot's CPU counts until it has sent the staff cards and pushed replies its window queued
    (its outbox sender works behind the replies), and a window starts only once the last one's
    are sent, so no window pays for another's.
    """
    server.drained()
    threads = connections // processes
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start = time.monotonic() + 1.0
    end = start + duration
    procs = [ctx.Process(target=generator, args=(server.port, start, end, threads, processes, i, ids, queue,
                                                 mix))
             for i in range(processes)]
    for proc in procs:
        proc.start()
    workers = server.workers()
    time.sleep(max(0.0, start - time.monotonic()))
    backends = server.backends()
    cpu_before, wall_before = cpu_seconds(workers), time.monotonic()
    db_before = {pid: cpu_seconds([pid]) for pid in backends}
    results = [queue.get() for _ in procs]
    cpu_window, wall_after = cpu_seconds(workers), time.monotonic()
    drain = server.drained()
    cpu_after = cpu_seconds(workers)
    db_cpu = sum(cpu_seconds([pid]) - db_before.get(pid, 0.0) for pid in set(backends) | set(server.backends()))
    for proc in procs:
        proc.join()
    latencies, done, kinds, client_cpu, numbers = [], 0, {}, 0.0, []
    for outs, cpu in results:
        client_cpu += cpu
        for lat, in_window, counts, seen in outs:
            numbers += seen
            latencies += lat
            done += in_window
            for kind, count in counts.items():
                kinds[kind] = kinds.get(kind, 0) + count
    total = max(len(latencies), 1)
    wall = wall_after - wall_before
    return Measurement(server.name, done / duration, percentile(latencies, 0.5) * 1000,
                       percentile(latencies, 0.99) * 1000, (cpu_after - cpu_before) * 1000 / total,
                       db_cpu * 1000 / total,
                       client_cpu * 1000 / total, client_cpu / wall / os.cpu_count(),
                       (cpu_window - cpu_before) / wall / os.cpu_count(), kinds, latencies,
                       len(latencies) / wall * statistics.fmean(latencies) if latencies else 0.0, numbers,
                       drain)


def summary(runs: list[Measurement]) -> dict[str, Any]:
    latencies = [x for run in runs for x in run.latencies]
    kinds: dict[str, int] = {}
    for run in runs:
        for kind, count in run.kinds.items():
            kinds[kind] = kinds.get(kind, 0) + count
    return {"rate": statistics.median(r.rate for r in runs), "rates": [round(r.rate) for r in runs],
            "p50": percentile(latencies, 0.5) * 1000, "p99": percentile(latencies, 0.99) * 1000,
            "cpu": statistics.median(r.server_cpu_ms for r in runs),
            "db_cpu": statistics.median(r.db_cpu_ms for r in runs),
            "client_cpu": statistics.median(r.client_cpu_ms for r in runs),
            "client_share": statistics.median(r.client_share for r in runs),
            "server_share": statistics.median(r.server_share for r in runs),
            "in_flight": statistics.median(r.in_flight for r in runs), "kinds": kinds}


def main() -> None:
    """Start the servers, run the interleaved rounds, print the figures and the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--processes", type=int, default=4, help="load generator processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of load per server before measuring (loads the intent engine)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the bot on PostgreSQL")
    parser.add_argument("--mix-duration", type=float, default=8.0,
                        help="seconds of status questions alone, then reports alone, per bot (CPU each)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe()
    fake = ctx.Process(target=serve_fake, args=(there,), daemon=True)
    fake.start()
    fake_url = here.recv()
    servers: list[Server] = []
    pg_name = f"linli_bench_web_{os.getpid()}"
    try:
        servers.append(linli("bot-sqlite", f"sqlite:///{workdir}/linli.db", fake_url, workdir, args.workers))
        if not args.no_postgres:
            pg_create(pg_name)
            server = linli("bot-postgresql", pg_url(pg_name), fake_url, workdir, args.workers)
            server.cleanup.append(lambda: pg_drop(pg_name))
            server.database = pg_name
            servers.append(server)
        servers.append(baseline("echo", "bench.echo_app:app", workdir, args.workers))
        servers.append(baseline("werobot", "bench.werobot_app:application", workdir, args.workers))
        print(f"webhook: {args.connections} connections from {args.processes} processes, new connection "
              f"per message, {args.duration:g} s a measurement, {args.rounds} interleaved rounds, "
              f"gunicorn {args.workers} sync workers each, {os.cpu_count()} CPUs", flush=True)
        runs: dict[str, list[Measurement]] = {s.name: [] for s in servers}
        told: dict[str, list[int]] = {s.name: [] for s in servers}
        ids = (int(time.time()) % 10**6) * 10**12
        for server in servers:  # each worker loads its intent engine and pools before it counts
            ids += 10**11
            if args.warmup:
                told[server.name] += measure(server, args.warmup, args.connections, args.processes, ids).numbers
        for round_no in range(args.rounds):
            for server in servers:
                ids += 10**11
                got = measure(server, args.duration, args.connections, args.processes, ids)
                runs[server.name].append(got)
                told[server.name] += got.numbers
                print(f"  round {round_no + 1} {server.name:15} {got.rate:7.0f} msg/s  p50 {got.p50:6.1f} ms"
                      f"  p99 {got.p99:6.1f} ms  server CPU {got.server_cpu_ms:5.2f} ms/msg"
                      + (f" + PostgreSQL {got.db_cpu_ms:4.2f}" if server.database else "") +
                      f" ({got.server_share:.0%} of the machine)  load generator {got.client_cpu_ms:4.2f} ms/msg"
                      f" ({got.client_share:.0%})  in flight {got.in_flight:.1f}/{args.connections}"
                      + (f"  outbox sent {got.drain_s:.1f} s after" if server.url else "")
                      + f"  {got.kinds}", flush=True)
        mixes: dict[str, dict[str, Measurement]] = {}
        for server in (s for s in servers if s.url):
            for mix in MIXES:
                ids += 10**11
                got = mixes.setdefault(server.name, {})[mix] = measure(
                    server, args.mix_duration, args.connections, args.processes, ids, mix)
                told[server.name] += got.numbers
                print(f"  {mix:6} alone {server.name:15} {got.rate:7.0f} msg/s  p99 {got.p99:6.1f} ms"
                      f"  server CPU {got.server_cpu_ms:5.2f} ms/msg"
                      + (f" + PostgreSQL {got.db_cpu_ms:4.2f}" if server.database else "")
                      + f"  outbox sent {got.drain_s:.1f} s after", flush=True)
        tickets = {s.name: check_tickets(s, told[s.name]) for s in servers if s.url}
        print(f"  tickets: {tickets}", flush=True)
    finally:
        for server in servers:
            server.stop()
        fake.kill()
        if os.environ.get("BENCH_KEEP"):
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report({name: summary(r) for name, r in runs.items()}, args, mixes, tickets)


def mix_rows(mixes: dict[str, dict[str, Measurement]]) -> list[dict[str, Any]]:
    """Server CPU per message for status questions alone and reports alone (PostgreSQL's own
    CPU counted), against the targets; PostgreSQL's against SQLite's."""
    rows = []
    sqlite = mixes.get("bot-sqlite", {})
    for name, measured in mixes.items():
        db = name.removeprefix("bot-")
        for mix in MIXES:
            got = measured[mix]
            total = got.server_cpu_ms + got.db_cpu_ms
            value = f"{got.server_cpu_ms:.2f}" + (f" + PostgreSQL {got.db_cpu_ms:.2f}" if got.db_cpu_ms else "")
            if db == "sqlite" or mix not in sqlite:
                limit = TARGETS[f"cpu_{mix}_ms"]
                rows.append(row(f"webhook {db}: server CPU ms/msg, {mix}", value, target=f"<= {limit:g} ms",
                                met=total <= limit, gap=f"{total - limit:.2f} ms over"))
            else:
                base = sqlite[mix].server_cpu_ms
                ratio = total / base if base else 0.0
                rows.append(row(f"webhook {db}: server CPU ms/msg, {mix}", value,
                                baseline=f"SQLite {base:.2f}", ratio=f"{ratio:.2f}x",
                                target=f"<= {TARGETS['pg_vs_sqlite']:g}x SQLite",
                                met=ratio <= TARGETS["pg_vs_sqlite"],
                                gap=f"{ratio:.2f}x SQLite's"))
    return rows


def report(sums: dict[str, dict[str, Any]], args: argparse.Namespace,
           mixes: dict[str, dict[str, Measurement]], tickets: dict[str, dict[str, int]]) -> None:
    """Print the summary lines and the RESULT row for run_all.py."""
    echo, robot = sums["echo"], sums["werobot"]
    rows = mix_rows(mixes)
    for name, counted in tickets.items():
        db = name.removeprefix("bot-")
        rows.append(row(f"webhook {db}: ticket numbers twice / missing",
                        f"{counted['twice']} / {counted['missing']}",
                        baseline=f"{counted['told']} told, {counted['stored_untold']} pushed",
                        target="0 / 0", met=counted["twice"] == 0 and counted["missing"] == 0,
                        gap="a ticket number answered twice, or one not in the database"))
    for name in ("echo", "werobot"):
        s = sums[name]
        print(f"{name:15} median {s['rate']:6.0f} msg/s (rounds {s['rates']})  p50 {s['p50']:.1f} ms"
              f"  p99 {s['p99']:.1f} ms  server CPU {s['cpu']:.2f} ms/msg")
    for name in (n for n in sums if n.startswith("bot-")):
        s = sums[name]
        db = name.removeprefix("bot-")
        vs_echo, vs_robot = s["rate"] / echo["rate"], s["rate"] / robot["rate"]
        failed = {k: v for k, v in s["kinds"].items() if k.startswith(("HTTP", "error", "unreadable"))}
        print(f"{name:15} median {s['rate']:6.0f} msg/s (rounds {s['rates']})  p50 {s['p50']:.1f} ms"
              f"  p99 {s['p99']:.1f} ms  server CPU {s['cpu']:.2f} ms/msg"
              + (f" + PostgreSQL {s['db_cpu']:.2f}" if s["db_cpu"] else "") + f"  = {vs_echo:.2f}x echo,"
              f" {vs_robot:.2f}x WeRoBot  replies {s['kinds']}")
        rows += [
            row(f"webhook {db}: msg/s", f"{s['rate']:.0f}", baseline=f"echo {echo['rate']:.0f}",
                ratio=f"{vs_echo:.2f}x", target=f">= {TARGETS['vs_echo']:g}x echo", met=vs_echo >= TARGETS["vs_echo"],
                gap=f"{TARGETS['vs_echo'] * echo['rate'] - s['rate']:.0f} msg/s short"),
            row(f"webhook {db}: msg/s", f"{s['rate']:.0f}", baseline=f"WeRoBot {robot['rate']:.0f}",
                ratio=f"{vs_robot:.2f}x", target=">= 2x WeRoBot", met=vs_robot >= TARGETS["vs_werobot"],
                gap=f"{TARGETS['vs_werobot'] * robot['rate'] - s['rate']:.0f} msg/s short"),
            row(f"webhook {db}: p50 / p99 ms", f"{s['p50']:.0f} / {s['p99']:.0f}",
                baseline=f"echo {echo['p50']:.0f} / {echo['p99']:.0f}",
                target="p99 < 100 ms", met=s["p99"] < TARGETS["p99_ms"],
                gap=f"p99 {s['p99'] - TARGETS['p99_ms']:.0f} ms over"),
            row(f"webhook {db}: server CPU ms/msg", f"{s['cpu']:.2f}" + (
                f" + PostgreSQL {s['db_cpu']:.2f}" if s["db_cpu"] else ""), baseline=f"echo {echo['cpu']:.2f}",
                ratio=f"{(s['cpu'] + s['db_cpu']) / echo['cpu']:.1f}x" if echo["cpu"] else ""),
        ]
        if failed:
            rows.append(row(f"webhook {db}: failed requests", str(sum(failed.values())), target="0",
                            met=False, gap=str(failed)))
    rows.append(row("webhook WeRoBot: p50 / p99 ms", f"{robot['p50']:.0f} / {robot['p99']:.0f}",
                    baseline=f"echo {echo['p50']:.0f} / {echo['p99']:.0f}"))
    share = max(s["client_share"] for s in sums.values())
    flight = min(s["in_flight"] for s in sums.values())
    verdict = ("every connection was waiting on the server, not on the generator" if flight >= 0.85 * args.connections
               else "the generator may be a limit")
    print(f"load generator: at most {share:.0%} of the machine's CPU in any measurement "
          f"({max(s['client_cpu'] for s in sums.values()):.2f} ms CPU a message); messages in flight "
          f"(rate x mean latency) at least {flight:.1f} of {args.connections}: {verdict}")
    rows.append(row("webhook: load generator CPU share (max)", f"{share:.0%}",
                    baseline=f"in flight >= {flight:.1f}/{args.connections}",
                    target="not the bottleneck", met=flight >= 0.85 * args.connections,
                    gap="the generator may limit the rates"))
    result("webhook", rows, settings=vars(args), summaries={
        k: {x: y for x, y in v.items()} for k, v in sums.items()})


if __name__ == "__main__":
    main()
