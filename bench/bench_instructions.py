"""Instructions a message costs the bot, counted by valgrind's callgrind: repeatable where
timings are not.

On a shared 2-core VM a timed run moves by up to a quarter from one run to the next. Callgrind
counts the instructions the bot's process executes (the request's thread, the handling thread and
the outbox's sender) while it handles N messages of one kind through the Flask test client and
`/wechat`, signed as WeChat signs them. Two runs of the same code agree within about 1% for
greetings and status questions, within about 5% for reports (how the sender's claims fall
against the messages' transactions varies from run to run). The
process is set up (database, demo estate, intent engine, a warm-up of 50 messages) with counting
off, then counts the N messages and the staff cards they queued. The fake WeChat API runs in a
process of its own, not counted.

Kinds: `hello` (你好), `status` (the webhook bench's status questions), `report` (the webhook
bench's reports; when the bot offers a like open ticket the resident answers 不是, and that answer
counts as part of its report). Compare commits by running this in a checkout of each:
`python bench/bench_instructions.py --kinds hello status report --messages 100`.
Needs valgrind (Debian's package); without it this says so and exits 2. Not part of `make bench`.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT, pg_create, pg_drop, pg_url  # noqa: E402

KINDS = ("hello", "status", "report")
WARM_UP = 50


def wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float = 900) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise SystemExit(f"the counted process ended early ({process.returncode}); see its log")
        if time.monotonic() > deadline:
            raise SystemExit(f"no {path.name} within {seconds:.0f} s")
        time.sleep(0.2)


def count(kind: str, messages: int, database: str, workdir: Path) -> float:
    """Run one kind under callgrind on `database` ("sqlite": a new file; else a PostgreSQL URL);
    return the instructions a message cost."""
    here = workdir / kind  # each kind its own database file and config: a fresh demo estate
    here.mkdir()
    gate, out = here / "gate", here / "callgrind.%p"
    log = open(here / "bot.log", "wb")
    process = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         sys.executable, __file__, "--child", kind, "--messages", str(messages),
         "--url", database, "--gate", str(gate)],
        cwd=PROJECT, env=dict(os.environ, PYTHONHASHSEED="0"), stdout=log, stderr=log)
    try:
        wait_for(gate.with_suffix(".ready"), process)
        pid = gate.with_suffix(".ready").read_text()
        subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
        gate.with_suffix(".go").touch()
        wait_for(gate.with_suffix(".done"), process)
        subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
        gate.with_suffix(".end").touch()
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    totals = [line for line in Path(str(out).replace("%p", pid)).read_text().splitlines()
              if line.startswith(("summary:", "totals:"))]
    return int(totals[-1].split()[1]) / messages


def child(kind: str, messages: int, database: str, gate: Path) -> None:
    """The counted process: the bot as the webhook bench makes it, then the messages."""
    import logging
    import multiprocessing as mp

    from bench.bench_webhook import (NOT_THE_SAME, RESIDENTS, message, prepare, serve_fake, signature,
                                     text_for)

    here, there = mp.get_context("fork").Pipe()
    fake = mp.get_context("fork").Process(target=serve_fake, args=(there,), daemon=True)
    fake.start()
    workdir = gate.parent
    url = f"sqlite:///{workdir}/linli.db" if database == "sqlite" else database
    os.environ.update(prepare(workdir, url, here.recv()))
    os.chdir(workdir)
    import app as bot
    import intents

    # loaded before any message: under valgrind a message that loads it takes a minute, past
    # every deadline of the webhook, and the warm-up's messages would be spooled and replayed
    intents.engine.default_engine()

    client = bot.create_app().test_client()
    logging.getLogger().setLevel(logging.WARNING)
    rng, sent = random.Random(1), [10**12]

    def say(openid: str, text: str) -> None:
        sent[0] += 1
        stamp, nonce = str(int(time.time())), f"n{sent[0]}"
        answer = client.post(f"/wechat?timestamp={stamp}&nonce={nonce}&signature={signature(stamp, nonce)}",
                             data=message(openid, sent[0], text, int(stamp)), content_type="text/xml")
        if answer.status_code != 200:
            raise SystemExit(f"/wechat answered {answer.status_code}")
        if "已有同类问题".encode() in answer.get_data():
            say(openid, NOT_THE_SAME)

    def send(n: int) -> None:
        for i in range(n):
            say(RESIDENTS[i % len(RESIDENTS)], "你好" if kind == "hello" else text_for(rng, i, kind))

    send(WARM_UP)
    time.sleep(1.0)  # the sender is done with the warm-up's cards
    gate.with_suffix(".ready").write_text(str(os.getpid()))
    while not gate.with_suffix(".go").exists():
        time.sleep(0.05)
    send(messages)
    time.sleep(0.5)  # and with these
    gate.with_suffix(".done").touch()
    while not gate.with_suffix(".end").exists():
        time.sleep(0.05)
    fake.kill()
    os._exit(0)  # the app's threads are not waited for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--messages", type=int, default=100, help="messages counted per kind")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--gate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)  # the child's database: sqlite, or a URL
    args = parser.parse_args()
    if args.child:
        child(args.child, args.messages, args.url, args.gate)
        return
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        raise SystemExit(2)
    workdir = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    try:
        for kind in args.kinds:
            name = f"linli_bench_instr_{os.getpid()}"
            if args.database == "postgresql":
                pg_create(name)
            try:
                per = count(kind, args.messages, pg_url(name) if args.database == "postgresql" else "sqlite",
                            workdir)
            finally:
                if args.database == "postgresql":
                    pg_drop(name)
            print(f"{kind:7} {args.database:10} {per / 1e6:6.2f} M instructions a message "
                  f"({args.messages} messages)", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
