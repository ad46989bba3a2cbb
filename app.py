"""邻里通: the Flask application factory. Importing this module starts nothing."""
from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, Response

import commands
import settings
from bot.channels import wechat, wecom
from bot.ratelimit import Limiter
from bot.services import Services, utc_now
from bot.spool import Drainer, Spool, spool_dir
from bot.storage import Store, make_store
from bot.wxapi import DbTokenStorage, WeChatApi, WeComApi
from models import make_engine, make_sessionmaker
from models.db import PROJECT
from web import board, console, health, open311, photos, proposals, sim, stats

MAX_BODY = 64 * 1024  # bytes; WeChat's messages are far smaller
# A query string after a path: WeChat puts the sender's openid and a replayable signature there,
# group robots' URLs carry their key. Logs keep the path alone.
QUERY_STRING = re.compile(r"(/[^\s?\"'#]*)\?[^\s\"'#]*")
# A staff link to a photo carries its signed token in the path: logs keep the route alone.
PHOTO_TOKEN = re.compile(r"(?<!/board)(/photos/)[^\s?\"'#/]+")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, database, services, blueprints and commands.

    `test_config` may give `config_path`, `overrides` (dotted keys), `clock`,
    `reply_deadline` (seconds) and `schema` (a PostgreSQL schema to use).
    """
    test_config = test_config or {}
    path = test_config.get("config_path")
    config = settings.read(Path(path) if path else None, test_config.get("overrides"))
    app = Flask(__name__, static_folder="web/static", template_folder="web/templates")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _hide_query_strings()
    engine = make_engine(config.database.url, schema=test_config.get("schema"))
    sessions = make_sessionmaker(engine, config.scheduler.tz)
    clock = test_config.get("clock", utc_now)
    tokens = DbTokenStorage(sessions, clock)
    services = Services(
        config=config, engine=engine, sessions=sessions,
        wechat=WeChatApi(config.wechat, tokens), wecom=WeComApi(config.wecom, tokens),
        store=_store(config, test_config), clock=clock, reply_deadline=test_config.get("reply_deadline", 4.0),
        spool=_drainer(config, test_config, prepare=not test_config),
        limiter=Limiter.from_config(config.ratelimit))
    app.extensions["linli"] = services
    app.register_blueprint(wechat.bp)
    app.register_blueprint(wecom.bp)
    for blueprint in (health.bp, board.bp, open311.bp, stats.bp, sim.bp, proposals.bp, photos.bp):
        app.register_blueprint(blueprint)
    console.init_app(app)
    app.register_error_handler(413, _too_large)
    commands.init_app(app)  # they start nothing until invoked
    return app


def _drainer(config: settings.Settings, test_config: dict[str, Any], *, prepare: bool) -> Drainer:
    """The spool for this database; a real start makes its folder.

    Tests that name no `spool.dir` get one under the system's temporary folder, never
    in the project's data/ (a test app makes it only if it ever spools).
    """
    base: str | Path = config.spool.dir
    if test_config and "spool.dir" not in test_config.get("overrides", {}):
        base = Path(tempfile.gettempdir()) / "linli-test-spool"
    folder = spool_dir(base, config.database.url, test_config.get("schema"), PROJECT)
    spool = Spool(folder, config.spool.max_messages)
    if prepare:
        try:
            spool.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise settings.ConfigError("config", "[spool] dir", f"cannot be created ({err.strerror})")
    return Drainer(spool)


def _store(config: settings.Settings, test_config: dict[str, Any]) -> Store:
    """Where photos are kept. Tests that name no `storage.path` keep them in a temporary
    folder of their own, never in the project's data/."""
    folder = None
    if test_config and not config.storage.bucket \
            and "storage.path" not in test_config.get("overrides", {}):
        folder = Path(tempfile.mkdtemp(prefix="linli-test-photos-"))
    return make_store(config.storage, PROJECT, folder)


def _hide_query_strings() -> None:
    """Strip query strings from every log record this process makes, from any logger.

    A record factory rather than a handler's filter: it also reaches werkzeug's access log
    under `flask serve` and gunicorn's, whatever handlers they add later.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "hides_query_strings", False):
        return

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a malformed call: logging reports it later
            return record
        clean = PHOTO_TOKEN.sub(r"\1…", QUERY_STRING.sub(r"\1", text))
        if clean != text:
            record.msg, record.args = clean, None
        return record

    make.hides_query_strings = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make)


def _too_large(_error: Exception) -> Response:
    return Response("request body too large\n", status=413, mimetype="text/plain")
