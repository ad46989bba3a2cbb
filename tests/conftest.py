"""Fixtures: a real database (SQLite file, and PostgreSQL when TEST_DATABASE_URL is set),
the app served over real HTTP, a fake WeChat API on 127.0.0.1, and a movable clock."""
from __future__ import annotations

import os
import socket
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from app import create_app
from intents import Engine
from bot.services import Services
from models import transaction
from models import demo as demo_estate
from models.migrate import upgrade
from tests import ready
from tests.factories import WeChatPeer
from tests.ready import libpq_url
from tests.fakes import FakeWeChat, Served

# The intent engine caches jieba's dictionary; tests keep it out of the developer's home.
os.environ.setdefault("LINLI_CACHE_DIR", tempfile.mkdtemp(prefix="linli-test-cache-"))

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "config.example.toml"
START = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)  # 10:00 in Chongqing
WECHAT_API = "https://api.weixin.qq.com/cgi-bin/"
WECOM_API = "https://qyapi.weixin.qq.com/cgi-bin/"
# WeCom's published sample (quoted in wechatpy's tests).
SAMPLE = {"token": "123456", "key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
          "corp_id": "wx49f0ab532d5d035a"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


def cli(app: Flask, *args: str) -> str:
    """Run a `flask` command in the app; it must succeed. Return what it printed."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_env(database: tuple[str, str | None], fake: FakeWeChat, folder: Path, *,
                port: int = 5000, scheduler: bool = False) -> dict[str, str]:
    """Environment for a `flask` or gunicorn process: the test's database, every API on the
    fake, its spool in the test's folder (nothing leaves the machine or lands in the project)."""
    url, schema = database
    if schema:
        url += f"?options=-csearch_path%3D{schema}"
    config = (EXAMPLE.read_text(encoding="utf-8")
              .replace(WECHAT_API, fake.url).replace(WECOM_API, fake.url)
              .replace('dir = "data/spool"', f'dir = "{folder / "spool"}"')
              .replace('path = "data/photos"', f'path = "{folder / "photos"}"')
              .replace("port = 5000", f"port = {port}")
              .replace("enabled = true", f"enabled = {'true' if scheduler else 'false'}"))
    assert WECOM_API not in config and WECHAT_API not in config  # nothing may leave the machine
    assert str(folder / "spool") in config and str(folder / "photos") in config
    path = folder / f"process-{port}.toml"
    path.write_text(config, encoding="utf-8")
    return dict(os.environ, LINLI_CONFIG=str(path), DATABASE_URL=url)


@pytest.fixture(scope="session")
def engine() -> Engine:
    """A ready intent engine (its jieba cache in the session's temporary directory)."""
    ready = Engine()
    ready.parse("门口的灯")  # segments, so the tokenizer is loaded here
    return ready


@pytest.fixture(autouse=True)
def no_outside_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that leaves the machine, as an offline test must."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise ConnectionRefusedError(f"test tried to reach {host}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _postgres_schema(url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = libpq_url(url)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        if not ready.recycle(url, schema):
            _drop_schema(url, schema)


def _drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")  # a connection left open fails the run, not hangs it
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session", autouse=True)
def _spares_dropped() -> Iterator[None]:
    """The reset schemas that no test took are dropped at the end of the run."""
    yield
    for url, schema in ready.spares():
        _drop_schema(url, schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """A fresh, empty database: (url, PostgreSQL schema or None)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'linli.db'}", None
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (CI sets it)")
    yield from ((url, schema) for schema in _postgres_schema(url))


@pytest.fixture
def sqlite_database(tmp_path: Path) -> tuple[str, None]:
    """For a module whose subject the database does not change (a protocol, wording, a page),
    which says so by taking this as its `database`: SQLite alone. CI's 15 minutes cannot hold
    every such test twice; every database path is tested on both by the modules about it."""
    return f"sqlite:///{tmp_path / 'linli.db'}", None


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChat]:
    """The fake WeChat API, served on 127.0.0.1."""
    fake = FakeWeChat()
    served = Served(fake)
    fake.url = served.url + "/cgi-bin/"
    yield fake
    fake.release.set()  # sends a test held go, so no serving thread waits on
    served.close()


@pytest.fixture
def clock() -> Clock:
    """The app's clock, starting at 10:00 Asia/Shanghai on 2026-11-28."""
    return Clock()


def make_app(database: tuple[str, str | None], fake: FakeWeChat, clock: Clock,
             **overrides: Any) -> Flask:
    """Create the app on the database with the fake API, migrated and with the demo estate."""
    url, schema = database
    base = fake.url.removesuffix("/cgi-bin/")
    settings = {"database.url": url, "wechat.api_base_url": fake.url, "wecom.api_base_url": fake.url,
                "wecom.group_webhooks": {role: f"{base}/cgi-bin/webhook/send?key={role}"
                                         for role in ("grid", "property", "estate", "community",
                                                      "street", "residents")}}
    settings.update(overrides.pop("settings", {}))
    app = create_app({"config_path": str(EXAMPLE), "overrides": settings, "clock": clock,
                      "schema": schema, **overrides})
    services: Services = app.extensions["linli"]
    if not ready.fill(services, database):  # a copy of the first test's database (tests/ready.py)
        with ready.recording(services, database):
            upgrade(services.engine, hash_key=services.config.hash_key)
            with transaction(services.sessions) as session:
                demo_estate.load(session, "邻里花园", "和顺社区", "龙溪街道", history=False,
                                 key=services.config.hash_key)
    return app


@pytest.fixture
def app(database: tuple[str, str | None], fake_wechat: FakeWeChat, clock: Clock) -> Iterator[Flask]:
    """The app, migrated, with the demo estate."""
    app = make_app(database, fake_wechat, clock)
    yield app
    app.extensions["linli"].close()


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on 127.0.0.1; yields its base URL."""
    served = Served(app)
    yield served.url
    served.close()


@pytest.fixture
def peer(server: str, app: Flask) -> WeChatPeer:
    """WeChat's servers, posting in plaintext mode."""
    conf = app.extensions["linli"].config.wechat
    return WeChatPeer(server, conf.token, conf.app_id, clock=app.extensions["linli"].clock)


@pytest.fixture
def safe_peer(server: str, app: Flask) -> WeChatPeer:
    """WeChat's servers, posting in safe (AES) mode."""
    conf = app.extensions["linli"].config.wechat
    return WeChatPeer(server, conf.token, conf.app_id, conf.encoding_aes_key,
                      clock=app.extensions["linli"].clock)


@pytest.fixture
def sample_server(database, fake_wechat: FakeWeChat, clock: Clock) -> Iterator[tuple[str, Flask]]:
    """The app configured with WeCom's published sample token, key and corp id."""
    app = make_app(database, fake_wechat, clock, settings={
        "wecom.token": SAMPLE["token"], "wecom.encoding_aes_key": SAMPLE["key"],
        "wecom.corp_id": SAMPLE["corp_id"], "sim.enabled": False})  # real-looking: no /sim
    served = Served(app)
    yield served.url, app
    served.close()
    app.extensions["linli"].close()


@pytest.fixture
def slow_server(database, fake_wechat: FakeWeChat, clock: Clock) -> Iterator[tuple[str, Flask]]:
    """The app with no time to answer passively: every reply goes out later."""
    app = make_app(database, fake_wechat, clock, reply_deadline=0.0)
    served = Served(app)
    yield served.url, app
    served.close()
    app.extensions["linli"].close()
