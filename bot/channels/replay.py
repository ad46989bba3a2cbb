"""Replayed signatures are refused on /wechat, /wecom and /wecom/bot.

In plaintext mode WeChat's `signature` covers the token, the timestamp and the nonce, not
the message: one `?timestamp=&nonce=&signature=` triple copied from a log would sign any
message from any openid. So a signed POST must be fresh — its timestamp within WINDOW of
the app's clock (`services.clock`, so tests can move it) — and its nonce new, or seen
before with the very same message (WeChat retrying). The nonces live in the database
(`request_nonces`, shared by every process) until their timestamp leaves the window; the
check runs in the transaction that takes the message (bot/inbound.py), and a nonce reused
for another message is answered 403. Each process forgets expired nonces once a minute.

While the database is down a message goes to the spool unchecked, and its nonce is checked
when the spool is replayed (a reuse for another message is dropped then).
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Mapping

from flask import abort, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from bot.inbound import Inbound
from bot.services import Services
from models import transaction
from models.messages import sweep_nonces

log = logging.getLogger(__name__)

WINDOW = 300  # seconds a signed request's timestamp may be off the app's clock
MAX_NONCE = 64
SWEEP_EVERY = timedelta(seconds=60)


def check_fresh(services: Services) -> None:
    """Answer 403 unless the request has a nonce and a timestamp within WINDOW of now."""
    nonce, timestamp = request.args.get("nonce", ""), request.args.get("timestamp", "")
    if not nonce or len(nonce) > MAX_NONCE or not (timestamp.isascii() and timestamp.isdigit()) \
            or len(timestamp) > 12:
        abort(403)
    now = services.clock()
    if abs(int(timestamp) - now.timestamp()) > WINDOW:
        abort(403)
    _sweep_soon(services, now)


def stamped(inbound: Inbound, fields: Mapping[str, Any]) -> Inbound:
    """The message with its request's nonce, how long that is kept, and a hash of its fields."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return replace(inbound, nonce=request.args["nonce"],
                   nonce_expires=float(int(request.args["timestamp"]) + WINDOW),
                   digest=hashlib.sha256(canonical.encode("utf-8")).hexdigest())


class Sweeper:
    """When this process last forgot expired nonces."""

    def __init__(self) -> None:
        self._next: datetime | None = None
        self._lock = threading.Lock()

    def due(self, now: datetime) -> bool:
        """Whether to sweep now; at most once every SWEEP_EVERY."""
        with self._lock:
            if self._next is not None and now < self._next:
                return False
            self._next = now + SWEEP_EVERY
            return True


def _sweep_soon(services: Services, now: datetime) -> None:
    sweeper: Sweeper = current_app.extensions.setdefault("linli_nonce_sweeper", Sweeper())
    if sweeper.due(now):
        try:
            services.executor.submit(_sweep, services, now)
        except RuntimeError:  # the app is shutting down
            pass


def _sweep(services: Services, now: datetime) -> None:
    try:
        with transaction(services.sessions) as session:
            sweep_nonces(session, now)
    except SQLAlchemyError as err:  # the next sweep will do it
        log.warning("could not forget expired nonces (%s)", type(err).__name__)
