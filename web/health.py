"""`/healthz`: is the server up, and can it reach its database?

The check runs in a thread and is given HEALTH_TIMEOUT seconds: a database host that
swallows packets, or a SQLite file locked by another writer, makes the probe wait for
the connect or busy timeout, and a load balancer must hear "503" sooner than that.
One check at a time per app: while one hangs, later probes wait on it, not on new threads.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

HEALTH_TIMEOUT = 2.0  # seconds
_lock = threading.Lock()


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Answer 200 when the database answers within HEALTH_TIMEOUT, else 503."""
    try:
        _probe(current_app.extensions["linli"].engine).result(timeout=HEALTH_TIMEOUT)
    except FutureTimeout:
        log.warning("health check: database did not answer in %.0f s", HEALTH_TIMEOUT)
        return jsonify(status="unavailable", db="unreachable"), 503
    except (SQLAlchemyError, OSError) as err:
        log.warning("health check: database unreachable (%s)", type(err).__name__)
        return jsonify(status="unavailable", db="unreachable"), 503
    return jsonify(status="ok", db="ok")


def _probe(engine: Engine) -> Future[None]:
    """Return the check in flight for this app's engine, starting one if none is."""
    extensions = current_app.extensions
    with _lock:
        running: Future[None] | None = extensions.get("linli_health")
        if running is not None and not running.done():
            return running
        future: Future[None] = Future()
        extensions["linli_health"] = future
    threading.Thread(target=_check, args=(engine, future), name="healthz", daemon=True).start()
    return future


def _check(engine: Engine, future: Future[None]) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except BaseException as err:  # handed to the waiting request, which answers 503
        future.set_exception(err)
    else:
        future.set_result(None)
