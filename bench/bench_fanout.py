"""Fan-out bench: a notice to 10,000 subscribers through the fake WeChat API at 20 ms a call.

The fake API runs in a process of its own, as WeChat's servers would, so its work
is not charged to the bot. Prints the time to deliver all with parallel senders,
duplicates and misses, beside a naive one-by-one loop over the same fake in the
same run (fewer messages measured, extrapolated), and a last line
`RESULT {json}` for the benchmark table.
"""
from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import outbox  # noqa: E402
from bot.notices import send_notice  # noqa: E402
from bot.outbox import FAN_OUT_SENDERS  # noqa: E402
from models import Resident, transaction  # noqa: E402
from tests.conftest import Clock, make_app  # noqa: E402
from tests.fakes import FakeWeChat, Served  # noqa: E402

TARGET_SECONDS = 30.0


def serve_fake(conn: Connection, latency: float) -> None:
    """Child process: serve the fake API until told to stop; answer questions about it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    fake = FakeWeChat(delay=latency)
    served = Served(fake)
    conn.send(served.url + "/cgi-bin/")
    while True:
        question = conn.recv()
        if question == "stop":
            served.close()
            return
        conn.send([body["touser"] for body in fake.sent()])


def main() -> None:
    """Run both deliveries and print one line each, then the RESULT line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--senders", type=int, default=FAN_OUT_SENDERS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    here, there = multiprocessing.get_context("spawn").Pipe()
    child = multiprocessing.get_context("spawn").Process(target=serve_fake, args=(there, args.latency))
    child.start()
    api = here.recv()

    def received() -> list[str]:
        here.send("sent")
        return here.recv()

    clock = Clock()
    app = make_app((f"sqlite:///{tempfile.mkdtemp(prefix='bench-fanout-')}/linli.db", None),
                   FakeWeChat(url=api), clock, settings={"wecom.group_webhooks": {}})
    logging.getLogger().setLevel(logging.WARNING)
    services = app.extensions["linli"]
    with transaction(services.sessions) as session:
        session.add_all(Resident(openid=f"oBench{n:05d}", created_at=clock(), subscribed=True,
                                 following=True, last_inbound_at=clock() - timedelta(hours=1),
                                 pushes_since_inbound=0) for n in range(args.count))

    started = time.monotonic()
    with transaction(services.sessions) as session:
        send_notice(services, session, "停水通知", key="bench", now=clock())
    outbox.deliver_due(services, senders=args.senders)
    fanned = time.monotonic() - started
    counts = Counter(received())
    duplicates = sum(counts.values()) - len(counts)
    misses = args.count - len(counts)
    print(f"fan-out, {args.senders} senders: {args.count} messages in {fanned:.1f} s "
          f"({args.count / fanned:.0f}/s), {duplicates} duplicates, {misses} misses "
          f"(target: within {TARGET_SECONDS:.0f} s, 0 and 0)")

    with transaction(services.sessions) as session:
        session.execute(Resident.__table__.update().values(subscribed=False, pushes_since_inbound=0))
        session.execute(Resident.__table__.update().where(
            Resident.id.in_(session.scalars(Resident.__table__.select().with_only_columns(
                Resident.id).order_by(Resident.id).limit(args.naive)).all())).values(subscribed=True))
        send_notice(services, session, "naive", key="naive", now=clock())
    before = len(received())
    started = time.monotonic()
    outbox.deliver_due(services)  # one at a time
    naive = time.monotonic() - started
    sent = len(received()) - before
    naive_total = naive * args.count / max(sent, 1)
    print(f"naive one-by-one: {sent} messages in {naive:.1f} s; extrapolated to {args.count}: "
          f"{naive_total:.0f} s (measured {sent}, not {args.count})")
    print("RESULT " + json.dumps({
        "name": "fan-out", "count": args.count, "latency_ms": args.latency * 1000,
        "senders": args.senders, "seconds": round(fanned, 2), "per_second": round(args.count / fanned),
        "duplicates": duplicates, "misses": misses, "naive_seconds_extrapolated": round(naive_total, 1),
        "speedup_vs_naive": round(naive_total / fanned, 2), "target_seconds": TARGET_SECONDS,
        "met": fanned <= TARGET_SECONDS and duplicates == 0 and misses == 0}))
    services.close()
    here.send("stop")
    child.join(10)


if __name__ == "__main__":
    main()
