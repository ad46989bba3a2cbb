"""Replayed signatures are refused on /wechat, /wecom and /wecom/bot.

In plaintext mode WeChat's `signature` covers the token, the timestamp and the nonce, not
the message: one `?timestamp=&nonce=&signature=` triple copied from a log would sign any
message from any openid. So a signed POST must be fresh — its timestamp within WINDOW of
the app's clock (`services.clock`, so tests can move it) — and its nonce new, or seen
before with the very same message (WeChat retrying). The nonce, with the end of its window,
is kept on the message's own row (`inbound_messages`, unique per channel, nonce and window:
models/messages.py `claim_message`), so the claim that takes the message checks it in the
same statement, in every process; a nonce reused for another message is answered 403. Once
the window has passed the timestamp alone refuses the request, so kept nonces need no sweep.

While the database is down a message goes to the spool unchecked, and its nonce is checked
when the spool is replayed (a reuse for another message is dropped then).
"""
from __future__ import annotations

from dataclasses import replace

from flask import abort, request

from bot.inbound import Inbound
from bot.services import Services

WINDOW = 300  # seconds a signed request's timestamp may be off the app's clock
MAX_NONCE = 64


def check_fresh(services: Services) -> None:
    """Answer 403 unless the request has a nonce and a timestamp within WINDOW of now."""
    nonce, timestamp = request.args.get("nonce", ""), request.args.get("timestamp", "")
    if not nonce or len(nonce) > MAX_NONCE or not (timestamp.isascii() and timestamp.isdigit()) \
            or len(timestamp) > 12:
        abort(403)
    now = services.clock()
    if abs(int(timestamp) - now.timestamp()) > WINDOW:
        abort(403)


def stamped(inbound: Inbound) -> Inbound:
    """The message with its request's nonce and the end of that nonce's window."""
    return replace(inbound, nonce=request.args["nonce"],
                   nonce_expires=float(int(request.args["timestamp"]) + WINDOW))
