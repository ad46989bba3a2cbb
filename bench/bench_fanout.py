"""Fan-out bench: a notice to 10,000 subscribers through the fake WeChat API at 20 ms a call.

Prints the time to deliver all with parallel senders, duplicates and misses, beside a
naive one-by-one loop over the same fake in the same run (500 measured, extrapolated).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import outbox  # noqa: E402
from bot.handlers.market import FAN_OUT_SENDERS, send_notice  # noqa: E402
from models import Resident, transaction  # noqa: E402
from tests.conftest import Clock, make_app  # noqa: E402
from tests.fakes import FakeWeChat, Served  # noqa: E402


def main() -> None:
    """Run both deliveries and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--senders", type=int, default=FAN_OUT_SENDERS)
    args = parser.parse_args()
    fake = FakeWeChat()
    served = Served(fake)
    fake.url = served.url + "/cgi-bin/"
    clock = Clock()
    app = make_app((f"sqlite:///{tempfile.mkdtemp(prefix='bench-fanout-')}/linli.db", None), fake,
                   clock, settings={"wecom.group_webhooks": {}})
    services = app.extensions["linli"]
    with transaction(services.sessions) as session:
        session.add_all(Resident(openid=f"oBench{n:05d}", created_at=clock(), subscribed=True,
                                 following=True, last_inbound_at=clock() - timedelta(hours=1),
                                 pushes_since_inbound=0) for n in range(args.count))
    fake.delay = args.latency

    started = time.monotonic()
    with transaction(services.sessions) as session:
        send_notice(services, session, "停水通知", key="bench", now=clock())
    outbox.deliver_due(services, senders=args.senders)
    fanned = time.monotonic() - started
    received = Counter(b["touser"] for b in fake.sent())
    duplicates = sum(received.values()) - len(received)
    misses = args.count - len(received)
    print(f"fan-out, {args.senders} senders: {args.count} messages in {fanned:.1f} s "
          f"({args.count / fanned:.0f}/s), {duplicates} duplicates, {misses} misses")

    with transaction(services.sessions) as session:
        session.execute(Resident.__table__.update().values(subscribed=False, pushes_since_inbound=0))
        session.execute(Resident.__table__.update().where(
            Resident.id.in_(session.scalars(Resident.__table__.select().with_only_columns(
                Resident.id).order_by(Resident.id).limit(args.naive)).all())).values(subscribed=True))
        send_notice(services, session, "naive", key="naive", now=clock())
    before = len(fake.sent())
    started = time.monotonic()
    outbox.deliver_due(services)  # one at a time
    naive = time.monotonic() - started
    sent = len(fake.sent()) - before
    print(f"naive one-by-one: {sent} messages in {naive:.1f} s; extrapolated to {args.count}: "
          f"{naive * args.count / max(sent, 1):.0f} s (measured {args.naive}, not {args.count})")
    services.close()
    served.close()


if __name__ == "__main__":
    main()
